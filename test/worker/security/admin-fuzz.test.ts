// Property-based tests (fast-check) of the admin API with random and hostile bodies, queries and
// path parameters: every bad request is a 4xx with the OpenAI error shape (never a 5xx, never a
// stack trace), hostile model registrations store nothing, and the service still works after.
import fc from 'fast-check';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { call } from '../support/call';
import { seedBundle, seedGrant, seedPool, seedTenant, testEnv } from '../support/seed';

const RUNS = 40;
const upstreamHost = new URL(inject('upstreamUrl')).host;
let tenant: { tenantId: string; key: string };
let modelId = '';

/** A small quiz bank (ids f0..f29, items f0..f19 gradable) under its own name. */
function bank(): Record<string, unknown> {
  const items = Array.from({ length: 30 }, (_, i) => ({
    id: `f${i}`,
    a: Array.from({ length: 8 }, (__, k) => Math.sin(3 * i + k)),
    c: Math.cos(i) / 3,
    ...(i < 20 ? { prompt: `question ${i}`, reference: 'Hello' } : {}),
  }));
  return { format: 1, name: 'fuzz', bundle_version: 'test-v1', identity_dim: 8, items };
}

/** The body must be the router's JSON error: 4xx, {error: {message, type, param, code}}, no stack trace. */
async function expectClientError(res: Response): Promise<void> {
  const text = await res.text();
  expect(res.status, text).toBeGreaterThanOrEqual(400);
  expect(res.status, text).toBeLessThan(500);
  expectErrorShape(text);
}

function expectErrorShape(text: string): void {
  const body = JSON.parse(text) as { error?: Record<string, unknown> };
  expect(Object.keys(body)).toEqual(['error']);
  const e = body.error!;
  expect(typeof e.message).toBe('string');
  expect(typeof e.type).toBe('string');
  expect(e.param === null || typeof e.param === 'string').toBe(true);
  expect(e.code === null || typeof e.code === 'string').toBe(true);
  expect(text).not.toMatch(/\n\s+at |\.ts:\d+|\.js:\d+/);
}

/** Anything but a server error; a non-2xx answer has the error shape. */
async function expectNoServerError(res: Response): Promise<void> {
  const text = await res.text();
  expect(res.status, text).toBeLessThan(500);
  if (res.status >= 400) expectErrorShape(text);
}

async function modelCount(): Promise<number> {
  return (await testEnv.DB.prepare('SELECT count(*) AS n FROM models WHERE tenant_id = ?1')
    .bind(tenant.tenantId)
    .first<{ n: number }>())!.n;
}

// --- hostile inputs ------------------------------------------------------------------------------

const hostileUrls = [
  'http://127.0.0.1/v1',
  'http://127.1/v1',
  'http://2130706433/v1',
  'http://0x7f000001/v1',
  'http://017700000001/v1',
  'http://[::1]/v1',
  'http://[::ffff:127.0.0.1]/v1',
  'http://[fe80::1%25eth0]/v1',
  'http://169.254.169.254/latest/meta-data/',
  'http://metadata.google.internal/',
  'http://10.0.0.1/',
  'http://172.16.0.1/',
  'http://192.168.0.1/',
  'http://100.64.0.1/',
  'http://0.0.0.0/',
  'http://localhost:8787/admin',
  'https://user:pw@api.openai.com/v1',
  'https://api.openai.com/v1?x=1',
  'https://api.openai.com/v1#x',
  'https://api.openai.com/v1/../../',
  'https://api.openai.com/%2e%2e/',
  'https://api.openai.com\\@evil.example/',
  'https://evil.example@api.openai.com/',
  'javascript:alert(1)',
  'file:///etc/passwd',
  'data:text/plain,hi',
  'gopher://127.0.0.1:25/',
  `http://${upstreamHost}/v1`,
  'http://[::]/',
  'https://api.openai.com/v1\n',
];

const segment = fc.oneof(
  fc.constantFrom('v1', '..', '.', '%2e%2e', '%2f', '%00', '%5c', '', 'chat', '~x'),
  fc.string({ maxLength: 8 }),
);
const builtUrl = fc
  .record({
    scheme: fc.constantFrom('http', 'https', 'HTTPS', 'ftp', 'ws'),
    userinfo: fc.constantFrom('', 'user@', 'user:pw@', ':@'),
    host: fc.oneof(
      fc.ipV4(),
      fc.ipV4Extended(),
      fc.ipV6().map((h) => `[${h}]`),
      fc.domain(),
      fc.constantFrom('localhost', 'x.internal', 'a.local', '0', '017700000001'),
    ),
    port: fc.oneof(
      fc.constant(''),
      fc.integer({ min: 0, max: 70000 }).map((p) => `:${p}`),
    ),
    path: fc.array(segment, { maxLength: 4 }).map((s) => (s.length ? `/${s.join('/')}` : '')),
    tail: fc.constantFrom('', '?q=1', '#f', '/'),
  })
  .map((u) => `${u.scheme}://${u.userinfo}${u.host}${u.port}${u.path}${u.tail}`);

