/**
 * Maps whatever an upstream sent with a failure (an HTTP error body, an error event inside a stream)
 * to a clean OpenAI-style error. The raw body is never relayed: a model's base URL may point at a
 * host that answers with data that is not a provider error at all (an internal page, cloud
 * credentials), and a caller must not be able to read it through the router. What survives is at
 * most the `message` string of a well-formed provider error object, cleaned and capped; type and code
 * come from fixed sets.
 */
import { ApiError, errorBody, type ErrorType, type OpenAIErrorBody } from '../errors';

/** Longest upstream message passed on, in characters. */
export const MAX_UPSTREAM_MESSAGE = 300;

/** Provider codes worth passing on as they are (OpenAI codes and Anthropic error types). */
const KNOWN_CODES = new Set([
  'context_length_exceeded',
  'string_above_max_length',
  'invalid_value',
  'invalid_type',
  'unsupported_parameter',
  'unsupported_value',
  'rate_limit_exceeded',
  'insufficient_quota',
  'model_not_found',
  'content_policy_violation',
  'invalid_request_error',
  'request_too_large',
  'rate_limit_error',
  'overloaded_error',
  'api_error',
  'not_found_error',
  'permission_error',
  'authentication_error',
]);

/** A body parameter name as OpenAI reports it (`messages`, `messages[0].content`, `max_tokens`). */
const PARAM = /^[A-Za-z0-9_.[\]]{1,64}$/;

/**
 * Collapses control characters (C0, DEL, C1, line and paragraph separators) and runs of white space
 * to single spaces, and caps the length.
 *
 * @example
 * cleanMessage('bad\u0000\r\nthing', 300); // 'bad thing'
 */
export function cleanMessage(text: string, max = MAX_UPSTREAM_MESSAGE): string {
  const flat = text
    .replace(/[\p{Cc}\u2028\u2029]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/**
 * The provider's error object: OpenAI's `{"error": {"message", "code", "param"}}`, Anthropic's
 * `{"type": "error", "error": {"type", "message"}}` (its error type is the code), or the
 * `{"error": "..."}` of Ollama and older vLLM.
 */
function providerError(
  parsed: unknown,
): { message: string; code?: unknown; param?: unknown } | null {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
  const top = parsed as { type?: unknown; error?: unknown };
  if (typeof top.error === 'string') return { message: top.error };
  if (typeof top.error !== 'object' || top.error === null) return null;
  const e = top.error as Record<string, unknown>;
  if (typeof e.message !== 'string') return null;
  return { message: e.message, code: top.type === 'error' ? e.type : e.code, param: e.param };
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The OpenAI error type a caller sees for an upstream HTTP status. */
function typeFor(status: number): ErrorType {
  if (status === 429) return 'rate_limit_error';
  if (status >= 400 && status < 500) return 'invalid_request_error';
  return 'upstream_error';
}

/**
 * The clean error for an upstream's non-2xx answer, with the upstream's status: status-derived
 * type, a known provider code or `upstream_http_<status>`, and the provider's own message (prefixed
 * `upstream: `) when the body is a well-formed provider error, else `upstream answered HTTP <status>`.
 *
 * @example
 * upstreamError(400, '{"error":{"message":"This model\'s maximum context length is 8192 tokens","code":"context_length_exceeded"}}').toBody();
 * // { error: { message: "upstream: This model's maximum context length is 8192 tokens", type: 'invalid_request_error',
 * //            param: null, code: 'context_length_exceeded' } }
 * upstreamError(400, '<html>internal</html>').message; // 'upstream answered HTTP 400' (code 'upstream_http_400')
 */
export function upstreamError(status: number, body: string): ApiError {
  const err = providerError(parse(body));
  const code =
    typeof err?.code === 'string' && KNOWN_CODES.has(err.code)
      ? err.code
      : `upstream_http_${status}`;
  const param = typeof err?.param === 'string' && PARAM.test(err.param) ? err.param : null;
  const message =
    err && cleanMessage(err.message) !== ''
      ? `upstream: ${cleanMessage(err.message)}`
      : `upstream answered HTTP ${status}`;
  return new ApiError(status, message, { type: typeFor(status), code, param });
}

/**
 * The clean error event for an error an upstream sent inside a stream (the event's JSON data):
 * type `upstream_error`, a known provider code or `upstream_stream_error`, the cleaned message.
 *
 * @example
 * streamErrorBody({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
 * // { error: { message: 'upstream: Overloaded', type: 'upstream_error', param: null, code: 'overloaded_error' } }
 */
export function streamErrorBody(data: unknown): OpenAIErrorBody {
  const err = providerError(data);
  const code =
    typeof err?.code === 'string' && KNOWN_CODES.has(err.code) ? err.code : 'upstream_stream_error';
  const message =
    err && cleanMessage(err.message) !== ''
      ? `upstream: ${cleanMessage(err.message)}`
      : 'upstream reported an error mid-stream';
  return errorBody(message, 'upstream_error', code);
}
