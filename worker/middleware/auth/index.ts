/**
 * `Authorization: Bearer <key>`: the sha256 of the key must be an unrevoked `api_keys.key_hash`.
 * Sets `c.var.tenant` and `c.var.apiKey`; answers 401 JSON otherwise (403 `tenant_disabled` for a
 * key of a tenant the operator disabled).
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../env';
import { ApiError } from '../../errors';
import { findApiKey } from '../../data/tenants';
import { sha256Hex } from '../../data/hash';

/**
 * @example
 * app.use('/v1/*', auth());
 */
export function auth(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) {
      throw new ApiError(401, 'missing bearer key: send Authorization: Bearer <key>', {
        code: 'missing_api_key',
      });
    }
    const key = await findApiKey(c.env.DB, await sha256Hex(match[1]));
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
