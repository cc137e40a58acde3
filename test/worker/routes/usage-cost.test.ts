// Real usage and cost through the serving path (loopback fakes in the OpenAI and Anthropic wire
// formats): `x-router-cost-usd` on JSON answers of every ingress API, the decision row's usage,
// cost, timing and answering model (after a fallback too), prompt text kept only where the pool
// opted in, a stream's row written after its end without holding back a byte, and the official
// `openai` client asking for the usage chunk.
import { SELF } from 'cloudflare:test';
import OpenAI from 'openai';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { call, callNoWait } from '../support/call';
import { seedBundle, seedTenant, testEnv } from '../support/seed';
import { contentOf, dataEvents, within } from '../upstream/support/helpers';
import { fakePool } from '../upstream/support/pools';

const tag = crypto.randomUUID().slice(0, 8);
const messages = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Name three prime numbers.' },
];
let key: string;
let tenantId: string;
let names: Record<string, Record<string, string>>;

/** The fakes' usage (OpenAI: 7 prompt, 4 completion tokens) at a model's prices, as the header shows it. */
const cost = (input: number, output: number, p = 7, c = 4): number =>
  (p * input + c * output) / 1e6;

interface UsageRow {
  status: string;
  model: string;
  answered_by: string | null;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  cost_usd: number | null;
  ttfb_ms: number | null;
  upstream_ms: number | null;
  prompt: string | null;
}

function usageRow(id: string | null): Promise<UsageRow | null> {
  return testEnv.DB.prepare(
    `SELECT status, model, answered_by, prompt_tokens, completion_tokens, cost_usd, ttfb_ms, upstream_ms, prompt
       FROM decision_log WHERE id = ?1 AND tenant_id = ?2`,
  )
    .bind(id, tenantId)
    .first<UsageRow>();
}

const routed = (pool: string, extra: Record<string, unknown> = {}) => ({
  model: `router/${pool}`,
  messages,
  router: { preference: 0 },
  ...extra,
});

beforeAll(async () => {
  await seedBundle('test-v1');
  ({ tenantId, key } = await seedTenant('fine'));
  const pool = async (
    name: string,
    members: Record<string, string>,
    provider: 'openai' | 'anthropic' = 'openai',
  ) => (await fakePool(tenantId, name, members, { provider })).names;
  names = {
    fine: await pool('fine', { 'test-tiny': `ok-cost-${tag}`, 'test-large': `ok-cost-l-${tag}` }),
    keep: await pool('keep', { 'test-tiny': `ok-keep-${tag}` }),
    fallback: await pool('fallback', {
      'test-tiny': `status-503-cost-${tag}`,
      'test-large': `ok-after-503-cost-${tag}`,
    }),
    gated: await pool('gated', { 'test-tiny': `ok-gated-cost-${tag}` }),
    claude: await pool('claude', { 'test-tiny': `ok-claude-cost-${tag}` }, 'anthropic'),
  };
  await testEnv.DB.prepare('UPDATE pools SET keep_prompts = 1 WHERE tenant_id = ?1 AND name = ?2')
    .bind(tenantId, 'keep')
    .run();
});

describe('a JSON answer', () => {
  it('carries x-router-cost-usd, and its row the usage, cost, timing and answering model; no prompt', async () => {
    const res = await call('/v1/chat/completions', { key, body: routed('fine') });
    expect(res.status).toBe(200);
    const tiny = names.fine!['test-tiny']!;
    expect(res.headers.get('x-router-model')).toBe(tiny);
    expect(res.headers.get('x-router-cost-usd')).toBe(cost(0.05, 0.1).toPrecision(6));
    const row = await usageRow(res.headers.get('x-router-decision-id'));
    expect(row).toMatchObject({
      status: 'ok',
      model: tiny,
      answered_by: tiny,
      prompt_tokens: 7,
      completion_tokens: 4,
      prompt: null,
    });
    expect(row!.cost_usd).toBeCloseTo(cost(0.05, 0.1), 15);
    expect(row!.ttfb_ms).toBeGreaterThanOrEqual(0);
    expect(row!.upstream_ms).toBeGreaterThanOrEqual(row!.ttfb_ms!);
  });

  it('after a fallback names the model that answered and prices it at its own prices', async () => {
    const res = await call('/v1/chat/completions', { key, body: routed('fallback') });
    expect(res.status).toBe(200);
    const large = names.fallback!['test-large']!;
    expect(res.headers.get('x-router-choice')).toBe(names.fallback!['test-tiny']);
    expect(res.headers.get('x-router-cost-usd')).toBe(cost(10, 30).toPrecision(6));
    const row = await usageRow(res.headers.get('x-router-decision-id'));
    expect(row).toMatchObject({ answered_by: large, prompt_tokens: 7, completion_tokens: 4 });
    expect(row!.cost_usd).toBeCloseTo(cost(10, 30), 12);
  });

  it('of /v1/responses and /v1/messages carries x-router-cost-usd too', async () => {
    const expected = cost(0.05, 0.1).toPrecision(6);
    const responses = await call('/v1/responses', {
      key,
      body: { model: 'router/fine', input: 'Name three prime numbers.' },
      headers: { 'x-router-preference': '0' },
    });
    expect(responses.status).toBe(200);
    expect(responses.headers.get('x-router-cost-usd')).toBe(expected);
    const msgs = await call('/v1/messages', {
      key,
      body: {
        model: 'router/fine',
        max_tokens: 64,
        messages: [{ role: 'user', content: 'Name three prime numbers.' }],
      },
      headers: { 'x-router-preference': '0' },
    });
    expect(msgs.status).toBe(200);
    expect(msgs.headers.get('x-router-cost-usd')).toBe(expected);
    const row = await usageRow(msgs.headers.get('x-router-decision-id'));
    expect(row).toMatchObject({ prompt_tokens: 7, completion_tokens: 4 });
  });

  it('an error carries no cost, and its row no usage or answering model', async () => {
    const down = await fakePool(tenantId, 'down', { 'test-tiny': `status-502-cost-${tag}` });
    const res = await call('/v1/chat/completions', { key, body: routed('down') });
    expect(res.status).toBe(502);
    expect(res.headers.get('x-router-cost-usd')).toBeNull();
    const row = await usageRow(res.headers.get('x-router-decision-id'));
    expect(row).toMatchObject({
      status: 'upstream_error',
      model: down.names['test-tiny'],
      answered_by: null,
      prompt_tokens: null,
      cost_usd: null,
      ttfb_ms: null,
    });
  });
});

