// /v1/chat/completions end to end: the routed request goes through the real callWithFallback and
// OpenAI provider to a loopback stand-in upstream (real HTTP on 127.0.0.1, started in globalSetup).
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { call, callNoWait } from '../support/call';
import { seedBundle, seedModel, seedPool, seedTenant, testEnv } from '../support/seed';

const upstream = inject('upstreamUrl');
let key: string;
let tenantId: string;
const messages = [{ role: 'user', content: 'Summarise the plot of Hamlet in two sentences.' }];

/** Pool of test-bundle models whose upstream ids carry a behaviour tag for the stand-in. */
async function pool(name: string, upstreamIds: Record<string, string>): Promise<void> {
  const prices: Record<string, [number, number]> = {
    'test-large': [10, 30],
    'test-medium': [1, 3],
    'test-small': [0.2, 0.6],
    'test-tiny': [0.05, 0.1],
  };
  const ids: string[] = [];
  for (const [bundleModel, upstreamModel] of Object.entries(upstreamIds)) {
    const [i, o] = prices[bundleModel]!;
    ids.push(
      await seedModel({
        name: `${name}-${bundleModel}`,
        bundleModel,
        upstreamModel,
        inputUsd: i,
        outputUsd: o,
        baseUrl: `${upstream}/v1`,
        secretName: 'UPSTREAM_KEY',
        tenantId,
      }),
    );
  }
  await seedPool(tenantId, name, 'test-v1', ids);
}

async function received(
  model: string,
): Promise<{ path: string; authorization: string | null; body: Record<string, unknown> }[]> {
  return (await fetch(`${upstream}/__requests?model=${encodeURIComponent(model)}`)).json();
}

beforeAll(async () => {
  await seedBundle('test-v1');
  ({ tenantId, key } = await seedTenant('ok'));
  const tag = crypto.randomUUID().slice(0, 8);
  await pool('ok', { 'test-large': `large-${tag}`, 'test-tiny': `tiny-${tag}` });
  await pool('first-fails', {
    'test-large': `fail-503-large-${tag}`,
    'test-tiny': `fail-500-tiny-${tag}`,
    'test-medium': `medium-${tag}`,
  });
  await pool('first-hangs', { 'test-tiny': `hang-tiny-${tag}`, 'test-large': `large2-${tag}` });
  await pool('all-fail', { 'test-tiny': `fail-503-a-${tag}`, 'test-large': `fail-503-b-${tag}` });
});

