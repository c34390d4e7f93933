import { ErrorCode, ValidationError } from '@k2/core';
import { ASSET_CLASSES, type AssetClass, type RecordKind } from '@k2/schema';

/**
 * Topic names follow `market.<asset_class>.<data_type>.<exchange>` (seeds, ADR-021): consumers subscribe per
 * exchange and per data type. Dead letters go to `<topic>.dlq`. Everything lowercase.
 */
export const DATA_TYPES = ['trades', 'quotes', 'reference'] as const satisfies readonly RecordKind[];
export type DataType = (typeof DATA_TYPES)[number];

export interface TopicParts {
  assetClass: AssetClass;
  dataType: DataType;
  exchange: string;
}

export interface ParsedTopic extends TopicParts {
  dlq: boolean;
}

const EXCHANGE = /^[a-z][a-z0-9_-]{0,31}$/;
export const DLQ_SUFFIX = '.dlq';

/** Matches every V2 data topic and never a DLQ (librdkafka treats a leading ^ as a regex subscription). */
export const DATA_TOPIC_PATTERN = new RegExp(
  `^market\\.(${ASSET_CLASSES.join('|')})\\.(${DATA_TYPES.join('|')})\\.[a-z][a-z0-9_-]{0,31}$`,
);

function invalid(message: string, name: string): ValidationError {
  return new ValidationError(message, { code: ErrorCode.TOPIC_NAME_INVALID, context: { topic: name } });
}

export function topicName(parts: TopicParts): string {
  const { assetClass, dataType, exchange } = parts;
  if (!(ASSET_CLASSES as readonly string[]).includes(assetClass)) {
    throw invalid(`asset class ${JSON.stringify(assetClass)} is not one of ${ASSET_CLASSES.join('|')}`, String(assetClass));
  }
  if (!(DATA_TYPES as readonly string[]).includes(dataType)) {
    throw invalid(`data type ${JSON.stringify(dataType)} is not one of ${DATA_TYPES.join('|')}`, String(dataType));
  }
  if (!EXCHANGE.test(exchange)) {
    throw invalid(`exchange ${JSON.stringify(exchange)} must be lowercase letters, digits, - or _ (max 32)`, exchange);
  }
  return `market.${assetClass}.${dataType}.${exchange}`;
}

export function parseTopic(name: string): ParsedTopic {
  const dlq = name.endsWith(DLQ_SUFFIX);
  const base = dlq ? name.slice(0, -DLQ_SUFFIX.length) : name;
  const parts = base.split('.');
  if (parts.length !== 4 || parts[0] !== 'market') {
    throw invalid(`topic ${JSON.stringify(name)} is not market.<asset_class>.<data_type>.<exchange>`, name);
  }
  const parsed = { assetClass: parts[1] as AssetClass, dataType: parts[2] as DataType, exchange: parts[3]! };
  // Round-trip through the builder so both share one set of rules.
  if (topicName(parsed) !== base) throw invalid(`topic ${JSON.stringify(name)} is not canonical`, name);
  return { ...parsed, dlq };
}

/**
 * The V2 data topics of the platform's own feeds (binance, kraken, the ASX loader with its default exchange), which
 * `npm run topics:bootstrap` creates. The iceberg-writer and the query-api tail subscribe to exactly these unless
 * configured otherwise; a topic that merely fits the naming rule (a benchmark's, a test's) is never read.
 */
export const PLATFORM_DATA_TOPICS: readonly string[] = Object.freeze([
  'market.crypto.trades.binance',
  'market.crypto.quotes.binance',
  'market.crypto.trades.kraken',
  'market.crypto.quotes.kraken',
  'market.equities.trades.asx',
  'market.equities.quotes.asx',
  'market.equities.reference.asx',
]);

/**
 * Problem lines for a configured subscription list: every item a canonical V2 data topic (never a `.dlq`), of one of
 * the allowed data types, named once. `env` names the variable in the messages.
 */
export function dataTopicListProblems(env: string, topics: readonly string[], dataTypes: readonly DataType[] = DATA_TYPES): string[] {
  const problems: string[] = [];
  for (const t of topics) {
    let p: ParsedTopic;
    try {
      p = parseTopic(t);
    } catch (e) {
      problems.push(`${env}: ${(e as Error).message}`);
      continue;
    }
    if (p.dlq) problems.push(`${env}: ${t} is a dead-letter topic`);
    else if (!dataTypes.includes(p.dataType)) problems.push(`${env}: ${t} is a ${p.dataType} topic; only ${dataTypes.join('|')} are allowed`);
  }
  const dup = topics.filter((t, i) => topics.indexOf(t) !== i);
  if (dup.length) problems.push(`${env} lists ${[...new Set(dup)].join(',')} more than once`);
  return problems;
}

export function dlqTopic(topic: string): string {
  const p = parseTopic(topic);
  if (p.dlq) throw invalid(`${topic} is already a dead-letter topic`, topic);
  return `${topic}${DLQ_SUFFIX}`;
}
