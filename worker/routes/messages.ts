/**
 * `POST /v1/messages`: the Anthropic Messages API, served through the same path as
 * `/v1/chat/completions` (routing, decision headers, fallback, limits, decision row) and translated
 * both ways (worker/ingress/messages). Errors are Anthropic-shaped (the error handler picks the
 * shape by route); the key may come as `x-api-key`, as Anthropic's clients send it.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../env';
import { translateJson, translateStream } from '../ingress/answer';
import { readChatAnswer } from '../ingress/chat-answer';
import { messagesStream, toMessage, type MessagesJsonInput } from '../ingress/messages';
import { serveChatBody } from '../ingress/serve-chat-body';

/**
 * @example
 * v1.post('/messages', messagesInput, tokenLimitOf((i: MessagesInput) => i.chat), messages);
 */
export async function messages(c: Context<AppEnv, string, MessagesJsonInput>): Promise<Response> {
  const { body, chat } = c.req.valid('json');
  const answer = await serveChatBody(c, chat);
  if (body.stream) return translateStream(answer, messagesStream(body.model));
  return translateJson(answer, (json) => toMessage(readChatAnswer(json), body.model));
}
