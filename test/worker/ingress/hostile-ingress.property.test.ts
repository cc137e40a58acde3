// Property: /v1/responses and /v1/messages answer random and hostile bodies with a 4xx in their own
// error shape (OpenAI's; Anthropic's on /v1/messages), or a 200 for a body they can serve, never a
// 5xx or a stack trace, and the service answers normally afterwards.
import fc from 'fast-check';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { call } from '../support/call';
import { seedBundle, seedModel, seedPool, seedTenant } from '../support/seed';

const upstream = inject('upstreamUrl');
let key: string;

const text = fc.string({ maxLength: 40 });
const junk = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
);

/** Mostly `valid`, sometimes something hostile: each generated body breaks few rules, if any. */
function mostly<T, U>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<U>): fc.Arbitrary<T | U> {
  return fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: hostile, weight: 1 });
}

/** Responses bodies built from the API's own vocabulary, each field maybe replaced by junk. */
const responsesPart = mostly(
  fc.record({ type: fc.constant('input_text'), text }),
  fc.oneof(
    fc.record({ type: fc.constant('input_image'), image_url: text }),
    fc.record({ type: fc.constantFrom('output_text', 'refusal', 'input_file'), text }),
    junk,
  ),
);
const responsesItem = mostly(
  fc.oneof(
    fc.record({
      role: fc.constantFrom('user', 'developer'),
      content: fc.oneof(text, fc.array(responsesPart, { maxLength: 3 })),
    }),
    fc.record({ role: fc.constant('assistant'), content: text }),
    fc.record({ type: fc.constant('function_call'), call_id: text, name: text, arguments: text }),
    fc.record({ type: fc.constant('function_call_output'), call_id: text, output: text }),
  ),
  fc.oneof(
    fc.record({ role: fc.constantFrom('tool', 'system'), content: fc.oneof(text, junk) }),
    fc.record({
      type: fc.constantFrom('item_reference', 'reasoning', 'web_search_call'),
      id: text,
    }),
    junk,
  ),
);
const responsesBody = fc
  .record(
    {
      model: mostly(
        fc.constantFrom('router', 'router/default'),
        fc.oneof(fc.constantFrom('router/none', 'no-such-model'), junk),
      ),
      input: mostly(fc.oneof(text, fc.array(responsesItem, { minLength: 1, maxLength: 4 })), junk),
      instructions: mostly(text, junk),
      tools: mostly(
        fc.array(
          fc.record({ type: fc.constant('function'), name: fc.stringMatching(/^[a-z_]{1,20}$/) }),
          { maxLength: 2 },
        ),
        fc.oneof(
          fc.array(fc.record({ type: fc.constantFrom('web_search', 'mcp'), name: text })),
          junk,
        ),
      ),
      tool_choice: mostly(fc.constantFrom('auto', 'none', 'required'), junk),
      max_output_tokens: mostly(
        fc.integer({ min: 1, max: 64 }),
        fc.oneof(fc.integer({ min: -5, max: 0 }), junk),
      ),
      temperature: mostly(
        fc.double({ min: 0, max: 2, noNaN: true }),
        fc.oneof(fc.double({ noNaN: true }), junk),
      ),
      text: mostly(
        fc.record({ format: fc.record({ type: fc.constantFrom('text', 'json_object') }) }),
        junk,
      ),
      store: mostly(fc.constant(false), fc.oneof(fc.constant(true), junk)),
      previous_response_id: fc.oneof(text, junk),
      router: mostly(
        fc.record({ preference: fc.constantFrom(0, 0.5, 1, 'cheap', 'quality') }),
        junk,
      ),
    },
    { requiredKeys: ['model', 'input'] },
  )
  .map(({ previous_response_id, ...body }) =>
    // a stored-response id is refused whatever it is: put it in now and then
    previous_response_id === '' ? { ...body, previous_response_id } : body,
  );

