import type { ApiError } from '../../errors';
import { UpstreamError } from '../errors';
import { upstreamError } from '../error-body';
import { readOpenAIUsage, type TokenUsage } from '../usage';

/**
 * Checks an OpenAI-compatible answer and passes it through byte for byte (unknown fields kept),
 * with the usage it reports (null: none).
 *
 * @example
 * openAICompletion('{"object":"chat.completion","choices":[...],"usage":{"prompt_tokens":7,"completion_tokens":4}}');
 * // { body: <the same text>, usage: { promptTokens: 7, completionTokens: 4 } }
 */
export function openAICompletion(body: string): { body: string; usage: TokenUsage | null } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new UpstreamError('bad_response', 'upstream answered 200 with a body that is not JSON');
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    !Array.isArray((parsed as { choices?: unknown }).choices)
  ) {
    throw new UpstreamError('bad_response', 'upstream answered 200 without a choices array');
  }
  return { body, usage: readOpenAIUsage((parsed as { usage?: unknown }).usage) };
}

/**
 * Maps an OpenAI-compatible error answer to a clean error (see `upstreamError`: the provider's
 * message, cleaned and capped, never the raw body).
 *
 * @example
 * openAIUpstreamError(400, '{"error":{"message":"bad","type":"invalid_request_error"}}');
 */
export function openAIUpstreamError(status: number, body: string): ApiError {
  return upstreamError(status, body);
}
