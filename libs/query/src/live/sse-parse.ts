/**
 * Server-sent events frame parsing (WHATWG HTML "event stream interpretation") for clients that read the stream
 * themselves instead of through a browser EventSource, such as `npm run tail`.
 */
export interface SseEvent {
  /** The `event:` field, `message` when the frame has none (as EventSource does). */
  event: string;
  /** `data:` lines joined with `\n`. */
  data: string;
  id?: string;
  /** The `retry:` field in milliseconds, when the frame carried a valid one. */
  retry?: number;
}

export interface SseParseResult {
  events: SseEvent[];
  /** The unfinished tail of `buffer`: prepend it to the next chunk. */
  rest: string;
  /** Comment lines (`: ...`) in the frames consumed, i.e. heartbeats. */
  comments: number;
}

/**
 * Parses every complete frame (ended by a blank line) in `buffer`. A frame split across network chunks is left
 * in `rest` whole and parsed again once its blank line arrives, so the function keeps no state between calls.
 * A frame with no data is not dispatched, as in EventSource.
 */
export function parseSse(buffer: string): SseParseResult {
  const events: SseEvent[] = [];
  let comments = 0;
  let consumed = 0;
  let pos = 0;
  let frame = newFrame();
  while (pos < buffer.length) {
    const lf = buffer.indexOf('\n', pos);
    const cr = buffer.indexOf('\r', pos);
    const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
    if (end === -1) break;
    let next = end + 1;
    if (buffer[end] === '\r') {
      // A CR at the very end may be the first half of a CRLF whose LF is still in flight; deciding now could
      // read a phantom blank line and dispatch a frame early.
      if (end + 1 === buffer.length) break;
      if (buffer[end + 1] === '\n') next = end + 2;
    }
    const line = buffer.slice(pos, end);
    pos = next;
    if (line === '') {
      if (frame.hasData) {
        const ev: SseEvent = { event: frame.event || 'message', data: frame.data.join('\n') };
        if (frame.id !== undefined) ev.id = frame.id;
        if (frame.retry !== undefined) ev.retry = frame.retry;
        events.push(ev);
      }
      comments += frame.comments;
      consumed = pos;
      frame = newFrame();
      continue;
    }
    if (line.startsWith(':')) {
      frame.comments++;
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        frame.event = value;
        break;
      case 'data':
        frame.data.push(value);
        frame.hasData = true;
        break;
      case 'id':
        // The spec ignores ids containing NUL, since they could not round-trip through Last-Event-ID.
        if (!value.includes('\0')) frame.id = value;
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) frame.retry = Number(value);
        break;
      default:
        // Unknown fields are ignored, so servers can add fields without breaking older clients.
        break;
    }
  }
  return { events, rest: buffer.slice(consumed), comments };
}

interface Frame {
  event: string;
  data: string[];
  hasData: boolean;
  id: string | undefined;
  retry: number | undefined;
  comments: number;
}

function newFrame(): Frame {
  return { event: '', data: [], hasData: false, id: undefined, retry: undefined, comments: 0 };
}
