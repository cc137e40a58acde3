/**
 * `POST /v1/responses`: the OpenAI Responses API, served through the same path as
 * `/v1/chat/completions` (routing, decision headers, fallback, limits, decision row) and translated
 * both ways (worker/ingress/responses). Streamed answers are Responses events, JSON answers a
 * response object.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../env';
import { translateJson, translateStream } from '../ingress/answer';
import { readChatAnswer } from '../ingress/chat-answer';
import { responsesStream, toResponseObject, type ResponsesJsonInput } from '../ingress/responses';
import { serveChatBody } from '../ingress/serve-chat-body';

/**
 * @example
 * v1.post('/responses', responsesInput, tokenLimitOf((i: ResponsesInput) => i.chat), responses);
 */
export async function responses(c: Context<AppEnv, string, ResponsesJsonInput>): Promise<Response> {
  const { body, chat } = c.req.valid('json');
  const answer = await serveChatBody(c, chat);
  if (body.stream) return translateStream(answer, responsesStream(body));
  return translateJson(answer, (json) => toResponseObject(readChatAnswer(json), body));
}
