// Upstream faults seen through /v1/chat/completions: what the caller gets (status, headers) and what
// the decision row says (ok, upstream_error, stream_cut, client_closed), the request deadline and its
// header, and a client that hangs up (through SELF, the worker's real fetch path, where workerd
// aborts request.signal when the caller goes away).
import { SELF } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, callNoWait } from '../support/call';
import { seedBundle, seedTenant } from '../support/seed';
import { dataEvents, received, within } from './support/helpers';
import { decisionRow, fakePool, waitForRow } from './support/pools';

const messages = [{ role: 'user', content: 'Name three prime numbers.' }];
const tag = crypto.randomUUID().slice(0, 8);
let key: string;
let tenantId: string;
let pools: Record<string, Record<string, string>>;

beforeAll(async () => {
  await seedBundle('test-v1');
  ({ tenantId, key } = await seedTenant('limited'));
  pools = {
    limited: (
      await fakePool(tenantId, 'limited', {
        'test-tiny': `status-429-ra9-${tag}`,
        'test-large': `status-429-ra4-${tag}`,
      })
    ).names,
    down: (
      await fakePool(tenantId, 'down', {
        'test-tiny': `status-503-down-${tag}`,
        'test-large': `status-502-down-${tag}`,
      })
    ).names,
    cut: (
      await fakePool(tenantId, 'cut', {
        'test-tiny': `cutline-${tag}`,
        'test-large': `ok-not-after-cut-${tag}`,
      })
    ).names,
    fine: (
      await fakePool(tenantId, 'fine', {
        'test-tiny': `ok-fine-${tag}`,
        'test-large': `ok-fine-large-${tag}`,
      })
    ).names,
    slow: (
      await fakePool(tenantId, 'slow', {
        'test-tiny': `hang-slow-${tag}`,
        'test-large': `ok-after-slow-${tag}`,
      })
    ).names,
  };
});

const routed = (pool: string, extra: Record<string, unknown> = {}) => ({
  model: `router/${pool}`,
  messages,
  router: { preference: 0 },
  ...extra,
});

describe('when no model answered', () => {
  it('keeps the smallest upstream Retry-After on the 429, names no served model, logs upstream_error', async () => {
    const res = await call('/v1/chat/completions', { key, body: routed('limited') });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('4');
    expect(res.headers.get('x-router-model')).toBeNull();
    expect(res.headers.get('x-router-expected-cost-usd')).toBeNull();
    expect(res.headers.get('x-router-choice')).toBe(pools.limited!['test-tiny']);
    expect(res.headers.get('x-router-attempts')).toBe('2');
    const row = await decisionRow(res.headers.get('x-router-decision-id'));
    expect(row).toMatchObject({ status: 'upstream_error', model: pools.limited!['test-tiny'] });
  });

  it('names no model on a 502 either', async () => {
    const res = await call('/v1/chat/completions', { key, body: routed('down') });
    expect(res.status).toBe(502);
    expect(res.headers.get('x-router-model')).toBeNull();
    expect((await decisionRow(res.headers.get('x-router-decision-id')))!.status).toBe(
      'upstream_error',
    );
  });

  it('a concrete model that failed is not named as the one that answered', async () => {
    const res = await call('/v1/chat/completions', {
      key,
      body: { model: pools.down!['test-tiny'], messages },
    });
    expect(res.status).toBe(502);
    expect(res.headers.get('x-router-model')).toBeNull();
    expect(res.headers.get('x-router-pool')).toBe('none');
    expect((await decisionRow(res.headers.get('x-router-decision-id')))!.status).toBe(
      'upstream_error',
    );
  });
});

describe('streams', () => {
  it('logs stream_cut once a stream broke after it started, and ok for one that ended properly', async () => {
    const cut = await callNoWait('/v1/chat/completions', {
      key,
      body: routed('cut', { stream: true }),
    });
    expect(cut.response.status).toBe(200);
    expect(cut.response.headers.get('x-router-model')).toBe(pools.cut!['test-tiny']);
    const events = dataEvents(await within(cut.response.text(), 3000, 'cut stream'));
    expect(events.at(-2)).toMatchObject({ error: { type: 'upstream_error' } });
    await cut.settled;
    expect((await decisionRow(cut.response.headers.get('x-router-decision-id')))!.status).toBe(
      'stream_cut',
    );

    const fine = await callNoWait('/v1/chat/completions', {
      key,
      body: routed('fine', { stream: true }),
    });
    expect(dataEvents(await fine.response.text()).at(-1)).toBe('[DONE]');
    await fine.settled;
    expect((await decisionRow(fine.response.headers.get('x-router-decision-id')))!.status).toBe(
      'ok',
    );
  });
});

