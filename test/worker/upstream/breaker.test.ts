// The per-isolate circuit breaker: its state machine (with a test clock), which tries count against
// a target, and end to end through /v1/chat/completions (skip without a network call, half-open
// probe, close, tenant isolation) and /healthz?detail=1 (a tenant sees only its own targets).
import { beforeAll, describe, expect, inject, it } from 'vitest';
import {
  targetHealth,
  breakerStates,
  type BreakerSettings,
} from '../../../worker/upstream/breaker';
import { verdictOf } from '../../../worker/upstream/classify';
import type { FailureReason } from '../../../worker/upstream/reasons';
import { call } from '../support/call';
import { seedBundle, seedTenant } from '../support/seed';
import { received } from './support/helpers';
import { fakePool, sharePool } from './support/pools';

const settings: BreakerSettings = { failureThreshold: 3, cooldownMs: 1000 };
const targets = [
  { id: 'm-a', name: 'model-a' },
  { id: 'm-b', name: 'model-b' },
];

function clockAt(start: number): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

describe('breaker state machine', () => {
  it('opens after N consecutive unhealthy tries; a healthy one in between starts the count again', () => {
    const clock = clockAt(1_000_000);
    const h = targetHealth(`t-${crypto.randomUUID()}`, targets, settings, clock.now);
    for (const v of ['unhealthy', 'unhealthy', 'healthy', 'unhealthy', 'unhealthy'] as const) {
      expect(h.admit(0)).toBe(true);
      h.report(0, v);
    }
    expect(h.admit(0)).toBe(true);
    h.report(0, 'unhealthy');
    expect(h.admit(0)).toBe(false);
    expect(h.admit(1)).toBe(true);
  });

  it("ignores neutral tries (caller errors, client aborts, the caller's deadline)", () => {
    const h = targetHealth(`t-${crypto.randomUUID()}`, targets, settings, clockAt(0).now);
    for (const v of ['unhealthy', 'neutral', 'unhealthy', 'neutral', 'neutral'] as const)
      h.report(0, v);
    expect(h.admit(0)).toBe(true);
    h.report(0, 'unhealthy');
    expect(h.admit(0)).toBe(false);
  });

  it('after the cooling period lets exactly one probe through; its result closes or re-opens', () => {
    const clock = clockAt(5_000);
    const tenant = `t-${crypto.randomUUID()}`;
    const h = targetHealth(tenant, targets, settings, clock.now);
    for (let i = 0; i < 3; i++) h.report(0, 'unhealthy');
    expect(breakerStates(tenant, settings, clock.now)).toMatchObject([
      { model: 'model-a', model_id: 'm-a', state: 'open', consecutive_failures: 3 },
    ]);
    clock.advance(999);
    expect(h.admit(0)).toBe(false);
    clock.advance(1);
    expect(breakerStates(tenant, settings, clock.now)[0]!.state).toBe('half_open');
    expect(h.admit(0)).toBe(true);
    expect(h.admit(0)).toBe(false); // the probe is in flight
    h.report(0, 'unhealthy');
    expect(h.admit(0)).toBe(false); // open again, for a fresh cooling period
    clock.advance(1000);
    expect(h.admit(0)).toBe(true);
    h.report(0, 'healthy');
    expect(h.admit(0)).toBe(true);
    expect(h.admit(0)).toBe(true);
    expect(breakerStates(tenant, settings, clock.now)).toEqual([]);
  });

  it('a neutral probe frees the probe slot without deciding', () => {
    const clock = clockAt(0);
    const h = targetHealth(`t-${crypto.randomUUID()}`, targets, settings, clock.now);
    for (let i = 0; i < 3; i++) h.report(0, 'unhealthy');
    clock.advance(1000);
    expect(h.admit(0)).toBe(true);
    h.report(0, 'neutral');
    expect(h.admit(0)).toBe(true);
  });

  it('a probe that never reports frees its slot after one more cooling period', () => {
    // its request was torn down before report() ran (a cancelled stream, a killed isolate task)
    const clock = clockAt(0);
    const h = targetHealth(`t-${crypto.randomUUID()}`, targets, settings, clock.now);
    for (let i = 0; i < 3; i++) h.report(0, 'unhealthy');
    clock.advance(1000);
    expect(h.admit(0)).toBe(true);
    clock.advance(999);
    expect(h.admit(0)).toBe(false);
    clock.advance(1);
    expect(h.admit(0)).toBe(true);
    expect(h.admit(0)).toBe(false);
  });

  it("keys state by tenant: one tenant's failures never eject another tenant's target", () => {
    const clock = clockAt(0);
    const a = `t-${crypto.randomUUID()}`;
    const b = `t-${crypto.randomUUID()}`;
    const ha = targetHealth(a, targets, settings, clock.now);
    for (let i = 0; i < 3; i++) ha.report(0, 'unhealthy');
    expect(ha.admit(0)).toBe(false);
    expect(targetHealth(b, targets, settings, clock.now).admit(0)).toBe(true);
    expect(breakerStates(b, settings, clock.now)).toEqual([]);
  });
});

