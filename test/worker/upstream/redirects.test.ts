// An upstream that answers with a redirect: a granted host could otherwise send the router, with the
// tenant's key in its headers (and, on 307/308, the prompt in its body), to a host that was never
// granted. Through the real callWithFallback and provider adapters against the loopback fakes: a
// `redirect-NNN-...` model answers NNN pointing at the redirect sink, another loopback port that
// answers every request with a completion and records what it got. The sink must receive nothing.
import { describe, expect, it } from 'vitest';
import { callWithFallback } from '../../../worker/upstream/fallback';
import type { ProviderKind } from '../../../worker/providers/types';
import { chat, contentOf, dataEvents, fakeTarget, received, sinkHits } from './support/helpers';

const opts = { timeoutMs: 1500, maxTries: 3 };

type ErrorBody = {
  error: { message: string; type: string; param: string | null; code: string | null };
};

describe('an upstream that redirects', () => {
  it.each<[ProviderKind, number]>([
    ['openai', 301],
    ['openai', 302],
    ['openai', 303],
    ['openai', 307],
    ['openai', 308],
    ['anthropic', 302],
    ['anthropic', 307],
  ])(
    '%s %i: is not followed; the try fails as `redirect` and the next target answers',
    async (provider, code) => {
      const model = `redirect-${code}-${provider}-1`;
      const r = await callWithFallback(
        [fakeTarget(provider, model), fakeTarget('openai', `ok-after-${model}`)],
        chat(),
        opts,
      );
      expect(r.used).toBe(1);
      expect(r.attempts[0]).toMatchObject({
        target: model,
        status: code,
        ok: false,
        reason: 'redirect',
      });
      expect(((await r.response.json()) as { model: string }).model).toBe(`ok-after-${model}`);
      expect(await received(model)).toHaveLength(1);
      expect(await sinkHits(model)).toEqual([]);
    },
  );

  it('is not followed for a streamed request either', async () => {
    const model = 'redirect-307-stream-1';
    const r = await callWithFallback(
      [fakeTarget('openai', model), fakeTarget('openai', `ok-after-${model}`)],
      chat({ stream: true }),
      opts,
    );
    expect(r.used).toBe(1);
    expect(r.attempts[0]).toMatchObject({
      target: model,
      status: 307,
      ok: false,
      reason: 'redirect',
    });
    expect(contentOf(dataEvents(await r.response.text()))).toBe('Hello from the fake');
    expect(await sinkHits(model)).toEqual([]);
  });

  it('ends in a clean 502 when every target redirects, without naming where it pointed', async () => {
    const models = ['redirect-302-all-1', 'redirect-308-all-2'];
    const r = await callWithFallback(
      models.map((m) => fakeTarget('openai', m)),
      chat(),
      opts,
    );
    expect(r.response.status).toBe(502);
    expect(r.used).toBe(-1);
    expect(r.attempts.map((a) => a.reason)).toEqual(['redirect', 'redirect']);
    const body = (await r.response.json()) as ErrorBody;
    expect(body.error).toMatchObject({ type: 'upstream_error', code: 'upstream_unavailable' });
    expect(body.error.message).toMatch(/redirect/);
    expect(body.error.message).not.toMatch(/__sink|location|127\.0\.0\.1/i);
    for (const m of models) expect(await sinkHits(m)).toEqual([]);
  });
});
