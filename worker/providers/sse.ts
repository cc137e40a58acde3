/**
 * Server-sent events, both directions: a streaming decoder for upstream bytes, a splitter that cuts
 * upstream bytes at event boundaries (so a pass-through forwards whole events only), and an encoder
 * for the OpenAI-style `data: ...` lines the router sends to clients.
 */

/** One decoded server-sent event. `event` is undefined when the upstream sent no `event:` line. */
export interface SseEvent {
  event?: string;
  data: string;
}

const encoder = new TextEncoder();
const LF = 10;
const CR = 13;

/** The fields of the event being gathered. */
interface Gathering {
  event?: string;
  data: string[];
}

/** Adds one non-empty line to the event being gathered (comments and unknown fields are ignored). */
function addLine(raw: string, into: Gathering): void {
  if (raw.startsWith(':')) return; // comment / keep-alive
  const colon = raw.indexOf(':');
  const field = colon === -1 ? raw : raw.slice(0, colon);
  let value = colon === -1 ? '' : raw.slice(colon + 1);
  if (value.startsWith(' ')) value = value.slice(1);
  if (field === 'data') into.data.push(value);
  else if (field === 'event') into.event = value;
}

/**
 * Whether the data of an event that arrived without its line end is whole anyway: `[DONE]`, or
 * JSON that parses (a JSON object cut anywhere before its last brace does not).
 *
 * @example
 * wholeData('{"a":1}'); // true
 * wholeData('{"choi');  // false
 */
export function wholeData(data: string): boolean {
  if (data === '[DONE]') return true;
  try {
    JSON.parse(data);
    return true;
  } catch {
    return false;
  }
}

/**
 * Decodes a byte stream of server-sent events into events, one per blank-line-terminated block.
 * Keeps only the unfinished tail of the input between chunks, so it never buffers a whole stream.
 * At the end of the input an event that lacks only its blank line is still dispatched; one whose
 * last line has no line end either only when that line is a whole `data:` line (`wholeData`): a
 * line cut mid-way is dropped with its event.
 *
 * @example
 * const events = upstream.body.pipeThrough(sseDecoder());
 * for await (const ev of events) console.log(ev.event, ev.data);
 */
export function sseDecoder(): TransformStream<Uint8Array, SseEvent> {
  const text = new TextDecoder();
  let tail = '';
  let gathering: Gathering = { data: [] };

  const line = (raw: string, out: TransformStreamDefaultController<SseEvent>): void => {
    if (raw !== '') {
      addLine(raw, gathering);
      return;
    }
    // A blank line dispatches the event gathered so far (spec: ignore blocks without data).
    if (gathering.data.length > 0)
      out.enqueue({ event: gathering.event, data: gathering.data.join('\n') });
    gathering = { data: [] };
  };

  const drain = (out: TransformStreamDefaultController<SseEvent>): void => {
    // Lines end with \n, \r\n or \r; a trailing \r may be half of a \r\n split across chunks.
    let start = 0;
    for (let i = 0; i < tail.length; i++) {
      const c = tail.charCodeAt(i);
      if (c !== LF && c !== CR) continue;
      if (c === CR && i === tail.length - 1) break;
      line(tail.slice(start, i), out);
      if (c === CR && tail.charCodeAt(i + 1) === LF) i++;
      start = i + 1;
    }
    tail = tail.slice(start);
  };

  return new TransformStream<Uint8Array, SseEvent>({
    transform(chunk, out) {
      tail += text.decode(chunk, { stream: true });
      drain(out);
    },
    flush(out) {
      tail += text.decode();
      if (tail.endsWith('\r')) tail += '\n';
      drain(out);
      if (tail !== '') {
        // the last line has no line end: keep it only when it is visibly whole
        const last = parseSseEvent(tail);
        if (!tail.startsWith('data:') || last === null || !wholeData(last.data)) return;
        line(tail, out);
      }
      line('', out);
    },
  });
}

/**
 * Parses one whole event block (the bytes up to and including its blank line); null when it has no
 * data (a comment or keep-alive).
 *
 * @example
 * parseSseEvent('event: ping\ndata: {}\n\n'); // { event: 'ping', data: '{}' }
 */
export function parseSseEvent(block: string): SseEvent | null {
  const gathering: Gathering = { data: [] };
  for (const raw of block.split(/\r\n|\r|\n/)) if (raw !== '') addLine(raw, gathering);
  return gathering.data.length > 0
    ? { event: gathering.event, data: gathering.data.join('\n') }
    : null;
}

/** Cuts bytes at event boundaries; see `sseEventSplitter`. */
export interface SseEventSplitter {
  /** Adds upstream bytes; returns the events they completed, each as its original bytes. */
  push(chunk: Uint8Array): Uint8Array[];
  /** The bytes held back (an unfinished event), when there are any besides line ends. */
  rest(): Uint8Array | null;
}

/**
 * Splits an SSE byte stream into whole events (each ends with the line end of its blank line)
 * without decoding or changing a byte, holding back only the unfinished event. A pass-through that
 * forwards what `push` returns never sends a client half an event, so an error event it appends
 * after a broken upstream stands on its own.
 *
 * @example
 * const split = sseEventSplitter();
 * split.push(bytes('data: {"a":1}\n\ndata: {"b"')); // [bytes('data: {"a":1}\n\n')]
 * split.rest(); // bytes('data: {"b"')
 */
export function sseEventSplitter(): SseEventSplitter {
  let rest = new Uint8Array(0);
  let lineEnds = 0; // line ends in a row at the end of what was scanned
  let afterCr = false; // the last byte scanned was CR: an LF next belongs to it

  return {
    push(chunk) {
      let buf = chunk;
      if (rest.length > 0) {
        buf = new Uint8Array(rest.length + chunk.length);
        buf.set(rest);
        buf.set(chunk, rest.length);
      }
      const cuts: number[] = [];
      for (let i = rest.length; i < buf.length; i++) {
        const b = buf[i];
        if (b === LF && afterCr) {
          afterCr = false;
          if (cuts.at(-1) === i) cuts[cuts.length - 1] = i + 1; // keep a blank line's CRLF whole
          continue;
        }
        afterCr = b === CR;
        if (b !== LF && b !== CR) {
          lineEnds = 0;
          continue;
        }
        lineEnds++;
        if (lineEnds === 2)
          cuts.push(i + 1); // a blank line ends the event
        else if (lineEnds > 2 && cuts.length > 0)
          cuts[cuts.length - 1] = i + 1; // more blank lines join it
        else if (lineEnds > 2) cuts.push(i + 1); // (its event ended in an earlier chunk)
      }
      const events: Uint8Array[] = [];
      let start = 0;
      for (const cut of cuts) {
        events.push(buf.subarray(start, cut));
        start = cut;
      }
      rest = buf.slice(start);
      return events;
    },
    rest() {
      return rest.some((b) => b !== LF && b !== CR) ? rest : null;
    },
  };
}

/**
 * Encodes one `data:` event (a JSON value or the literal `[DONE]`) as SSE bytes.
 *
 * @example
 * controller.enqueue(sseData({ object: 'chat.completion.chunk', choices: [] }));
 * controller.enqueue(sseData('[DONE]'));
 */
export function sseData(payload: unknown): Uint8Array {
  const body = payload === '[DONE]' ? '[DONE]' : JSON.stringify(payload);
  return encoder.encode(`data: ${body}\n\n`);
}
