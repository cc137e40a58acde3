/**
 * Server-sent events, both directions: a streaming decoder for upstream bytes and an encoder for
 * the OpenAI-style `data: ...` lines the router sends to clients.
 */

/** One decoded server-sent event. `event` is undefined when the upstream sent no `event:` line. */
export interface SseEvent {
  event?: string;
  data: string;
}

const encoder = new TextEncoder();

/**
 * Decodes a byte stream of server-sent events into events, one per blank-line-terminated block.
 * Keeps only the unfinished tail of the input between chunks, so it never buffers a whole stream.
 *
 * @example
 * const events = upstream.body.pipeThrough(sseDecoder());
 * for await (const ev of events) console.log(ev.event, ev.data);
 */
export function sseDecoder(): TransformStream<Uint8Array, SseEvent> {
  const text = new TextDecoder();
  let tail = '';
  let event: string | undefined;
  let data: string[] = [];

  const line = (raw: string, out: TransformStreamDefaultController<SseEvent>): void => {
    if (raw === '') {
      // A blank line dispatches the event gathered so far (spec: ignore blocks without data).
      if (data.length > 0) out.enqueue({ event, data: data.join('\n') });
      event = undefined;
      data = [];
      return;
    }
    if (raw.startsWith(':')) return; // comment / keep-alive
    const colon = raw.indexOf(':');
    const field = colon === -1 ? raw : raw.slice(0, colon);
    let value = colon === -1 ? '' : raw.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
  };

  const drain = (out: TransformStreamDefaultController<SseEvent>): void => {
    // Lines end with \n, \r\n or \r; a trailing \r may be half of a \r\n split across chunks.
    let start = 0;
    for (let i = 0; i < tail.length; i++) {
      const c = tail.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      if (c === 13 && i === tail.length - 1) break;
      line(tail.slice(start, i), out);
      if (c === 13 && tail.charCodeAt(i + 1) === 10) i++;
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
      if (tail !== '') tail += '\n';
      drain(out);
      line('', out);
    },
  });
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
