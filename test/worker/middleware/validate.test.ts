// Validation at the edge (middleware/validate): every endpoint's input is checked by Hono's
// validator before its handler runs, and a failure is the router's 400 naming the field.
import { beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/call';
import { seedTenant } from '../support/seed';

let key = '';
beforeAll(async () => {
  ({ key } = await seedTenant(null));
});

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

async function refusal(res: Response): Promise<ErrorBody['error']> {
  expect(res.status).toBe(400);
  return (await res.json<ErrorBody>()).error;
}

describe('JSON bodies', () => {
  it('malformed JSON is 400 invalid_json on the admin API as on /v1 (never a 500)', async () => {
    for (const path of ['/admin/models', '/admin/models/m-1/quiz', '/v1/route']) {
      const err = await refusal(await call(path, { key, rawBody: '{"name": ' }));
      expect(err).toEqual({
        message: 'request body is not valid JSON',
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_json',
      });
    }
  });

  it('reads the body as JSON whatever its content type says', async () => {
    const res = await call('/v1/route', {
      key,
      rawBody: JSON.stringify({ model: 'router', messages: [] }),
      headers: { 'content-type': 'text/plain' },
    });
    expect((await refusal(res)).code).toBe('invalid_messages');
  });

  it('names the first bad field of an admin body (invalid_value)', async () => {
    const res = await call('/admin/models', {
      key,
      body: {
        name: 'x',
        provider: 'openai',
        upstream_model: 'm',
        input_usd_per_mtok: -1,
        output_usd_per_mtok: 1,
      },
    });
    expect(await refusal(res)).toMatchObject({
      code: 'invalid_value',
      param: 'input_usd_per_mtok',
    });
  });
});

describe('query strings', () => {
  it('refuses a bad quiz size and an unknown parameter before the model is looked up', async () => {
    expect(await refusal(await call('/admin/models/nope/quiz?n=0', { key }))).toMatchObject({
      code: 'invalid_value',
      param: 'n',
    });
    const err = await refusal(await call('/admin/models/nope/quiz?size=5', { key }));
    expect(err.code).toBe('invalid_value');
  });
});