describe('the request deadline', () => {
  it('x-router-timeout-ms lowers it: the hung first choice runs out of time and nothing else is called', async () => {
    const res = await call('/v1/chat/completions', {
      key,
      body: routed('slow'),
      headers: { 'x-router-timeout-ms': '300' },
    });
    expect(res.status).toBe(504);
    expect((await res.json<{ error: { code: string } }>()).error.code).toBe('deadline_exceeded');
    expect(res.headers.get('x-router-fallback')).toMatch(
      new RegExp(`^${pools.slow!['test-tiny']}=deadline;ms=\\d+$`),
    );
    expect(await received(`ok-after-slow-${tag}`)).toHaveLength(0);
  });

  it('the header can only lower REQUEST_DEADLINE_MS, never raise it', async () => {
    const res = await call('/v1/chat/completions', {
      key,
      body: routed('slow'),
      headers: { 'x-router-timeout-ms': '600000' },
      env: { REQUEST_DEADLINE_MS: '300' },
    });
    expect(res.status).toBe(504);
    expect(await received(`ok-after-slow-${tag}`)).toHaveLength(0);
  });

  it.each(['abc', '0', '-5', '1.5', ''])(
    'rejects x-router-timeout-ms %j with a 400',
    async (value) => {
      const res = await call('/v1/chat/completions', {
        key,
        body: routed('fine'),
        headers: { 'x-router-timeout-ms': value },
      });
      expect(res.status).toBe(400);
      expect((await res.json<{ error: unknown }>()).error).toMatchObject({
        type: 'invalid_request_error',
        code: 'invalid_timeout',
        param: 'x-router-timeout-ms',
      });
    },
  );
});

describe('a client that hangs up', () => {
  it('before the answer: the hung upstream call is aborted, no fallback is paid for, the row says client_closed', async () => {
    const t = await seedTenant('gone');
    const { names } = await fakePool(t.tenantId, 'gone', {
      'test-tiny': `hang-gone-${tag}`,
      'test-large': `ok-after-gone-${tag}`,
    });
    const client = new AbortController();
    const pending = SELF.fetch('http://router.test/v1/chat/completions', {
      method: 'POST',
      signal: client.signal,
      headers: { authorization: `Bearer ${t.key}`, 'content-type': 'application/json' },
      body: JSON.stringify(routed('gone')),
    });
    // abort once the router is waiting on the hung upstream
    for (let i = 0; i < 100 && (await received(`hang-gone-${tag}`)).length === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    client.abort();
    await expect(pending).rejects.toThrow();
    const row = await waitForRow(t.tenantId);
    expect(row.status).toBe('client_closed');
    expect(JSON.parse(row.attempts)).toMatchObject([
      { target: names['test-tiny'], ok: false, reason: 'client_abort' },
    ]);
    const hung = await received(`hang-gone-${tag}`);
    expect(hung).toHaveLength(1);
    expect(hung[0]!.closedEarly).toBe(true);
    expect(await received(`ok-after-gone-${tag}`)).toHaveLength(0);
  });

  it('during a stream: the upstream read is cancelled and the row says client_closed', async () => {
    const t = await seedTenant('gated');
    await fakePool(t.tenantId, 'gated', { 'test-tiny': `ok-gated-gone-${tag}` });
    const res = await SELF.fetch('http://router.test/v1/chat/completions', {
      method: 'POST',
      headers: { authorization: `Bearer ${t.key}`, 'content-type': 'application/json' },
      body: JSON.stringify(routed('gated', { stream: true })),
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await within(reader.read(), 3000, 'first chunk');
    expect(new TextDecoder().decode(first.value)).toContain('Hello');
    await reader.cancel();
    const row = await waitForRow(t.tenantId);
    expect(row.status).toBe('client_closed');
    for (let i = 0; i < 100 && !(await received(`ok-gated-gone-${tag}`))[0]?.closedEarly; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect((await received(`ok-gated-gone-${tag}`))[0]!.closedEarly).toBe(true);
  });
});
