/**
 * The start of a streamed answer: before a byte goes to the client, the router makes sure the
 * upstream really sends an event stream. A 200 with an HTML page or a whole JSON completion instead
 * is a failed try, so the next target can still answer.
 */
import { UpstreamError } from '../providers/errors';
import { untilAborted } from './deadline';

const FIELDS = ['data', 'event', 'id', 'retry'];

/**
 * Whether text that starts a stream is server-sent events: `yes` when its first line is a comment
 * or an SSE field, `no` when it cannot become one, `undecided` when too little has arrived.
 *
 * @example
 * sseStart('data: {"id"'); // 'yes'
 * sseStart('<html>');      // 'no'
 * sseStart('da');          // 'undecided'
 */
export function sseStart(text: string): 'yes' | 'no' | 'undecided' {
  const s = text.replace(/^\uFEFF/, '').replace(/^[\r\n]+/, '');
  if (s === '') return 'undecided';
  if (s.startsWith(':')) return 'yes';
  const m = /^([^:\r\n]*)([:\r\n])?/.exec(s);
  const name = m?.[1] ?? '';
  if (m?.[2] !== undefined) return FIELDS.includes(name) ? 'yes' : 'no';
  return FIELDS.some((f) => f.startsWith(name)) ? 'undecided' : 'no';
}

/**
 * Whether a response's content type allows an event stream (absent: the bytes decide).
 *
 * @example
 * isEventStreamType('text/event-stream; charset=utf-8'); // true
 */
export function isEventStreamType(contentType: string | null): boolean {
  return contentType === null || /^\s*text\/event-stream\s*(;|$)/i.test(contentType);
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/**
 * Reads until the stream shows it is SSE, then resolves with every byte read so far (to be passed
 * on first). Throws `UpstreamError('empty_stream')` when it ends before anything but blank lines,
 * `UpstreamError('not_sse')` when it starts like something else; the reader is cancelled then.
 *
 * @example
 * const first = await readEventStreamStart(res.body.getReader(), signal);
 */
export async function readEventStreamStart(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  signal: AbortSignal,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const text = new TextDecoder();
  let seen = '';
  try {
    for (;;) {
      const r = await untilAborted(reader.read(), signal);
      if (r.done) {
        if (seen.trim() === '')
          throw new UpstreamError(
            'empty_stream',
            'upstream closed the stream before sending anything',
          );
        throw new UpstreamError(
          'not_sse',
          'upstream answered the stream request with something that is not an event stream',
        );
      }
      parts.push(r.value);
      seen += text.decode(r.value, { stream: true });
      const verdict = sseStart(seen);
      if (verdict === 'yes') return concat(parts);
      if (verdict === 'no')
        throw new UpstreamError(
          'not_sse',
          'upstream answered the stream request with something that is not an event stream',
        );
    }
  } catch (err) {
    reader.cancel(err).catch(() => undefined);
    throw err;
  }
}
