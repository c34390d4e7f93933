import * as avro from 'avsc';
import { ensureTopics, K2Consumer, K2Producer, topicName } from '@k2/kafka';
import { TRADE_V2_SCHEMA, type QuoteV2, type TradeV2 } from '@k2/schema';
import { infraEndpoints, removeScratchTopics, runPython, sampleQuotes, sampleTrades, uniqueSuffix } from '@k2/testing';
import { AvroSerde, valueSubject } from './serde';

const ep = infraEndpoints();
const suffix = uniqueSuffix();
const tradesTopic = topicName({ assetClass: 'crypto', dataType: 'trades', exchange: `k2test${suffix}` });
const quotesTopic = topicName({ assetClass: 'crypto', dataType: 'quotes', exchange: `k2test${suffix}` });

let producer: K2Producer;
const serde = new AvroSerde({ registryUrl: ep.registryUrl });

async function consumeAll(topic: string, count: number): Promise<Buffer[]> {
  const consumer = await K2Consumer.connect({
    brokers: ep.kafkaBrokers,
    groupId: `itest-${topic}`,
    clientId: 'serde-itest',
    topics: [topic],
  });
  const out: Buffer[] = [];
  const deadline = Date.now() + 60000;
  try {
    while (out.length < count && Date.now() < deadline) {
      for (const m of await consumer.consume(500)) out.push(m.value!);
    }
  } finally {
    await consumer.disconnect();
  }
  return out;
}

beforeAll(async () => {
  await ensureTopics(ep.kafkaBrokers, [{ topic: tradesTopic }, { topic: quotesTopic }]);
  producer = await K2Producer.connect({ brokers: ep.kafkaBrokers, clientId: 'serde-itest' });
});

afterAll(async () => {
  await producer?.disconnect();
  await removeScratchTopics(ep.kafkaBrokers, ep.registryUrl, [tradesTopic, quotesTopic]);
});

