/** OpenAI-style error answers of the admin routes (never a stack trace). */
import type { Context } from 'hono';
import type { ZodError } from 'zod';
import { errorResponse, openAIError } from '../../providers/errors';

/**
 * A JSON error response.
 *
 * @example
 * return fail(404, 'model mdl_1 not found', 'not_found', 'model');
 */
export function fail(status: number, message: string, code: string, param: string | null = null): Response {
  const type = status === 401 ? 'authentication_error' : status === 404 ? 'not_found_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
  return errorResponse(status, openAIError(message, type, code, param));
}

/**
 * 400 for the first zod issue, naming the offending field in `param`.
 *
 * @example
 * if (!r.success) return invalid(r.error);
 */
export function invalid(error: ZodError): Response {
  const issue = error.issues[0];
  const param = issue && issue.path.length ? issue.path.join('.') : null;
  return fail(400, issue ? `${param ?? 'body'}: ${issue.message}` : 'invalid request', 'invalid_value', param);
}

/**
 * The request's JSON body, or a 400 response when it is not JSON.
 *
 * @example
 * const body = await jsonBody(c); if (body instanceof Response) return body;
 */
export async function jsonBody(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    return fail(400, 'request body must be JSON', 'invalid_json');
  }
}