const hostileUrl = fc.oneof(
  fc.constantFrom(...hostileUrls),
  builtUrl,
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
  fc.string(),
);
const secretName = fc.oneof(
  fc.constantFrom(
    'STANDIN_API_KEY',
    'OPENAI_API_KEY',
    'DEFAULT_BUNDLE',
    'UPSTREAM_TIMEOUT_MS',
    'MAX_TRIES',
    'DB',
    'ASSETS',
    'AI',
    'DECISION_LOG_QUEUE',
    'POOL_CACHE_SECONDS',
    'constructor',
    '__proto__',
    'TEST_MIGRATIONS',
    'FIXTURES',
  ),
  fc.stringMatching(/^[A-Z][A-Z0-9_]{0,20}$/),
  fc.string({ maxLength: 20 }),
);

/** A model body that is valid except for where it points and what it sends (the tenant has no grant for any of it). */
const hostileModel = fc
  .record({
    name: fc.uuid().map((u) => `fuzz-${u}`),
    provider: fc.constantFrom('openai', 'anthropic'),
    upstream_model: fc.constantFrom('gpt-4o', 'x'),
    base_url: fc.option(hostileUrl, { nil: undefined }),
    secret_name: fc.option(secretName, { nil: undefined }),
    input_usd_per_mtok: fc.constant(1),
    output_usd_per_mtok: fc.constant(1),
  })
  .filter(
    (m) => m.provider === 'anthropic' || m.base_url !== undefined || m.secret_name !== undefined,
  );

const pathParam = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom('..', '.', '%00', 'm-other', "' OR 1=1 --", '\u0000', '\uFFFF', 'a'.repeat(500)),
);

// --- tests ----------------------------------------------------------------------------------------

beforeAll(async () => {
  await seedBundle('test-v1');
  await testEnv.ASSETS.put('banks/test-v1/fuzz.json', JSON.stringify(bank()));
  tenant = await seedTenant('main');
  await seedPool(tenant.tenantId, 'main', 'test-v1', []);
  const made = await call('/admin/models', {
    key: tenant.key,
    body: {
      name: 'fuzz-model',
      provider: 'openai',
      upstream_model: 'x',
      input_usd_per_mtok: 1,
      output_usd_per_mtok: 1,
    },
  });
  expect(made.status).toBe(201);
  modelId = (await made.json<{ id: string }>()).id;
});

