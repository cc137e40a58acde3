import { describe, expect, inject, it } from 'vitest';
import { callWithFallback, attemptHeaders } from '../../../worker/upstream/fallback';
import type { UpstreamTarget } from '../../../worker/providers/types';
import { chat, contentOf, dataEvents, fakeTarget, received, within } from './support/helpers';

const opts = { timeoutMs: 1500, maxTries: 3 };

describe('callWithFallback: before the first byte', () => {
  it('uses the first target when it answers, and says no fallback happened', async () => {
    const r = await callWithFallback(
      [fakeTarget('openai', 'ok-first'), fakeTarget('openai', 'ok-never-asked')],
      chat(),
      opts,
    );
    expect(r.used).toBe(0);
    expect(r.response.status).toBe(200);
    expect(r.attempts).toMatchObject([{ target: 'ok-first', status: 200, ok: true }]);
    expect(attemptHeaders(r.attempts)).toEqual({
      'x-router-attempts': '1',
      'x-router-fallback': 'none',
    });
    expect(await received('ok-never-asked')).toHaveLength(0);
  });

  it.each([
    ['503', 'status-503-a', 503, 'http_503'],
    ['429', 'status-429-a', 429, 'http_429'],
    ['500', 'status-500-a', 500, 'http_500'],
  ])('falls back on %s', async (_, model, status, reason) => {
    const r = await callWithFallback(
      [fakeTarget('openai', model), fakeTarget('openai', `ok-after-${model}`)],
      chat(),
      opts,
    );
    expect(r.used).toBe(1);
    expect(r.response.status).toBe(200);
    expect(r.attempts).toMatchObject([
      { target: model, status, ok: false, reason },
      { target: `ok-after-${model}`, ok: true },
    ]);
    const h = attemptHeaders(r.attempts);
    expect(h['x-router-attempts']).toBe('2');
    expect(h['x-router-fallback']).toMatch(new RegExp(`^${model}=${reason};ms=\\d+$`));
    expect(((await r.response.json()) as { model: string }).model).toBe(`ok-after-${model}`);
  });

  // workerd logs its own "uncaught exception ... Network connection lost" for a refused fetch even
  // when the rejection is handled (a plain `fetch().catch()` logs it too); the test still checks it.
  it('falls back when the connection is refused', async () => {
    const dead: UpstreamTarget = {
      name: 'dead',
      provider: 'openai',
      upstreamModel: 'x',
      baseUrl: `${inject('refusedUrl')}/v1`,
    };
    const r = await callWithFallback(
      [dead, fakeTarget('openai', 'ok-after-refused')],
      chat(),
      opts,
    );
    expect(r.used).toBe(1);
    expect(r.attempts[0]).toMatchObject({
      target: 'dead',
      status: 0,
      ok: false,
      reason: 'connect',
    });
  });

  it('falls back when the upstream does not answer within the timeout', async () => {
    const t0 = Date.now();
    const r = await callWithFallback(
      [fakeTarget('openai', 'hang-1'), fakeTarget('openai', 'ok-after-hang')],
      chat(),
      { timeoutMs: 300, maxTries: 2 },
    );
    expect(r.used).toBe(1);
    expect(r.attempts[0]).toMatchObject({
      target: 'hang-1',
      status: 0,
      ok: false,
      reason: 'timeout',
    });
    expect(r.attempts[0]!.ms).toBeGreaterThanOrEqual(290);
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it('gives a non-streamed answer the completion budget, not the first-byte one', async () => {
    // slow-600 answers after 600 ms: past the 300 ms first-byte budget, inside the 1,500 ms completion one
    const r = await callWithFallback(
      [fakeTarget('openai', 'slow-600'), fakeTarget('openai', 'ok-not-after-slow')],
      chat(),
      { timeoutMs: 300, completionTimeoutMs: 1500, maxTries: 2 },
    );
    expect(r.used).toBe(0);
    expect(r.attempts[0]).toMatchObject({ target: 'slow-600', ok: true });
    expect(r.attempts[0]!.ms).toBeGreaterThanOrEqual(590);
    const late = await callWithFallback(
      [fakeTarget('openai', 'slow-600'), fakeTarget('openai', 'ok-after-slow')],
      chat(),
      { timeoutMs: 300, completionTimeoutMs: 300, maxTries: 2 },
    );
    expect(late.used).toBe(1);
    expect(late.attempts[0]).toMatchObject({ target: 'slow-600', ok: false, reason: 'timeout' });
  });

  it('falls back when a stream sends headers but no first byte in time', async () => {
    const r = await callWithFallback(
      [fakeTarget('openai', 'silent-1'), fakeTarget('openai', 'ok-after-silent')],
      chat({ stream: true }),
      { timeoutMs: 300, maxTries: 2 },
    );
    expect(r.used).toBe(1);
    expect(r.attempts[0]?.reason).toBe('timeout');
    expect(contentOf(dataEvents(await r.response.text()))).toBe('Hello from the fake');
  });

  it('does not fall back on 400: the caller gets the upstream error as an OpenAI error', async () => {
    const r = await callWithFallback(
      [fakeTarget('openai', 'status-400-a'), fakeTarget('openai', 'ok-not-after-400')],
      chat(),
      opts,
    );
    expect(r.used).toBe(0);
    expect(r.response.status).toBe(400);
    expect(await r.response.json()).toEqual({
      error: {
        message: 'upstream: fake upstream says 400',
        type: 'invalid_request_error',
        param: 'max_tokens',
        code: 'upstream_http_400',
      },
    });
    expect(r.attempts).toMatchObject([{ status: 400, ok: false, reason: 'http_400' }]);
    expect(await received('ok-not-after-400')).toHaveLength(0);
  });

  it('tries at most maxTries targets, then answers 502 with every try listed', async () => {
    const targets = ['status-503-b', 'status-500-b', 'status-502-b'].map((m) =>
      fakeTarget('openai', m),
    );
    const r = await callWithFallback(
      [...targets, fakeTarget('openai', 'ok-beyond-max')],
      chat(),
      opts,
    );
    expect(r.used).toBe(-1);
    expect(r.attempts).toHaveLength(3);
    expect(r.response.status).toBe(502);
    const body = (await r.response.json()) as {
      error: { message: string; type: string; code: string; param: null };
    };
    expect(body.error).toMatchObject({
      type: 'upstream_error',
      code: 'upstream_unavailable',
      param: null,
    });
    expect(body.error.message).toContain('status-503-b: http_503');
    expect(body.error.message).toContain('status-502-b: http_502');
    expect(await received('ok-beyond-max')).toHaveLength(0);
  });

  it('answers 429 when every try was rate limited, 504 when the last one timed out', async () => {
    const limited = await callWithFallback(
      [fakeTarget('openai', 'status-429-c'), fakeTarget('anthropic', 'status-429-d')],
      chat(),
      opts,
    );
    expect(limited.response.status).toBe(429);
    const timedOut = await callWithFallback(
      [fakeTarget('openai', 'status-503-e'), fakeTarget('openai', 'hang-e')],
      chat(),
      { timeoutMs: 200, maxTries: 2 },
    );
    expect(timedOut.response.status).toBe(504);
    expect(timedOut.attempts.map((a) => a.reason)).toEqual(['http_503', 'timeout']);
  });

  it('answers 503 no_candidates for an empty target list', async () => {
    const r = await callWithFallback([], chat(), opts);
    expect(r.response.status).toBe(503);
    expect(((await r.response.json()) as { error: { code: string } }).error.code).toBe(
      'no_candidates',
    );
  });

  it('stops trying once the client went away', async () => {
    const client = new AbortController();
    const pending = callWithFallback(
      [fakeTarget('openai', 'hang-client'), fakeTarget('openai', 'ok-after-client-abort')],
      chat(),
      { timeoutMs: 5000, maxTries: 2, signal: client.signal },
    );
    setTimeout(() => client.abort(), 100);
    const r = await within(pending, 2000, 'abort');
    expect(r.attempts).toMatchObject([{ ok: false, reason: 'client_abort' }]);
    expect(await received('ok-after-client-abort')).toHaveLength(0);
  });
});

describe('callWithFallback: after streaming began', () => {
  it('ends the stream with an error event and [DONE] when the upstream connection breaks', async () => {
    const r = await callWithFallback(
      [fakeTarget('openai', 'reset-1'), fakeTarget('openai', 'ok-not-after-reset')],
      chat({ stream: true }),
      opts,
    );
    expect(r.used).toBe(0);
    const events = dataEvents(await within(r.response.text(), 3000, 'reset stream'));
    expect(contentOf(events)).toBe('Hello');
    expect(events.at(-1)).toBe('[DONE]');
    expect(events.at(-2)).toMatchObject({ error: { type: 'upstream_error' } });
    expect(await received('ok-not-after-reset')).toHaveLength(0);
  });

  it('ends a stalled stream after the idle timeout instead of hanging', async () => {
    const t0 = Date.now();
    const r = await callWithFallback([fakeTarget('openai', 'stall-1')], chat({ stream: true }), {
      timeoutMs: 2000,
      maxTries: 1,
      idleTimeoutMs: 300,
    });
    expect(r.response.status).toBe(200);
    const events = dataEvents(await within(r.response.text(), 3000, 'stalled stream'));
    expect(contentOf(events)).toBe('Hello');
    expect(events.at(-2)).toMatchObject({
      error: { code: 'upstream_stalled', type: 'upstream_error' },
    });
    expect(events.at(-1)).toBe('[DONE]');
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

describe('attemptHeaders', () => {
  it('lists the failed tries before the one that answered and keeps separators out of names', () => {
    const h = attemptHeaders([
      { target: 'a,b', status: 0, ok: false, reason: 'timeout', ms: 300.4 },
      { target: 'c', status: 429, ok: false, reason: 'http_429', ms: 5 },
      { target: 'd', status: 200, ok: true, ms: 40 },
    ]);
    expect(h).toEqual({
      'x-router-attempts': '3',
      'x-router-fallback': 'a_b=timeout;ms=300, c=http_429;ms=5',
    });
  });
});
