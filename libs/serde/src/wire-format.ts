import { ErrorCode, ValidationError } from '@k2/core';

/**
 * Confluent wire format: byte 0 = magic 0x00, bytes 1-4 = schema id (big-endian int32), then the Avro binary
 * body (Confluent Schema Registry docs, "Wire format"). Apicurio's ccompat API uses the same framing.
 */
export const MAGIC_BYTE = 0;
export const HEADER_SIZE = 5;

export function readSchemaId(buf: Uint8Array): number {
  if (buf.length < HEADER_SIZE) {
    throw new ValidationError(`message of ${buf.length} bytes is too short for the Confluent wire format`, {
      code: ErrorCode.SERDE_FAILED,
    });
  }
  if (buf[0] !== MAGIC_BYTE) {
    throw new ValidationError(`unknown magic byte ${buf[0]} (expected 0, Confluent wire format)`, { code: ErrorCode.SERDE_FAILED });
  }
  return ((buf[1]! << 24) | (buf[2]! << 16) | (buf[3]! << 8) | buf[4]!) >>> 0;
}

export function writeHeader(buf: Buffer, schemaId: number): void {
  buf[0] = MAGIC_BYTE;
  buf.writeUInt32BE(schemaId, 1);
}
