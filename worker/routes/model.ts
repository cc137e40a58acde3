/**
 * `GET /v1/models/{id}`: one entry of `/v1/models` (OpenAI's `model` object); `id` may hold a
 * slash (`router/<pool>`). A name the tenant cannot send as `model` (unknown, or another tenant's)
 * is a 404 `model_not_found`, as OpenAI answers it.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { clip } from '../schemas/chat';
import { modelEntries } from './models';

/**
 * @example
 * v1.get('/models/:id{.+}', getModelRoute);
 */
export async function getModelRoute(c: Context<AppEnv>): Promise<Response> {
  const id = c.req.param('id') ?? ''; // Hono decodes it (a slash may come as %2F)
  const entry = (await modelEntries(c)).find((m) => m.id === id);
  if (!entry)
    throw new ApiError(404, `model ${clip(JSON.stringify(id), 120)} does not exist`, {
      type: 'invalid_request_error',
      code: 'model_not_found',
      param: 'model',
    });
  return c.json(entry);
}
