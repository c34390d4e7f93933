import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Express, Request, Response } from 'express';

/** The SSE route the page subscribes to (served by the stream routes, not here). */
export const LIVE_STREAM_PATH = '/v1/stream/trades';
export const LIVE_CHART_ASSET_PATH = '/assets/lightweight-charts.js';

// The page is plain HTML with inline CSS and JS so query-api needs no front-end build. Everything that comes
// from the URL (symbol, exchange) is read by the browser and only ever reaches the DOM through textContent,
// .value and encodeURIComponent: the server never interpolates request data into the page, so the HTML is the
// same bytes for every request and its inline script can be pinned by hash in the Content-Security-Policy.

const STYLE = String.raw`
:root { color-scheme: dark; --bg: #0f1419; --panel: #161b22; --line: #26303b; --text: #c9d1d9; --muted: #8b949e;
  --buy: #3fb950; --sell: #f85149; --accent: #4aa3ff; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--text); }
header { display: flex; flex-wrap: wrap; gap: 12px 24px; align-items: center; padding: 12px 20px; background: var(--panel); border-bottom: 1px solid var(--line); }
h1 { margin: 0; font-size: 18px; font-weight: 600; }
form { display: flex; gap: 8px; align-items: center; }
input, select, button { font: inherit; color: var(--text); background: var(--bg); border: 1px solid var(--line); border-radius: 4px; padding: 4px 8px; }
input { width: 12ch; text-transform: uppercase; }
#apikey { width: 22ch; text-transform: none; }
button { cursor: pointer; }
#status { color: var(--muted); font-variant-numeric: tabular-nums; }
#status::before { content: ""; display: inline-block; width: 8px; height: 8px; margin-right: 6px; border-radius: 50%; background: var(--muted); }
body[data-state="open"] #status::before { background: var(--buy); }
body[data-state="error"] #status::before { background: var(--sell); }
main { display: grid; grid-template-columns: minmax(0, 1fr) 440px; gap: 16px; padding: 16px 20px; }
@media (max-width: 1000px) { main { grid-template-columns: minmax(0, 1fr); } }
#chart { height: 460px; background: var(--panel); border: 1px solid var(--line); border-radius: 4px; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 12px; }
th, td { padding: 3px 6px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { text-align: left; color: var(--muted); font-weight: normal; }
td.num, th.num { text-align: right; }
td.buy { color: var(--buy); }
td.sell { color: var(--sell); }
.hint { color: var(--muted); font-size: 12px; margin: 6px 0 0; }
`;

