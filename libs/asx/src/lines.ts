import type { Readable } from 'node:stream';

/** Longer lines are rejected (LINE_TOO_LONG) instead of buffered, so memory stays bounded whatever the input. */
export const MAX_LINE_BYTES = 64 * 1024;

/**
 * Called for every physical line: text without its line ending (only the first MAX_LINE_BYTES bytes when
 * `overlong`), its 1-based number, and the byte offset just after its ending. Returning false stops the reader.
 */
export type LineHandler = (text: string, line: number, endOffset: number, overlong: boolean) => boolean | void;

export interface ReadLinesOptions {
  /** Number of the first line the stream delivers (a resumed read starts after the checkpointed line). */
  firstLine?: number;
  /** Byte offset of the stream's first byte within the file. */
  startOffset?: number;
  /** Runs between chunks and may wait (back-pressure) before more is read. */
  afterChunk?: () => Promise<void> | void;
}

export interface ReadLinesResult {
  /** Number of the last line delivered (firstLine - 1 when none). */
  lastLine: number;
  endOffset: number;
  stopped: boolean;
}

/**
 * Splits a byte stream into lines, counting line numbers and byte offsets so a checkpoint can say "everything up to
 * line N, which ends at byte B, is done" and a restart can seek straight to B. LF and CRLF endings are accepted (the
 * sample files are CRLF); a last line without an ending still counts. Lines are decoded from the chunk in place;
 * only a line split across two chunks is copied.
 */
export async function readLines(stream: Readable, onLine: LineHandler, opts: ReadLinesOptions = {}): Promise<ReadLinesResult> {
  let line = opts.firstLine ?? 1;
  let offset = opts.startOffset ?? 0;
  const keepMax = MAX_LINE_BYTES + 1; // +1: a CR that may turn out to be the line ending
  let carry: Buffer[] = [];
  let carryLen = 0;
  let keptLen = 0;

  // A UTF-8 byte order mark (Excel exports) is not part of the first field.
  let atFileStart = offset === 0;
  const finish = (text: string, endOffset: number, overlong: boolean): boolean => {
    if (atFileStart) {
      atFileStart = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    const go = onLine(text, line, endOffset, overlong) !== false;
    offset = endOffset;
    line++;
    carry = [];
    carryLen = 0;
    keptLen = 0;
    return go;
  };

  const carried = (segment: Buffer | undefined, hasNewline: boolean): boolean => {
    if (segment) {
      carry.push(segment.subarray(0, Math.max(0, keepMax - keptLen)));
      carryLen += segment.length;
    }
    const kept = Buffer.concat(carry);
    const contentLen = kept.length > 0 && kept[kept.length - 1] === 13 && kept.length === carryLen ? carryLen - 1 : carryLen;
    const overlong = contentLen > MAX_LINE_BYTES;
    const text = kept.toString('utf8', 0, Math.min(contentLen, MAX_LINE_BYTES));
    return finish(text, offset + carryLen + (hasNewline ? 1 : 0), overlong);
  };

  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let pos = 0;
    for (;;) {
      const nl = chunk.indexOf(10, pos);
      if (nl < 0) break;
      let go: boolean;
      if (carryLen === 0) {
        const end = nl > pos && chunk[nl - 1] === 13 ? nl - 1 : nl;
        const overlong = end - pos > MAX_LINE_BYTES;
        go = finish(chunk.toString('utf8', pos, overlong ? pos + MAX_LINE_BYTES : end), offset + (nl - pos) + 1, overlong);
      } else {
        go = carried(chunk.subarray(pos, nl), true);
      }
      if (!go) {
        stream.destroy();
        return { lastLine: line - 1, endOffset: offset, stopped: true };
      }
      pos = nl + 1;
    }
    if (pos < chunk.length) {
      const rest = chunk.subarray(pos);
      // Copy: the chunk may be a view into a pooled buffer that the stream reuses.
      if (keptLen < keepMax) {
        const piece = Buffer.from(rest.subarray(0, keepMax - keptLen));
        carry.push(piece);
        keptLen += piece.length;
      }
      carryLen += rest.length;
    }
    if (opts.afterChunk) await opts.afterChunk();
  }
  if (carryLen > 0) {
    const go = carried(undefined, false);
    if (!go) return { lastLine: line - 1, endOffset: offset, stopped: true };
  }
  return { lastLine: line - 1, endOffset: offset, stopped: false };
}