describe('prompt text', () => {
  it('is kept, as the request messages JSON, only in rows of a pool with keep_prompts = 1', async () => {
    const kept = await call('/v1/chat/completions', { key, body: routed('keep') });
    expect(kept.status).toBe(200);
    expect((await usageRow(kept.headers.get('x-router-decision-id')))!.prompt).toBe(
      JSON.stringify(messages),
    );
    // the same model called by name is no pool's request: never kept
    const direct = await call('/v1/chat/completions', {
      key,
      body: { model: names.keep!['test-tiny'], messages },
    });
    expect(direct.status).toBe(200);
    const directRow = await usageRow(direct.headers.get('x-router-decision-id'));
    expect(directRow).toMatchObject({ status: 'direct', prompt: null, prompt_tokens: 7 });
    // and a pool without the setting keeps none
    const plain = await call('/v1/chat/completions', { key, body: routed('fine') });
    expect((await usageRow(plain.headers.get('x-router-decision-id')))!.prompt).toBeNull();
  });
});

describe('a stream', () => {
  it('reaches the client before the upstream has finished; its row, written after the end, has the usage', async () => {
    const model = `ok-gated-cost-${tag}`;
    const { response, settled } = await callNoWait('/v1/chat/completions', {
      key,
      body: routed('gated', { stream: true }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-router-cost-usd')).toBeNull();
    const id = response.headers.get('x-router-decision-id');
    const reader = response.body!.getReader();
    // the fake holds back everything after its first event until released
    const first = await within(reader.read(), 3000, 'first chunk');
    const firstText = new TextDecoder().decode(first.value);
    expect(contentOf(dataEvents(firstText))).toBe('Hello');
    expect(await usageRow(id)).toBeNull();
    await fetch(`${inject('fakeProvidersUrl')}/__release?model=${model}`, { method: 'POST' });
    let rest = '';
    for (;;) {
      const next = await within(reader.read(), 3000, 'rest of stream');
      if (next.done) break;
      rest += new TextDecoder().decode(next.value);
    }
    const events = dataEvents(firstText + rest);
    expect(contentOf(events)).toBe('Hello from the fake');
    // the router asked the upstream for usage; the client did not, so it gets no usage chunk
    expect(events.some((e) => (e as { usage?: unknown }).usage != null)).toBe(false);
    await settled;
    const row = await usageRow(id);
    expect(row).toMatchObject({ status: 'ok', prompt_tokens: 7, completion_tokens: 4 });
    expect(row!.cost_usd).toBeCloseTo(cost(0.05, 0.1), 15);
    expect(row!.upstream_ms).toBeGreaterThanOrEqual(row!.ttfb_ms!);
  });

  it("from Anthropic logs message_start's and message_delta's counts", async () => {
    const { response, settled } = await callNoWait('/v1/chat/completions', {
      key,
      body: routed('claude', { stream: true }),
    });
    expect(contentOf(dataEvents(await response.text()))).toBe('Hello from Claude');
    await settled;
    const row = await usageRow(response.headers.get('x-router-decision-id'));
    expect(row).toMatchObject({
      answered_by: names.claude!['test-tiny'],
      prompt_tokens: 12,
      completion_tokens: 6,
    });
    expect(row!.cost_usd).toBeCloseTo(cost(0.05, 0.1, 12, 6), 15);
  });
});

describe('the openai client', () => {
  const client = new OpenAI({
    baseURL: 'http://router.test/v1',
    apiKey: 'set-below',
    maxRetries: 0,
    fetch: (url, init) => SELF.fetch(url, init),
  });
  const params = () =>
    ({
      model: 'router/fine',
      messages: [{ role: 'user', content: 'Name three prime numbers.' }],
      stream: true,
      router: { preference: 0 },
    }) as OpenAI.ChatCompletionCreateParamsStreaming;

  it('gets the usage chunk when it asks for it (stream_options.include_usage), and none otherwise', async () => {
    client.apiKey = key;
    const asked = await client.chat.completions.create({
      ...params(),
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of asked) chunks.push(c);
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 7, completion_tokens: 4, total_tokens: 11 },
    });
    const plain = await client.chat.completions.create(params());
    const plainChunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of plain) plainChunks.push(c);
    expect(plainChunks.length).toBeGreaterThan(0);
    expect(plainChunks.filter((c) => c.usage != null)).toEqual([]);
  });
});
