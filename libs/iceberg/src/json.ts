import { isLosslessNumber, parseLosslessJson, stringifyLossless, type LosslessJson } from '@k2/core';

/**
 * Metadata JSON and REST payloads carry 63-bit snapshot ids: JSON.parse would round them and break parent links
 * and refs. Integers keep number type while safe and become bigint beyond 2^53; other numbers become numbers.
 */
export function parseIcebergJson<T = unknown>(text: string): T {
  return convert(parseLosslessJson(text)) as T;
}

function convert(v: LosslessJson): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (isLosslessNumber(v)) {
    if (!v.isInteger()) return Number(v.value);
    const n = Number(v.value);
    return Number.isSafeInteger(n) ? n : v.toBigInt();
  }
  if (Array.isArray(v)) return v.map(convert);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = convert(x);
  return out;
}

/** JSON text with bigint written as a bare exact number. */
export const stringifyIcebergJson = (v: unknown): string => stringifyLossless(v);