// Plain ES5-style script without a module loader, because lightweight-charts' standalone build defines the
// global LightweightCharts and there is no bundler here.
const SCRIPT = String.raw`
(function () {
  'use strict';
  var STREAM_PATH = '/v1/stream/trades';
  var MAX_ROWS = 20;
  // Caps the chart's memory on a tab left open for days: one point per second is about 5.5 hours.
  var MAX_POINTS = 20000;
  // While the series is short it is stretched over the whole width; after that the chart scrolls as usual and
  // keeps whatever zoom the user picked.
  var FIT_POINTS = 120;
  var MAX_RETRY_MS = 30000;
  // The same rule as query-api's symbol parameter, so a typo is reported here instead of as a silent 400.
  var SYMBOL_RE = /^[A-Z0-9][A-Z0-9._\/-]{0,31}$/;
  var TS_RE = /^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(\.[0-9]+)?Z$/;

  var body = document.body;
  var form = document.getElementById('controls');
  var symbolInput = document.getElementById('symbol');
  var exchangeSelect = document.getElementById('exchange');
  var titleEl = document.getElementById('title');
  var statusEl = document.getElementById('status');
  var rowsEl = document.getElementById('rows');
  var keyInput = document.getElementById('apikey');

  var chart = LightweightCharts.createChart(document.getElementById('chart'), {
    autoSize: true,
    layout: { background: { color: '#161b22' }, textColor: '#c9d1d9' },
    grid: { vertLines: { color: '#1e2630' }, horzLines: { color: '#1e2630' } },
    timeScale: { timeVisible: true, secondsVisible: true, borderColor: '#26303b' },
    rightPriceScale: { borderColor: '#26303b' }
  });
  var series = chart.addSeries(LightweightCharts.LineSeries, { color: '#4aa3ff', lineWidth: 2 });

  var conn = null;
  var retryTimer = null;
  var retryMs = 1000;
  var renderTimer = null;
  var symbol = '';
  var exchange = '';
  var connection = '';
  var count = 0;
  var lastPrice = '';
  var points = [];
  var recent = [];
  var precision = 2;

  // The API key comes from the URL fragment (#key=..., never sent to a server, so it lands in no access log)
  // or the key field, is kept in this tab's sessionStorage, and travels only as the X-API-Key header: EventSource
  // cannot send headers, so the stream is read with fetch.
  var KEY_ITEM = 'k2.apiKey';
  var apiKey = '';
  var fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get('key')) {
    apiKey = fragment.get('key').trim();
    remember(apiKey);
  } else {
    try { apiKey = sessionStorage.getItem(KEY_ITEM) || ''; } catch (err) { apiKey = ''; }
  }
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);

  var params = new URLSearchParams(location.search);
  symbolInput.value = (params.get('symbol') || 'BTCUSDT').trim().toUpperCase();
  selectExchange(params.get('exchange') || '');

  form.addEventListener('submit', function (e) { e.preventDefault(); start(); });
  exchangeSelect.addEventListener('change', start);
  start();

  function remember(key) {
    try { sessionStorage.setItem(KEY_ITEM, key); } catch (err) { /* storage disabled: the key lasts for this page only */ }
  }

  function selectExchange(value) {
    var known = false;
    for (var i = 0; i < exchangeSelect.options.length; i++) {
      if (exchangeSelect.options[i].value === value) known = true;
    }
    // An exchange this page does not list (a new feed) is still honoured rather than silently widened to all.
    if (!known) {
      var opt = document.createElement('option');
      opt.value = value;
      opt.textContent = value;
      exchangeSelect.appendChild(opt);
    }
    exchangeSelect.value = value;
  }

  function start() {
    if (keyInput.value.trim()) {
      apiKey = keyInput.value.trim();
      keyInput.value = '';
      remember(apiKey);
    }
    symbol = symbolInput.value.trim().toUpperCase();
    symbolInput.value = symbol;
    exchange = exchangeSelect.value;
    var q = new URLSearchParams(location.search);
    q.set('symbol', symbol);
    if (exchange) q.set('exchange', exchange); else q.delete('exchange');
    history.replaceState(null, '', '?' + q.toString());
    titleEl.textContent = symbol + (exchange ? ' \u00b7 ' + exchange : '');
    document.title = symbol + ' \u00b7 K2 live';

    count = 0;
    lastPrice = '';
    points = [];
    recent = [];
    precision = 2;
    series.applyOptions({ priceFormat: { type: 'price', precision: 2, minMove: 0.01 } });
    series.setData([]);
    body.dataset.trades = '0';
    delete body.dataset.lastPrice;
    retryMs = 1000;

    if (!SYMBOL_RE.test(symbol)) {
      disconnect();
      setState('error', 'invalid symbol');
      return;
    }
    if (!apiKey) {
      disconnect();
      setState('error', 'API key needed: enter it above or open the page with #key=...');
      return;
    }
    connect();
  }

  function disconnect() {
    if (retryTimer !== null) { clearTimeout(retryTimer); retryTimer = null; }
    if (conn) { conn.abort(); conn = null; }
  }

  function retry(reason) {
    var wait = retryMs;
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    retryTimer = setTimeout(connect, wait);
    setState('error', reason + ', retrying in ' + Math.round(wait / 1000) + ' s');
  }

  function connect() {
    disconnect();
    var url = STREAM_PATH + '?symbol=' + encodeURIComponent(symbol) + (exchange ? '&exchange=' + encodeURIComponent(exchange) : '');
    var ctrl = new AbortController();
    conn = ctrl;
    setState('connecting', 'connecting');
    fetch(url, { headers: { 'X-API-Key': apiKey, Accept: 'text/event-stream' }, cache: 'no-store', signal: ctrl.signal })
      .then(function (res) {
        if (conn !== ctrl) return;
        if (res.status === 401 || res.status === 403) {
          // A wrong key does not heal by retrying; ask for another one.
          conn = null;
          setState('error', 'API key rejected (HTTP ' + res.status + '): enter a valid key above');
          return;
        }
        if (!res.ok || !res.body) { conn = null; retry('HTTP ' + res.status); return; }
        retryMs = 1000;
        setState('open', 'connected');
        return read(res.body.getReader(), ctrl);
      })
      .catch(function () {
        if (conn === ctrl) { conn = null; retry('disconnected'); }
      });
  }

  // A minimal server-sent-events reader: frames end with a blank line; only event and data fields matter here.
  function read(reader, ctrl) {
    var decoder = new TextDecoder();
    var pending = '';
    function pump() {
      return reader.read().then(function (r) {
        if (conn !== ctrl) return;
        if (r.done) { conn = null; retry('stream ended'); return; }
        pending = (pending + decoder.decode(r.value, { stream: true })).replace(/\r\n?/g, '\n');
        var end;
        while ((end = pending.indexOf('\n\n')) >= 0) {
          frame(pending.slice(0, end));
          pending = pending.slice(end + 2);
        }
        return pump();
      });
    }
    return pump();
  }

  function frame(text) {
    var lines = text.split('\n');
    var event = 'message';
    var data = [];
    for (var i = 0; i < lines.length; i++) {
      var line = lines[i];
      if (line.charAt(0) === ':') continue;
      var colon = line.indexOf(':');
      var field = colon < 0 ? line : line.slice(0, colon);
      var value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (event === 'trade' && data.length) onTrade(data.join('\n'));
  }

  function setState(state, text) {
    body.dataset.state = state;
    connection = text;
    scheduleRender();
  }

  function onTrade(raw) {
    var t;
    try { t = JSON.parse(raw); } catch (err) { return; }
    if (!t || typeof t.price !== 'string' || typeof t.timestamp !== 'string') return;
    count++;
    lastPrice = t.price;
    body.dataset.trades = String(count);
    body.dataset.lastPrice = lastPrice;
    recent.unshift(t);
    if (recent.length > MAX_ROWS) recent.length = MAX_ROWS;
    plot(t);
    scheduleRender();
  }

  function plot(t) {
    var m = TS_RE.exec(t.timestamp);
    if (!m) return;
    // Date.parse is only specified down to milliseconds; the chart wants whole seconds anyway.
    var sec = Math.floor(Date.parse(m[1] + 'Z') / 1000);
    // Number() is acceptable here only because the chart is display: the table and status keep the exact
    // decimal strings from the stream.
    var value = Number(t.price);
    if (!isFinite(sec) || !isFinite(value)) return;
    var last = points.length ? points[points.length - 1] : null;
    // lightweight-charts can only replace the newest point or append a later one; a trade older than that
    // (another exchange's clock, a late delivery) stays in the table but not on the line.
    if (last && sec < last.time) return;
    widenPrecision(t.price);
    if (last && sec === last.time) last.value = value;
    else points.push({ time: sec, value: value });
    if (points.length > MAX_POINTS) {
      points = points.slice(-MAX_POINTS / 2);
      series.setData(points.map(copyPoint));
    } else {
      series.update({ time: sec, value: value });
    }
    if (points.length <= FIT_POINTS) chart.timeScale().fitContent();
  }

  function copyPoint(p) { return { time: p.time, value: p.value }; }

  function widenPrecision(price) {
    var dot = price.indexOf('.');
    var decimals = dot < 0 ? 0 : price.slice(dot + 1).replace(/0+$/, '').length;
    decimals = Math.min(decimals, 8);
    if (decimals > precision) {
      precision = decimals;
      series.applyOptions({ priceFormat: { type: 'price', precision: decimals, minMove: Math.pow(10, -decimals) } });
    }
  }

  // DOM work is batched: a busy symbol delivers hundreds of trades a second and the table only needs to look live.
  function scheduleRender() {
    if (renderTimer === null) renderTimer = setTimeout(render, 100);
  }

  function render() {
    renderTimer = null;
    statusEl.textContent = connection + ' \u00b7 ' + count + (count === 1 ? ' trade' : ' trades') + (lastPrice ? ' \u00b7 last ' + lastPrice : '');
    var rows = [];
    for (var i = 0; i < recent.length; i++) rows.push(row(recent[i]));
    rowsEl.replaceChildren.apply(rowsEl, rows);
  }

  function row(t) {
    var tr = document.createElement('tr');
    var m = TS_RE.exec(t.timestamp);
    cell(tr, m ? t.timestamp.slice(11, -1) : t.timestamp, '');
    cell(tr, String(t.exchange || ''), '');
    cell(tr, t.price, 'num');
    cell(tr, String(t.quantity || ''), 'num');
    var side = String(t.side || '');
    cell(tr, side, side === 'BUY' ? 'buy' : side === 'SELL' ? 'sell' : '');
    return tr;
  }

  function cell(tr, text, cls) {
    var td = document.createElement('td');
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
  }
})();
`;

