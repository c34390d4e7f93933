import { DecimalError, parseDecimal, type Decimal, type DecimalKind } from '@k2/decimal';
import { AsxRowError, type RejectReason } from './errors';

/** parseDecimal that reports a bad value as a row rejection with `reason`. */
export function rowDecimal(field: string, raw: string, kind: DecimalKind, reason: RejectReason): Decimal {
  try {
    return parseDecimal(field, raw, kind);
  } catch (err) {
    if (err instanceof DecimalError) throw AsxRowError.fromDecimal(reason, err);
    throw err;
  }
}

export const ZERO_DECIMAL = '0.00000000' as Decimal;
