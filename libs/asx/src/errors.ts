import { ErrorCode, K2Error, ValidationError } from '@k2/core';
import { DecimalError } from '@k2/decimal';

/**
 * Why a row was rejected. These short codes are stable: they label the rejected-rows metric, group the summary and
 * appear as `reason` in the DLQ message and the reject file, so dashboards and scripts can rely on them.
 */
export const REJECT_REASONS = [
  'FIELD_COUNT',
  'BAD_DATE',
  'BAD_TIME',
  'NONEXISTENT_LOCAL_TIME',
  'BAD_PRICE',
  'BAD_VOLUME',
  'BAD_SIZE',
  'EMPTY_SIDE',
  'BAD_CONDITION',
  'BAD_FLAG',
  'BAD_AMOUNT',
  'BAD_FIELD',
  'UNKNOWN_COMPANY',
  'LINE_TOO_LONG',
  'ENCODE_FAILED',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** One bad row: never retriable, it goes to the DLQ and the reject file while the load carries on. */
export class AsxRowError extends ValidationError {
  constructor(
    readonly reason: RejectReason,
    readonly field: string | undefined,
    message: string,
    options: { cause?: unknown; code?: ErrorCode } = {},
  ) {
    super(message, { code: options.code ?? ErrorCode.VALIDATION_FAILED, cause: options.cause, context: { reason, field } });
  }

  static fromDecimal(reason: RejectReason, err: DecimalError): AsxRowError {
    return new AsxRowError(reason, err.field, err.message, { cause: err, code: err.code });
  }
}

/** Something about a whole input (unknown company, unreadable file, ambiguous identity): the load cannot start. */
export class AsxInputError extends K2Error {
  constructor(message: string, context: Record<string, unknown> = {}, cause?: unknown) {
    super(ErrorCode.VALIDATION_FAILED, message, { retriable: false, context, cause });
  }
}
