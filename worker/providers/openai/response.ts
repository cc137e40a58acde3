import { openAIError, UpstreamError, type OpenAIErrorBody } from '../errors';

/**
 * Checks an OpenAI-compatible answer and passes it through byte for byte (unknown fields kept).
 *
 * @example
 * openAICompletion('{"object":"chat.completion","choices":[...]}'); // same text back
 */
export function openAICompletion(body: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new UpstreamError('bad_response', 'upstream answered 200 with a body that is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray((parsed as { choices?: unknown }).choices)) {
    throw new UpstreamError('bad_response', 'upstream answered 200 without a choices array');
  }
  return body;
}

/**
 * Reads an OpenAI-compatible error answer; keeps its message, type and code when present.
 *
 * @example
 * openAIUpstreamError(400, '{"error":{"message":"bad","type":"invalid_request_error"}}');
 */
export function openAIUpstreamError(status: number, body: string): OpenAIErrorBody {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    const err = parsed.error;
    if (typeof err === 'object' && err !== null) {
      const e = err as Record<string, unknown>;
      return openAIError(
        `upstream: ${typeof e.message === 'string' ? e.message : `HTTP ${status}`}`,
        typeof e.type === 'string' ? e.type : 'upstream_error',
        typeof e.code === 'string' ? e.code : `upstream_http_${status}`,
        typeof e.param === 'string' ? e.param : null,
      );
    }
    if (typeof err === 'string') return openAIError(`upstream: ${err}`, 'upstream_error', `upstream_http_${status}`);
  } catch {
    // not JSON: fall through to a generic message with a short excerpt
  }
  return openAIError(`upstream answered HTTP ${status}: ${body.slice(0, 200)}`, 'upstream_error', `upstream_http_${status}`);
}
