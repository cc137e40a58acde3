/**
 * `POST /v1/responses` (OpenAI Responses API) in front of the router's one serving path: the body
 * is checked and translated into a chat body at the edge (schema.ts, request.ts), served like any
 * chat completion, and its answer translated back (response.ts, stream.ts).
 */
import { validJson, type JsonInput } from '../../middleware/validate';
import type { ChatBody } from '../../schemas/chat';
import { toChatBody } from './request';
import { responsesBodyOf, type ResponsesBody } from './schema';

/** A checked Responses body and the chat body it is served as. */
export interface ResponsesInput {
  body: ResponsesBody;
  chat: ChatBody;
}

/**
 * Validates and translates the Responses body at the edge (the token limiter and the handler read
 * `c.req.valid('json')`).
 *
 * @example
 * v1.post('/responses', responsesInput, tokenLimitOf((i: ResponsesInput) => i.chat), responses);
 */
export const responsesInput = validJson((raw): ResponsesInput => {
  const body = responsesBodyOf(raw);
  return { body, chat: toChatBody(body) };
});

export type ResponsesJsonInput = JsonInput<ResponsesInput>;
export { toResponseObject } from './response';
export { responsesStream } from './stream';
