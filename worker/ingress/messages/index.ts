/**
 * `POST /v1/messages` (Anthropic Messages API) in front of the router's one serving path: the body
 * is checked and translated into a chat body at the edge (schema.ts, request.ts), served like any
 * chat completion, and its answer translated back (response.ts, stream.ts); errors are rendered in
 * Anthropic's shape (errors.ts).
 */
import { validJson, type JsonInput } from '../../middleware/validate';
import type { ChatBody } from '../../schemas/chat';
import { toChatBody } from './request';
import { messagesBodyOf, type MessagesBody } from './schema';

/** A checked Messages body and the chat body it is served as. */
export interface MessagesInput {
  body: MessagesBody;
  chat: ChatBody;
}

/**
 * Validates and translates the Messages body at the edge (the token limiter and the handler read
 * `c.req.valid('json')`).
 *
 * @example
 * v1.post('/messages', messagesInput, tokenLimitOf((i: MessagesInput) => i.chat), messages);
 */
export const messagesInput = validJson((raw): MessagesInput => {
  const body = messagesBodyOf(raw);
  return { body, chat: toChatBody(body) };
});

export type MessagesJsonInput = JsonInput<MessagesInput>;
export { MESSAGES_ENDPOINT } from './schema';
export { anthropicErrorResponse } from './errors';
export { toMessage } from './response';
export { messagesStream } from './stream';