function pageHtml(chartsVersion: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>K2 live</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body data-trades="0">
<header>
  <h1>K2 live · <span id="title"></span></h1>
  <form id="controls" autocomplete="off">
    <label>Symbol <input id="symbol" name="symbol" maxlength="32" spellcheck="false"></label>
    <label>Exchange <select id="exchange" name="exchange">
      <option value="">all</option>
      <option value="binance">binance</option>
      <option value="kraken">kraken</option>
      <option value="asx">asx</option>
    </select></label>
    <label>API key <input id="apikey" name="apikey" type="password" placeholder="kept from #key=" autocomplete="off" spellcheck="false"></label>
    <button type="submit">Watch</button>
  </form>
  <div id="status" role="status" aria-live="polite">loading</div>
</header>
<main>
  <section>
    <div id="chart"></div>
    <p class="hint">Price over time (UTC), one point per second: the last trade of each second.</p>
  </section>
  <section>
    <table>
      <thead><tr><th>Time (UTC)</th><th>Exchange</th><th class="num">Price</th><th class="num">Quantity</th><th>Side</th></tr></thead>
      <tbody id="rows"></tbody>
    </table>
  </section>
</main>
<script src="${LIVE_CHART_ASSET_PATH}?v=${encodeURIComponent(chartsVersion)}"></script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

function chartsPackage(): { file: string; version: string } {
  let pkgJson: string;
  try {
    // The package's "exports" only expose the ESM entry and package.json, so the standalone script (which
    // defines window.LightweightCharts without a module loader) is located next to package.json.
    pkgJson = require.resolve('lightweight-charts/package.json');
  } catch (err) {
    throw new Error('lightweight-charts is not installed: run `npm install` in the repository root', { cause: err });
  }
  const version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  return { file: join(dirname(pkgJson), 'dist', 'lightweight-charts.standalone.production.js'), version };
}

/**
 * Serves the live trade page at `GET /` and the chart library at `GET /assets/lightweight-charts.js`. The page
 * streams from `GET /v1/stream/trades`, which the stream routes provide.
 */
export interface LivePageOptions {
  /**
   * Origins allowed to frame the page (CSP frame-ancestors), e.g. Grafana's for the "Live BTC price" panel of
   * deploy/grafana; none by default, so the page cannot be clickjacked.
   */
  frameAncestors?: readonly string[];
}

export function mountLivePage(app: Express, opts: LivePageOptions = {}): void {
  const charts = chartsPackage();
  const html = pageHtml(charts.version);
  const csp = [
    "default-src 'none'",
    `script-src 'self' ${sha256(SCRIPT)}`,
    // lightweight-charts writes style attributes into its markup, which Chromium blocks under a hash-only style-src.
    "style-src 'self' 'unsafe-inline'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${opts.frameAncestors?.length ? opts.frameAncestors.join(' ') : "'none'"}`,
  ].join('; ');

  app.get('/', (_req: Request, res: Response) => {
    res.set({
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-cache',
      'Content-Security-Policy': csp,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    });
    res.send(html);
  });

  app.get(LIVE_CHART_ASSET_PATH, (_req: Request, res: Response) => {
    res.set('X-Content-Type-Options', 'nosniff');
    // The page asks for it with ?v=<package version>, so an upgrade changes the URL and a long cache is safe.
    res.sendFile(charts.file, { maxAge: '365d', immutable: true });
  });
}
