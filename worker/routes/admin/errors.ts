/** Errors of the admin routes' input (never a stack trace). */
import type { Context } from 'hono';
import type { ZodError } from 'zod';
import { ApiError, badRequest } from '../../errors';

/**
 * 400 `invalid_value` for the first zod issue, naming the offending field in `param`.
 *
 * @example
 * if (!r.success) throw invalid(r.error);
 */
export function invalid(error: ZodError): ApiError {
  const issue = error.issues[0];
  const param = issue && issue.path.length ? issue.path.join('.') : null;
  return badRequest(issue ? `${param ?? 'body'}: ${issue.message}` : 'invalid request', param, 'invalid_value');
}

/**
 * The request's JSON body; a 400 `invalid_json` when it is not JSON.
 *
 * @example
 * const body = await jsonBody(c);
 */
export async function jsonBody(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    throw badRequest('request body must be JSON', null, 'invalid_json');
  }
}