describe('admin API under random and hostile input', () => {
  it('POST /admin/models: any JSON value or raw text that is not a model is a 4xx; nothing is stored', async () => {
    const before = await modelCount();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.string({ maxLength: 200 }),
        ),
        async (raw) => {
          await expectClientError(await call('/admin/models', { key: tenant.key, rawBody: raw }));
        },
      ),
      { numRuns: RUNS },
    );
    expect(await modelCount()).toBe(before);
  });

  it('POST /admin/models: hostile base URLs and secret names are refused (400/403) and stored nowhere', async () => {
    const before = await modelCount();
    await fc.assert(
      fc.asyncProperty(hostileModel, async (body) => {
        const res = await call('/admin/models', { key: tenant.key, body });
        await expectClientError(res);
        expect([400, 403]).toContain(res.status);
      }),
      { numRuns: 3 * RUNS },
    );
    expect(await modelCount()).toBe(before);
  });

  it('GET /admin/models/{id}/quiz: random queries never make a 5xx', async () => {
    const key = fc.constantFrom(
      'n',
      'bank',
      'bundle',
      'method',
      'seed',
      'gradable',
      'x',
      '__proto__',
    );
    const value = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.integer({ min: -5, max: 300 }).map(String),
      fc.constantFrom(
        'fuzz',
        'default',
        'test-v1',
        '../test-v1',
        'i-optimal',
        'd-optimal',
        'random',
        'true',
        '1e3',
        'NaN',
        '',
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.dictionary(key, value, { maxKeys: 5 }), async (query) => {
        const qs = new URLSearchParams(query).toString();
        await expectNoServerError(
          await call(`/admin/models/${modelId}/quiz?${qs}`, { key: tenant.key }),
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('POST /admin/models/{id}/quiz and quiz/next: bad bodies (a run with a bad n among them) are a 4xx, random JSON never a 5xx', async () => {
    const badN = fc.oneof(
      fc.integer({ min: 51, max: 1e9 }),
      fc.integer({ max: 0 }),
      fc.double({ noInteger: true }),
      fc.string(),
      fc.constant(null),
      fc.object(),
    );
    const runBody = fc
      .record(
        {
          run: fc.record({
            n: badN,
            method: fc.constantFrom('adaptive', 'i-optimal', 'd-optimal', 'x'),
          }),
        },
        { requiredKeys: ['run'] },
      )
      .map((b) => ({ ...b, bank: 'fuzz' }));
    // item ids the bank does not hold (its ids are f0..f29), or outcomes out of range
    const outcomes = fc.record({
      outcomes: fc.array(
        fc.record({
          id: fc.string().map((s) => `zz${s}`),
          outcome: fc.oneof(fc.double(), fc.boolean(), fc.string()),
        }),
        { minLength: 1, maxLength: 5 },
      ),
      bank: fc.constant('fuzz'),
    });
    // `{}` is a valid quiz/next request (defaults everywhere), so random JSON may succeed there
    const body = fc.oneof(
      fc.jsonValue().map((v) => ({ raw: JSON.stringify(v), bad: false })),
      fc
        .string({ maxLength: 100 })
        .filter((t) => {
          try {
            JSON.parse(t);
            return false;
          } catch {
            return true;
          }
        })
        .map((raw) => ({ raw, bad: true })),
      runBody.map((b) => ({ raw: JSON.stringify(b), bad: true })),
      outcomes.map((b) => ({ raw: JSON.stringify(b), bad: true })),
    );
    await fc.assert(
      fc.asyncProperty(
        body,
        fc.constantFrom('quiz', 'quiz/next'),
        async ({ raw, bad }, endpoint) => {
          const res = await call(`/admin/models/${modelId}/${endpoint}`, {
            key: tenant.key,
            rawBody: raw,
          });
          await (bad || endpoint === 'quiz' ? expectClientError(res) : expectNoServerError(res));
        },
      ),
      { numRuns: 2 * RUNS },
    );
  });

  it('path parameters: random model ids and pool names are a 4xx on every admin route', async () => {
    await fc.assert(
      fc.asyncProperty(
        pathParam,
        pathParam,
        fc.constantFrom(
          'GET model',
          'GET quiz',
          'POST quiz',
          'POST next',
          'PUT member',
          'DELETE member',
        ),
        async (a, b, route) => {
          const [method, what] = route.split(' ') as [string, string];
          const id = encodeURIComponent(a);
          const path =
            what === 'model'
              ? `/admin/models/${id}`
              : what === 'quiz'
                ? `/admin/models/${id}/quiz`
                : what === 'next'
                  ? `/admin/models/${id}/quiz/next`
                  : `/admin/pools/${encodeURIComponent(b)}/members/${id}`;
          const res = await call(path, {
            key: tenant.key,
            method,
            ...(method === 'POST' ? { body: { outcomes: [] } } : {}),
          });
          await expectClientError(res);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a body over MAX_BODY_BYTES is a 413 in the same shape', async () => {
    await expectClientError(
      await call('/admin/models', {
        key: tenant.key,
        rawBody: JSON.stringify({ name: 'x'.repeat(2_000_000) }),
      }),
    );
  });

  it('the service is healthy afterwards: health check, a granted registration, a quiz and the model view all work', async () => {
    expect((await call('/healthz')).status).toBe(200);
    await seedGrant(tenant.tenantId, upstreamHost, '', { allowHttp: true, allowPrivate: true });
    const made = await call('/admin/models', {
      key: tenant.key,
      body: {
        name: 'after-fuzz',
        provider: 'openai',
        upstream_model: 'after-fuzz',
        base_url: `http://${upstreamHost}/v1`,
        input_usd_per_mtok: 1,
        output_usd_per_mtok: 1,
        pools: ['main'],
      },
    });
    expect(made.status).toBe(201);
    const quiz = await call(`/admin/models/after-fuzz/quiz?n=5&bank=fuzz`, { key: tenant.key });
    expect(quiz.status).toBe(200);
    const run = await call('/admin/models/after-fuzz/quiz', {
      key: tenant.key,
      body: { bank: 'fuzz', run: { n: 3 } },
    });
    expect(run.status).toBe(200);
    expect((await run.json<{ n_items: number }>()).n_items).toBe(3);
    const view = await call(`/admin/models/${modelId}`, { key: tenant.key });
    expect(view.status).toBe(200);
  });
});
