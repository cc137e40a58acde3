/**
 * Rejects request bodies over `MAX_BODY_BYTES` with a 413 JSON error (Hono's bodyLimit, with the
 * limit read from the environment per request and the router's error shape).
 */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit as honoBodyLimit } from 'hono/body-limit';
import { readConfig } from '../../config';
import type { AppEnv } from '../../env';
import { ApiError } from '../../errors';

/**
 * @example
 * app.use('/v1/*', bodyLimit());
 */
export function bodyLimit(): MiddlewareHandler<AppEnv> {
  return (c, next) => {
    const maxSize = readConfig(c.env).maxBodyBytes;
    return honoBodyLimit({
      maxSize,
      onError: () => {
        throw new ApiError(413, `request body is larger than ${maxSize} bytes`, {
          code: 'body_too_large',
        });
      },
    })(c, next);
  };
}