describe('POST /v1/chat/completions (routed)', () => {
  it('routes, calls the chosen upstream with its id and key, and returns its JSON with decision headers', async () => {
    const res = await call('/v1/chat/completions', {
      key,
      body: { model: 'router', messages, router: { preference: 0 } },
      env: { UPSTREAM_KEY: 'sk-upstream' } as never,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-router-model')).toBe('ok-test-tiny');
    expect(res.headers.get('x-router-attempts')).toBe('1');
    expect(res.headers.get('x-router-fallback')).toBe('none');
    const body = await res.json<{ object: string; choices: { message: { content: string } }[] }>();
    expect(body.object).toBe('chat.completion');
    const upstreamModel = body.choices[0]!.message.content.replace('Hello from ', '');
    const got = await received(upstreamModel);
    expect(got).toHaveLength(1);
    expect(got[0]!.path).toBe('/v1/chat/completions');
    expect(got[0]!.authorization).toBe('Bearer sk-upstream');
    expect(got[0]!.body).not.toHaveProperty('router');
    const log = await testEnv.DB.prepare(
      'SELECT status, model, attempts, uncertainty_penalty, candidates, shown FROM decision_log WHERE id = ?1',
    )
      .bind(res.headers.get('x-router-decision-id'))
      .first<{
        status: string;
        model: string;
        attempts: string;
        candidates: string;
        shown: string;
      }>();
    expect(log).toMatchObject({ status: 'ok', model: 'ok-test-tiny', uncertainty_penalty: 1 });
    expect(JSON.parse(log!.attempts)).toHaveLength(1);
    const shown = JSON.parse(log!.shown) as boolean[];
    expect(shown).toHaveLength(JSON.parse(log!.candidates).length);
    expect(shown.some((s) => s)).toBe(true);
  });

  it('passes SSE through chunk by chunk, without buffering', async () => {
    const { response, settled } = await callNoWait('/v1/chat/completions', {
      key,
      body: { model: 'router', messages, stream: true, router: { preference: 1 } },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(response.headers.get('x-router-decision-id')).toBeTruthy();
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    const t0 = Date.now();
    const arrivals: { at: number; text: string }[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      arrivals.push({ at: Date.now() - t0, text: decoder.decode(value, { stream: true }) });
    }
    await settled;
    const all = arrivals.map((a) => a.text).join('');
    const events = all.split('\n\n').filter((e) => e.startsWith('data: '));
    expect(events.at(-1)).toBe('data: [DONE]');
    const content = events
      .slice(0, -1)
      .map((e) => JSON.parse(e.slice(6)) as { choices: { delta: { content?: string } }[] })
      .map((c) => c.choices[0]!.delta.content ?? '')
      .join('');
    expect(content).toMatch(/^Hello from /);
    // The stand-in waits 150 ms between its chunks: a passthrough delivers the first one long
    // before the last (a buffering proxy would deliver everything at once).
    const first = arrivals.find((a) => a.text.includes('Hello'))!;
    expect(arrivals.at(-1)!.at - first.at).toBeGreaterThanOrEqual(250);
  });

  it('falls back down the policy order when upstreams answer 5xx', async () => {
    const res = await call('/v1/chat/completions', {
      key,
      body: { model: 'router/first-fails', messages, router: { preference: 0 } },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-router-model')).toBe('first-fails-test-medium');
    const attempts = Number(res.headers.get('x-router-attempts'));
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(res.headers.get('x-router-fallback')).toMatch(/http_5\d\d/);
    const log = await testEnv.DB.prepare('SELECT attempts, model FROM decision_log WHERE id = ?1')
      .bind(res.headers.get('x-router-decision-id'))
      .first<{ attempts: string; model: string }>();
    expect(log!.model).toBe('first-fails-test-medium');
    expect(JSON.parse(log!.attempts)).toHaveLength(attempts);
  });

  it('falls back when the chosen upstream does not answer in time', async () => {
    const res = await call('/v1/chat/completions', {
      key,
      body: { model: 'router/first-hangs', messages, router: { preference: 0 } },
      env: { UPSTREAM_TIMEOUT_MS: '400', UPSTREAM_COMPLETION_TIMEOUT_MS: '400' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-router-choice')).toBe('first-hangs-test-tiny');
    expect(res.headers.get('x-router-model')).toBe('first-hangs-test-large');
    expect(res.headers.get('x-router-fallback')).toMatch(/^first-hangs-test-tiny=timeout/);
  });

  it('answers an OpenAI-style error listing the tries when every upstream fails', async () => {
    const res = await call('/v1/chat/completions', {
      key,
      body: { model: 'router/all-fail', messages },
    });
    expect(res.status).toBeGreaterThanOrEqual(502);
    const body = await res.json<{ error: { type: string; message: string } }>();
    expect(body.error.type).toBe('upstream_error');
    expect(res.headers.get('x-router-attempts')).toBe('2');
    const log = await testEnv.DB.prepare('SELECT status FROM decision_log WHERE id = ?1')
      .bind(res.headers.get('x-router-decision-id'))
      .first<{ status: string }>();
    expect(log!.status).toBe('upstream_error');
  });
});

describe('POST /v1/chat/completions (concrete model)', () => {
  it('calls the named model directly, without routing', async () => {
    const res = await call('/v1/chat/completions', {
      key,
      body: { model: 'ok-test-large', messages },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-router-model')).toBe('ok-test-large');
    expect(res.headers.get('x-router-pool')).toBe('none');
    const log = await testEnv.DB.prepare('SELECT status FROM decision_log WHERE id = ?1')
      .bind(res.headers.get('x-router-decision-id'))
      .first<{ status: string }>();
    expect(log!.status).toBe('direct');
  });
});