/** Messages bodies likewise. */
const messagesBlock = mostly(
  fc.oneof(
    fc.record({ type: fc.constant('text'), text }),
    fc.record({
      type: fc.constant('image'),
      source: fc.record({ type: fc.constant('url'), url: fc.webUrl() }),
    }),
    fc.record({
      type: fc.constant('tool_result'),
      tool_use_id: fc.stringMatching(/^t[0-9]{1,3}$/),
      content: text,
      is_error: fc.boolean(),
    }),
  ),
  fc.oneof(
    fc.record({
      type: fc.constant('image'),
      source: fc.record({
        type: fc.constantFrom('base64', 'file'),
        data: text,
        media_type: fc.constantFrom('image/png', 'text/html'),
      }),
    }),
    fc.record({ type: fc.constant('tool_use'), id: text, name: text, input: junk }),
    fc.record({ type: fc.constantFrom('document', 'thinking', 'server_tool_use'), text }),
    junk,
  ),
);
const messagesBody = fc
  .record(
    {
      model: mostly(
        fc.constantFrom('router', 'router/default'),
        fc.oneof(fc.constantFrom('router/none', 'no-such-model'), junk),
      ),
      max_tokens: mostly(
        fc.integer({ min: 1, max: 64 }),
        fc.oneof(fc.integer({ min: -5, max: 0 }), junk),
      ),
      messages: mostly(
        fc.array(
          mostly(
            fc.record({
              role: fc.constant('user'),
              content: fc.oneof(text, fc.array(messagesBlock, { minLength: 1, maxLength: 3 })),
            }),
            fc.record({
              role: fc.constantFrom('assistant', 'system'),
              content: fc.oneof(text, junk),
            }),
          ),
          { minLength: 1, maxLength: 4 },
        ),
        junk,
      ),
      system: mostly(
        fc.oneof(text, fc.array(fc.record({ type: fc.constant('text'), text }))),
        junk,
      ),
      tools: mostly(
        fc.array(
          fc.record({
            name: fc.stringMatching(/^[a-z_]{1,20}$/),
            input_schema: fc.constant({ type: 'object' }),
          }),
          { maxLength: 2 },
        ),
        fc.oneof(
          fc.array(
            fc.record({
              name: text,
              type: fc.constantFrom('bash_20250124', 'custom'),
              input_schema: junk,
            }),
          ),
          junk,
        ),
      ),
      tool_choice: mostly(
        fc.record({ type: fc.constantFrom('auto', 'any', 'none') }),
        fc.oneof(fc.record({ type: fc.constantFrom('tool', 'required') }), junk),
      ),
      temperature: mostly(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.oneof(fc.double({ noNaN: true }), junk),
      ),
      stop_sequences: mostly(
        fc.array(fc.string({ minLength: 1, maxLength: 5 }), { maxLength: 3 }),
        junk,
      ),
      top_k: fc.oneof(fc.integer(), junk),
    },
    { requiredKeys: ['model', 'max_tokens', 'messages'] },
  )
  .map(({ top_k, ...body }) =>
    // top_k is refused whatever it is: put it in now and then
    top_k === 0 ? { ...body, top_k } : body,
  );

async function expectAnswer(path: string, res: Response, what: string): Promise<void> {
  const body = await res.text();
  expect(res.status, `${what} -> ${res.status} ${body.slice(0, 200)}`).toBeLessThan(500);
  expect(body).not.toMatch(/\n\s+at |\.ts:\d+/);
  expect(res.headers.get('x-request-id')).toBeTruthy();
  if (res.status === 200) return;
  expect(res.status, what).toBeGreaterThanOrEqual(400);
  const parsed = JSON.parse(body) as Record<string, unknown>;
  if (path === '/v1/messages') {
    expect(Object.keys(parsed).sort()).toEqual(['error', 'request_id', 'type']);
    expect(Object.keys(parsed.error as object).sort()).toEqual(['message', 'type']);
  } else {
    expect(Object.keys(parsed.error as object).sort()).toEqual([
      'code',
      'message',
      'param',
      'type',
    ]);
  }
}

async function expectHealthy(): Promise<void> {
  const messages = await call('/v1/messages', {
    key,
    body: { model: 'router', max_tokens: 16, messages: [{ role: 'user', content: 'Up?' }] },
  });
  expect(messages.status).toBe(200);
  await messages.arrayBuffer();
  const responses = await call('/v1/responses', { key, body: { model: 'router', input: 'Up?' } });
  expect(responses.status).toBe(200);
  await responses.arrayBuffer();
}

beforeAll(async () => {
  await seedBundle('test-v1');
  let tenantId: string;
  ({ tenantId, key } = await seedTenant('default'));
  const name = `hi-tiny-${crypto.randomUUID().slice(0, 8)}`;
  const id = await seedModel({
    name,
    bundleModel: 'test-tiny',
    upstreamModel: name,
    inputUsd: 0.05,
    outputUsd: 0.1,
    baseUrl: `${upstream}/v1`,
    tenantId,
  });
  await seedPool(tenantId, 'default', 'test-v1', [id]);
});

describe.each([
  ['/v1/responses', responsesBody],
  ['/v1/messages', messagesBody],
] as const)('%s with hostile input (fast-check)', (path, bodies) => {
  it('bodies from the API’s own vocabulary, partly junk: a 200 or a 4xx in the route’s shape', async () => {
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        const res = await call(path, { key, body: { ...body, stream: false } });
        await expectAnswer(path, res, JSON.stringify(body).slice(0, 160));
      }),
      { numRuns: 150 },
    );
    await expectHealthy();
  });

  it('random JSON of any shape: never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (v) => {
        const res = await call(path, { key, rawBody: JSON.stringify(v) });
        await expectAnswer(path, res, JSON.stringify(v).slice(0, 120));
      }),
      { numRuns: 80 },
    );
    await expectHealthy();
  });
});
