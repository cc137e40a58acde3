/**
 * The tenant key: `Authorization: Bearer <key>`, or, on the paths named in `apiKeyHeaderOn`
 * (`/v1/messages`, where Anthropic's clients send it so), `x-api-key: <key>`; Bearer wins when both
 * come. The sha256 of the key must be an unrevoked `api_keys.key_hash`. Sets `c.var.tenant` and
 * `c.var.apiKey`; answers 401 otherwise (403 `tenant_disabled` for a key of a tenant the
 * operator disabled).
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../env';
import { ApiError } from '../../errors';
import { findApiKey } from '../../data/tenants';
import { sha256Hex } from '../../data/hash';

export interface AuthOptions {
  /** Paths that also take the key as `x-api-key` (Anthropic's clients send it there). */
  apiKeyHeaderOn?: readonly string[];
}

/** The key the request carries, if any. */
function keyOf(header: string, apiKeyHeader: string | undefined): string | undefined {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
  if (bearer) return bearer;
  const key = apiKeyHeader?.trim();
  return key && !/\s/.test(key) ? key : undefined;
}

/**
 * @example
 * v1.use(auth({ apiKeyHeaderOn: ['/v1/messages'] }));
 */
export function auth(opts: AuthOptions = {}): MiddlewareHandler<AppEnv> {
  const apiKeyPaths = new Set(opts.apiKeyHeaderOn ?? []);
  return async (c, next) => {
    const takesApiKey = apiKeyPaths.has(c.req.path);
    const presented = keyOf(
      c.req.header('authorization') ?? '',
      takesApiKey ? c.req.header('x-api-key') : undefined,
    );
    if (!presented) {
      const how = takesApiKey
        ? 'Authorization: Bearer <key> or x-api-key: <key>'
        : 'Authorization: Bearer <key>';
      throw new ApiError(401, `missing ${takesApiKey ? 'API' : 'bearer'} key: send ${how}`, {
        code: 'missing_api_key',
      });
    }
    const key = await findApiKey(c.env.DB, await sha256Hex(presented));
    if (!key) throw new ApiError(401, 'invalid or revoked API key', { code: 'invalid_api_key' });
    if (key.tenant.disabled)
      throw new ApiError(403, 'this tenant is disabled; ask the operator', {
        code: 'tenant_disabled',
      });
    c.set('tenant', key.tenant);
    c.set('apiKey', key);
    await next();
  };
}