describe('V2 records through the real registry and a real topic', () => {
  it('trades come back equal field by field (decimals and µs exact)', async () => {
    const trades = sampleTrades();
    const id = await serde.registerV2(tradesTopic, 'trades');
    const reports = await Promise.all(
      trades.map((t) => producer.send({ topic: tradesTopic, key: t.symbol, value: serde.encode(id, t) })),
    );
    expect(reports.every((r) => r.offset >= 0)).toBe(true);

    const consumer = new AvroSerde({ registryUrl: ep.registryUrl }); // cold cache: fetches the schema by id
    const decoded = await Promise.all((await consumeAll(tradesTopic, trades.length)).map((b) => consumer.decode<TradeV2>(b)));
    const byId = new Map(decoded.map((t) => [t.message_id, t]));
    expect(decoded).toHaveLength(trades.length);
    for (const t of trades) expect(byId.get(t.message_id)).toEqual(t);
    const extreme = byId.get(trades[3]!.message_id)!;
    expect(extreme.price).toBe('9999999999.99999999');
    expect(extreme.platform_sequence).toBe(9223372036854775807n);
  });

  it('quotes come back equal field by field, empty ASX side kept as zero price and size', async () => {
    const quotes = sampleQuotes();
    const id = await serde.registerV2(quotesTopic, 'quotes');
    await Promise.all(quotes.map((q) => producer.send({ topic: quotesTopic, key: q.symbol, value: serde.encode(id, q) })));
    const decoded = await Promise.all((await consumeAll(quotesTopic, quotes.length)).map((b) => serde.decode<QuoteV2>(b)));
    const byId = new Map(decoded.map((q) => [q.message_id, q]));
    for (const q of quotes) expect(byId.get(q.message_id)).toEqual(q);
  });

  it('an independent decoder (registry GET /schemas/ids/{id} + Python fastavro) reads the same values', async () => {
    const trades = sampleTrades();
    const id = await serde.registerV2(tradesTopic, 'trades');
    const res = await fetch(`${ep.registryUrl}/schemas/ids/${id}`);
    expect(res.status).toBe(200);
    const { schema } = (await res.json()) as { schema: string };
    expect(JSON.parse(schema).name).toBe('TradeV2');

    const script = `
import sys, json, io, fastavro
from decimal import Decimal
req = json.load(sys.stdin)
parsed = fastavro.parse_schema(json.loads(req["schema"]))
out = []
for h in req["messages"]:
    b = bytes.fromhex(h)
    assert b[0] == 0, "magic byte"
    sid = int.from_bytes(b[1:5], "big")
    rec = fastavro.schemaless_reader(io.BytesIO(b[5:]), parsed)
    out.append({"schema_id": sid, "message_id": rec["message_id"], "price": format(rec["price"], "f"),
                "quantity": format(rec["quantity"], "f"),
                "timestamp_us": int((rec["timestamp"] - __import__("datetime").datetime(1970,1,1,tzinfo=__import__("datetime").timezone.utc)) / __import__("datetime").timedelta(microseconds=1)),
                "source_sequence": None if rec["source_sequence"] is None else str(rec["source_sequence"]),
                "side": rec["side"], "asset_class": rec["asset_class"]})
print(json.dumps(out))
`;
    const messages = trades.map((t) => serde.encode(id, t).toString('hex'));
    const got = runPython<Array<Record<string, unknown>>>(script, { schema, messages });
    expect(got).toEqual(
      trades.map((t) => ({
        schema_id: id,
        message_id: t.message_id,
        price: t.price,
        quantity: t.quantity,
        timestamp_us: Number(t.timestamp),
        source_sequence: t.source_sequence === null ? null : t.source_sequence.toString(),
        side: t.side,
        asset_class: t.asset_class,
      })),
    );

    // And a plain avsc reader with no logical types sees the raw wire values.
    const plain = avro.Type.forSchema(JSON.parse(schema), { wrapUnions: false });
    const raw = plain.fromBuffer(serde.encode(id, trades[0]!).subarray(5)) as Record<string, unknown>;
    expect((raw['price'] as Buffer).toString('hex')).toBe('0186a0');
  });

  it('the subject is <topic>-value with BACKWARD compatibility, and evolution follows it', async () => {
    const id = await serde.registerV2(tradesTopic, 'trades');
    const subject = valueSubject(tradesTopic);
    const cfg = (await (await fetch(`${ep.registryUrl}/config/${subject}`)).json()) as { compatibilityLevel: string };
    expect(cfg.compatibilityLevel).toBe('BACKWARD');
    expect(await serde.registerV2(tradesTopic, 'trades')).toBe(id); // same schema, same id

    const base = JSON.parse(JSON.stringify(TRADE_V2_SCHEMA)) as { fields: Array<Record<string, unknown>> };
    const withOptional = { ...base, fields: [...base.fields, { name: 'venue_hint', type: ['null', 'string'], default: null }] };
    const evolvedId = await serde.register(tradesTopic, withOptional);
    expect(evolvedId).not.toBe(id);

    // bytes -> string would be a legal Avro promotion; bytes -> long is not.
    const typeChanged = { ...base, fields: base.fields.map((f) => (f['name'] === 'price' ? { ...f, type: 'long' } : f)) };
    await expect(serde.register(tradesTopic, typeChanged)).rejects.toMatchObject({ code: 'K2_REGISTRY_REJECTED' });

    const requiredAdded = { ...base, fields: [...base.fields, { name: 'venue_hint2', type: 'string' }] };
    await expect(serde.register(tradesTopic, requiredAdded)).rejects.toMatchObject({ code: 'K2_REGISTRY_REJECTED' });

    // Old data decodes into the evolved reader schema with the new field null.
    const old = serde.encode(id, sampleTrades()[0]!);
    const asNew = await serde.decode<Record<string, unknown>>(old, evolvedId);
    expect(asNew['venue_hint']).toBeNull();
    expect(asNew['price']).toBe('0.00100000');
  });

  it('an unreachable registry is a retriable error with a clear message', async () => {
    const dead = new AvroSerde({ registryUrl: 'http://127.0.0.1:1/apis/ccompat/v7', retries: 0 });
    await expect(dead.registerV2(tradesTopic, 'trades')).rejects.toMatchObject({ code: 'K2_REGISTRY_UNAVAILABLE', retriable: true });
  });
});
