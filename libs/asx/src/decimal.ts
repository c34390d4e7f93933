import { DecimalError, parseDecimal, type Decimal, type DecimalKind } from '@k2/decimal';
import { AsxRowError, type RejectReason } from './errors';

const ZEROS = ['', '0', '00', '000', '0000', '00000', '000000', '0000000', '00000000'];

/**
 * `parseDecimal` with a fast path for the plain text ASX files carry ("36.667", "20000", "0.0"): the canonical
 * Decimal(18,8) is the same text padded to eight fraction digits, so no big.js object is needed. Anything else
 * (signs, exponents, leading zeros, more than 8 fraction digits, zero quantities) takes parseDecimal itself,
 * which decides and words the rejection. decimal.spec.ts checks both paths give identical results.
 */
export function fastDecimal(field: string, raw: string, kind: DecimalKind): Decimal {
  const n = raw.length;
  if (n === 0 || n > 19) return parseDecimal(field, raw, kind);
  let dot = -1;
  let nonZero = false;
  for (let i = 0; i < n; i++) {
    const c = raw.charCodeAt(i);
    if (c === 46) {
      if (dot >= 0) return parseDecimal(field, raw, kind);
      dot = i;
    } else if (c < 48 || c > 57) {
      return parseDecimal(field, raw, kind);
    } else if (c !== 48) {
      nonZero = true;
    }
  }
  const intLen = dot < 0 ? n : dot;
  const fracLen = dot < 0 ? 0 : n - dot - 1;
  if (intLen === 0 || intLen > 10 || fracLen > 8 || (dot >= 0 && fracLen === 0)) return parseDecimal(field, raw, kind);
  // A leading zero is canonical only as the single integer digit ("0.5"); "007" goes the slow way.
  if (intLen > 1 && raw.charCodeAt(0) === 48) return parseDecimal(field, raw, kind);
  if (!nonZero && kind === 'quantity') return parseDecimal(field, raw, kind);
  return (dot < 0 ? `${raw}.00000000` : raw + ZEROS[8 - fracLen]) as Decimal;
}

/** fastDecimal that reports a bad value as a row rejection with `reason`. */
export function rowDecimal(field: string, raw: string, kind: DecimalKind, reason: RejectReason): Decimal {
  try {
    return fastDecimal(field, raw, kind);
  } catch (err) {
    if (err instanceof DecimalError) throw AsxRowError.fromDecimal(reason, err);
    throw err;
  }
}

export const ZERO_DECIMAL = '0.00000000' as Decimal;
