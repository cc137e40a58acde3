/**
 * `Authorization: Bearer <operator token>` for `/operator/*`: the token is the `OPERATOR_TOKEN`
 * Workers secret, compared in constant time (both sides hashed, then `timingSafeEqual`), never a
 * tenant's API key. Without the secret (or with one under MIN_TOKEN_LENGTH characters) the operator
 * API is off: 503 `operator_api_disabled`, never open.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../env';
import { ApiError } from '../../errors';

/** Shortest token accepted: a short one could be guessed; `openssl rand -hex 32` gives 64. */
export const MIN_TOKEN_LENGTH = 32;

async function digest(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
}

/**
 * Whether `given` equals `expected`, in time that does not depend on where they differ (the
 * digests have one length whatever the inputs').
 *
 * @example
 * await sameToken(bearer, env.OPERATOR_TOKEN); // true or false
 */
export async function sameToken(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  return crypto.subtle.timingSafeEqual(a, b);
}

/**
 * @example
 * operator.use(operatorAuth());
 */
export function operatorAuth(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const expected = c.env.OPERATOR_TOKEN ?? '';
    if (expected.length < MIN_TOKEN_LENGTH) {
      throw new ApiError(
        503,
        `the operator API is off: set the OPERATOR_TOKEN secret (at least ${MIN_TOKEN_LENGTH} characters)`,
        { code: 'operator_api_disabled' },
      );
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
    if (!match?.[1]) {
      throw new ApiError(401, 'missing operator token: send Authorization: Bearer <token>', {
        code: 'missing_operator_token',
      });
    }
    if (!(await sameToken(match[1], expected)))
      throw new ApiError(401, 'invalid operator token', { code: 'invalid_operator_token' });
    await next();
  };
}
