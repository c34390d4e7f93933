import { isLosslessNumber, stringifyLossless, type LosslessJson, type LosslessObject } from '@k2/core';

/**
 * k2's output formats. Values are printed exactly as the API sent them: decimals are the API's strings (never
 * parsed into JS numbers), numbers keep their source text (lossless JSON), nested values are compact JSON.
 * - table: aligned columns for a terminal, numbers right-aligned; buffered, since widths need every row.
 * - csv: RFC 4180 (quoted when needed, CRLF inside quotes kept), a header line, streamed page by page.
 * - json: one JSON array of the rows (one object for single-object answers such as summary).
 * - ndjson: one JSON object per line, streamed.
 */
export const FORMATS = ['table', 'csv', 'json', 'ndjson'] as const;
export type OutputFormat = (typeof FORMATS)[number];

export type Row = LosslessObject;

/** A cell as text: '' for null/absent, numbers and strings verbatim, objects/arrays as compact JSON. */
export function cellText(v: LosslessJson | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (isLosslessNumber(v)) return v.value;
  return stringifyLossless(v);
}

/** Every key of the rows, in order of first appearance. */
export function columnsOf(rows: readonly Row[]): string[] {
  const seen = new Set<string>();
  for (const r of rows) for (const k of Object.keys(r)) seen.add(k);
  return [...seen];
}

const NUMERIC = /^[-+]?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/** Cells of a table stay on one line: control characters would break the alignment. */
function tableCell(v: LosslessJson | undefined): string {
  // eslint-disable-next-line no-control-regex
  return cellText(v).replace(/[\u0000-\u001f\u007f]/g, ' ');
}

export function formatTable(rows: readonly Row[], columns: readonly string[]): string {
  if (rows.length === 0) return '(no rows)\n';
  const cells = rows.map((r) => columns.map((c) => tableCell(r[c])));
  const numeric = columns.map((_, i) => {
    const vals = cells.map((row) => row[i] ?? '').filter((v) => v !== '');
    return vals.length > 0 && vals.every((v) => NUMERIC.test(v));
  });
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (vals: readonly string[]) =>
    vals
      .map((v, i) => (numeric[i] ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[line(columns), ...cells.map(line)].join('\n')}\n`;
}

export function csvField(s: string): string {
  return /[",\r\n]/.test(s) || s !== s.trim() ? `"${s.replaceAll('"', '""')}"` : s;
}

export function csvLine(values: readonly string[]): string {
  return `${values.map(csvField).join(',')}\n`;
}

function pick(row: Row, columns: readonly string[] | undefined): Row {
  if (!columns) return row;
  const out: Row = {};
  for (const c of columns) out[c] = row[c] ?? null;
  return out;
}

/** Writes pages of rows in one format: `page` returns the text to print now, `end` the rest. */
export interface RowWriter {
  page(rows: readonly Row[]): string;
  end(): string;
}

export interface WriterOptions {
  /** Columns to print, in order; undefined = every key of the rows. */
  readonly columns?: readonly string[];
  /** The answer is one object (summary): json prints it bare, not in an array. */
  readonly single?: boolean;
}

export function rowWriter(format: OutputFormat, o: WriterOptions = {}): RowWriter {
  switch (format) {
    case 'table': {
      const all: Row[] = [];
      return { page: (rows) => (all.push(...rows), ''), end: () => formatTable(all, o.columns ?? columnsOf(all)) };
    }
    case 'csv': {
      let columns = o.columns;
      let headed = false;
      const head = () => {
        if (headed || !columns) return '';
        headed = true;
        return csvLine(columns);
      };
      return {
        page: (rows) => {
          if (rows.length === 0) return '';
          columns ??= columnsOf(rows);
          const cols = columns;
          return head() + rows.map((r) => csvLine(cols.map((c) => cellText(r[c])))).join('');
        },
        end: head,
      };
    }
    case 'ndjson':
      return { page: (rows) => rows.map((r) => `${stringifyLossless(pick(r, o.columns))}\n`).join(''), end: () => '' };
    case 'json': {
      if (o.single) {
        let one: Row | undefined;
        return { page: (rows) => ((one ??= rows[0]), ''), end: () => `${stringifyLossless(one ? pick(one, o.columns) : null)}\n` };
      }
      let n = 0;
      return {
        page: (rows) => rows.map((r) => `${n++ === 0 ? '[\n' : ',\n'}  ${stringifyLossless(pick(r, o.columns))}`).join(''),
        end: () => (n === 0 ? '[]\n' : '\n]\n'),
      };
    }
  }
}