describe('which tries count against a target', () => {
  it.each<[FailureReason, number, string]>([
    ['http_500', 500, 'unhealthy'],
    ['http_503', 503, 'unhealthy'],
    ['timeout', 0, 'unhealthy'],
    ['connect', 0, 'unhealthy'],
    ['empty_stream', 200, 'unhealthy'],
    ['not_sse', 200, 'unhealthy'],
    ['bad_response', 200, 'unhealthy'],
    ['ai_error', 0, 'unhealthy'],
    ['http_400', 400, 'neutral'],
    ['http_429', 429, 'neutral'],
    ['client_abort', 0, 'neutral'],
    ['deadline', 0, 'neutral'],
    ['no_base_url', 0, 'neutral'],
    ['circuit_open', 0, 'neutral'],
  ])('%s is %s', (reason, status, verdict) => {
    expect(verdictOf({ target: 'x', status, ok: false, reason, ms: 1 })).toBe(
      verdict === 'unhealthy' ? 'unhealthy' : 'neutral',
    );
  });

  it('an answer is healthy', () => {
    expect(verdictOf({ target: 'x', status: 200, ok: true, ms: 1 })).toBe('healthy');
  });
});

describe('the breaker through /v1/chat/completions', () => {
  const tag = crypto.randomUUID().slice(0, 8);
  const env = { BREAKER_FAILURES: '2', BREAKER_COOLDOWN_MS: '1000' };
  const messages = [{ role: 'user', content: 'What is the capital of France?' }];
  const body = (pool: string) => ({ model: `router/${pool}`, messages, router: { preference: 0 } });
  let a: { tenantId: string; key: string };
  let b: { tenantId: string; key: string };
  let flaky: { names: Record<string, string>; ids: Record<string, string> };

  beforeAll(async () => {
    await seedBundle('test-v1');
    a = await seedTenant('flaky');
    b = await seedTenant('flaky');
    // global rows: both tenants route to the very same models
    flaky = await fakePool(
      a.tenantId,
      'flaky',
      { 'test-tiny': `recover-${tag}`, 'test-large': `ok-flaky-large-${tag}` },
      { global: true },
    );
    await sharePool(b.tenantId, 'flaky', Object.values(flaky.ids));
  });

  const detail = async (key: string) => {
    const res = await call('/healthz?detail=1', { key, env });
    expect(res.status).toBe(200);
    return res.json<{
      status: string;
      circuit_breakers: {
        scope: string;
        failure_threshold: number;
        cooldown_ms: number;
        targets: Array<Record<string, unknown>>;
      };
    }>();
  };

  it('opens after BREAKER_FAILURES failed tries, then skips the target without a network call', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await call('/v1/chat/completions', { key: a.key, body: body('flaky'), env });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-router-model')).toBe(flaky.names['test-large']);
      expect(res.headers.get('x-router-fallback')).toMatch(
        new RegExp(`^${flaky.names['test-tiny']}=http_503;ms=\\d+$`),
      );
    }
    expect(await received(`recover-${tag}`)).toHaveLength(2);
    const skipped = await call('/v1/chat/completions', { key: a.key, body: body('flaky'), env });
    expect(skipped.status).toBe(200);
    expect(skipped.headers.get('x-router-fallback')).toBe(
      `${flaky.names['test-tiny']}=circuit_open;ms=0`,
    );
    expect(skipped.headers.get('x-router-attempts')).toBe('1');
    expect(await received(`recover-${tag}`)).toHaveLength(2);

    const mine = await detail(a.key);
    expect(mine.circuit_breakers).toMatchObject({
      scope: 'isolate',
      failure_threshold: 2,
      cooldown_ms: 1000,
    });
    expect(mine.circuit_breakers.targets).toEqual([
      expect.objectContaining({
        model: flaky.names['test-tiny'],
        model_id: flaky.ids['test-tiny'],
        state: 'open',
        consecutive_failures: 2,
        last_failure: 'http_503',
      }),
    ]);
  });

  it("keeps the other tenant's breaker closed for the same model, and shows it nothing of the first", async () => {
    const res = await call('/v1/chat/completions', { key: b.key, body: body('flaky'), env });
    expect(res.headers.get('x-router-fallback')).toMatch(/=http_503;ms=\d+$/);
    expect(await received(`recover-${tag}`)).toHaveLength(3);
    const theirs = await detail(b.key);
    expect(theirs.circuit_breakers.targets).toEqual([
      expect.objectContaining({
        model_id: flaky.ids['test-tiny'],
        state: 'closed',
        consecutive_failures: 1,
      }),
    ]);
  });

  it('after the cooling period one probe goes through; a healthy answer closes the breaker', async () => {
    await new Promise((r) => setTimeout(r, 1050));
    expect((await detail(a.key)).circuit_breakers.targets[0]).toMatchObject({ state: 'half_open' });
    await fetch(`${inject('fakeProvidersUrl')}/__release?model=recover-${tag}`, { method: 'POST' });
    const probe = await call('/v1/chat/completions', { key: a.key, body: body('flaky'), env });
    expect(probe.status).toBe(200);
    expect(probe.headers.get('x-router-model')).toBe(flaky.names['test-tiny']);
    expect(probe.headers.get('x-router-fallback')).toBe('none');
    expect((await detail(a.key)).circuit_breakers.targets).toEqual([]);
  });

  it('a failed probe opens it again at once', async () => {
    const t = await seedTenant('down');
    const { names } = await fakePool(t.tenantId, 'down', {
      'test-tiny': `status-503-probe-${tag}`,
      'test-large': `ok-probe-large-${tag}`,
    });
    for (let i = 0; i < 2; i++)
      await call('/v1/chat/completions', { key: t.key, body: body('down'), env });
    await new Promise((r) => setTimeout(r, 1050));
    const probe = await call('/v1/chat/completions', { key: t.key, body: body('down'), env });
    expect(probe.headers.get('x-router-fallback')).toMatch(
      new RegExp(`^${names['test-tiny']}=http_503;ms=\\d+$`),
    );
    const after = await call('/v1/chat/completions', { key: t.key, body: body('down'), env });
    expect(after.headers.get('x-router-fallback')).toBe(`${names['test-tiny']}=circuit_open;ms=0`);
    expect(await received(`status-503-probe-${tag}`)).toHaveLength(3);
  });

  it('when every candidate is open it still tries the best one rather than refuse', async () => {
    const t = await seedTenant('dead');
    const { names } = await fakePool(t.tenantId, 'dead', {
      'test-tiny': `status-500-dead-${tag}`,
      'test-large': `status-502-dead-${tag}`,
    });
    for (let i = 0; i < 2; i++)
      expect(
        (await call('/v1/chat/completions', { key: t.key, body: body('dead'), env })).status,
      ).toBe(502);
    const res = await call('/v1/chat/completions', { key: t.key, body: body('dead'), env });
    expect(res.status).toBe(502);
    expect(res.headers.get('x-router-fallback')).toMatch(
      new RegExp(
        `^${names['test-tiny']}=circuit_open;ms=0, ${names['test-large']}=circuit_open;ms=0, ${names['test-tiny']}=http_500;ms=\\d+$`,
      ),
    );
    expect(res.headers.get('x-router-attempts')).toBe('1');
    expect(await received(`status-500-dead-${tag}`)).toHaveLength(3);
    expect(await received(`status-502-dead-${tag}`)).toHaveLength(2);
  });
});

describe('/healthz?detail=1', () => {
  it('needs a valid tenant key (401 otherwise); plain /healthz stays public and unchanged', async () => {
    const none = await call('/healthz?detail=1');
    expect(none.status).toBe(401);
    expect((await none.json<{ error: { code: string } }>()).error.code).toBe('missing_api_key');
    const wrong = await call('/healthz?detail=1', { key: 'sk-not-a-key' });
    expect(wrong.status).toBe(401);
    const plain = await call('/healthz');
    expect(plain.status).toBe(200);
    // plain /healthz: no breaker detail (its `degraded` section holds no tenant data, docs/worker.md)
    expect(Object.keys(await plain.json<Record<string, unknown>>()).sort()).toEqual([
      'bundles_loaded',
      'default_bundle',
      'degraded',
      'status',
    ]);
  });
});
