/**
 * Turns the serving path's chat answer into an ingress API's answer: a JSON body translated whole,
 * or the event stream piped through the API's translator, with the serving path's headers
 * (`x-router-*`, rate limits) kept. Streams are translated as they flow, never buffered; the
 * client leaving cancels the chat stream underneath (and so the upstream read).
 */

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
};
const JSON_HEADERS = { 'content-type': 'application/json' };
const encoder = new TextEncoder();

/** The headers of `res` without those that describe its body. */
function keptHeaders(res: Response, own: Record<string, string>): Headers {
  const headers = new Headers(res.headers);
  headers.delete('content-length');
  for (const [k, v] of Object.entries(own)) headers.set(k, v);
  return headers;
}

/**
 * A JSON answer translated by `translate` (which reads the chat completion's text).
 *
 * @example
 * return translateJson(await serveChatBody(c, chat), (text) => toResponseObject(readChatAnswer(text), body));
 */
export async function translateJson(
  res: Response,
  translate: (chatJson: string) => unknown,
): Promise<Response> {
  const body = JSON.stringify(translate(await res.text()));
  return new Response(body, { status: res.status, headers: keptHeaders(res, JSON_HEADERS) });
}

/**
 * An event-stream answer piped through `translator` (chat SSE bytes in, the API's SSE bytes out).
 *
 * @example
 * return translateStream(await serveChatBody(c, chat), responsesStream(body));
 */
export function translateStream(
  res: Response,
  translator: { writable: WritableStream<Uint8Array>; readable: ReadableStream<Uint8Array> },
): Response {
  // a stream without a body ends at once: the translator reports it as cut, in its own format
  const source = res.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
  return new Response(source.pipeThrough(translator), {
    status: res.status,
    headers: keptHeaders(res, SSE_HEADERS),
  });
}

/**
 * One named server-sent event (`event: <name>` and its JSON data), as the Responses and Messages
 * APIs stream them.
 *
 * @example
 * out.enqueue(namedEvent('message_stop', { type: 'message_stop' }));
 */
export function namedEvent(name: string, data: unknown): Uint8Array {
  return encoder.encode(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
}
