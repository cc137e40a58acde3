// One test per upstream fault class, through the real callWithFallback and provider adapters against
// the loopback fakes: 429 with Retry-After, a reset before any byte, a stream cut in the middle of a
// line, a 200 that is no event stream, the request deadline, and error bodies that must not be
// relayed raw (hang, 5xx and client abort: fallback.test.ts).
import { describe, expect, it } from 'vitest';
import { callWithFallback } from '../../../worker/upstream/fallback';
import type { ProviderKind } from '../../../worker/providers/types';
import { chat, contentOf, dataEvents, fakeTarget, received, within } from './support/helpers';
import { LEAKED_SECRET } from './support/leak';

const opts = { timeoutMs: 1500, maxTries: 3 };

type ErrorBody = {
  error: { message: string; type: string; param: string | null; code: string | null };
};

/** Every block of an SSE body is a complete event whose data a strict client (JSON.parse) accepts. */
function strictEvents(text: string): unknown[] {
  expect(text.endsWith('\n\n'), 'the body ends at an event boundary').toBe(true);
  return dataEvents(text);
}

describe('rate limits', () => {
  it('keeps the smallest upstream Retry-After when every try was rate limited', async () => {
    const targets = [
      fakeTarget('openai', 'status-429-ra7-r1'),
      fakeTarget('anthropic', 'status-429-ra3-r1'),
      fakeTarget('openai', 'status-429-ra5-r1'),
    ];
    const r = await callWithFallback(targets, chat(), opts);
    expect(r.response.status).toBe(429);
    expect(r.response.headers.get('retry-after')).toBe('3');
    expect(((await r.response.json()) as ErrorBody).error).toMatchObject({
      type: 'rate_limit_error',
      code: 'upstream_rate_limited',
    });
    expect(await r.settled).toBe('upstream_error');
  });

  it('sends no Retry-After when not every try was rate limited', async () => {
    const r = await callWithFallback(
      [fakeTarget('openai', 'status-429-ra2-r2'), fakeTarget('openai', 'status-503-r2')],
      chat(),
      opts,
    );
    expect(r.response.status).toBe(502);
    expect(r.response.headers.get('retry-after')).toBeNull();
  });
});

describe('connection reset before any byte', () => {
  it.each<[ProviderKind, string]>([
    ['openai', 'drop-o1'],
    ['anthropic', 'drop-a1'],
  ])('%s: moves on to the next target', async (provider, model) => {
    const r = await callWithFallback(
      [fakeTarget(provider, model), fakeTarget('openai', `ok-after-${model}`)],
      chat({ stream: true }),
      opts,
    );
    expect(r.used).toBe(1);
    expect(r.attempts[0]).toMatchObject({ target: model, status: 0, ok: false, reason: 'connect' });
    expect(contentOf(strictEvents(await r.response.text()))).toBe('Hello from the fake');
  });
});

describe('a stream cut in the middle of a line', () => {
  it.each<[ProviderKind, string]>([
    ['openai', 'cutline-o1'],
    ['openai', 'cuteof-o1'],
    ['anthropic', 'cutline-a1'],
    ['anthropic', 'cuteof-a1'],
  ])(
    '%s %s: the client gets only complete events, then one error event and [DONE]',
    async (provider, model) => {
      const r = await callWithFallback([fakeTarget(provider, model)], chat({ stream: true }), opts);
      expect(r.response.status).toBe(200);
      const events = strictEvents(await within(r.response.text(), 3000, 'cut stream'));
      expect(contentOf(events)).toBe('Hello');
      expect(events.at(-2)).toMatchObject({ error: { type: 'upstream_error', param: null } });
      expect(events.at(-1)).toBe('[DONE]');
      expect(events.filter((e) => (e as ErrorBody).error !== undefined)).toHaveLength(1);
      expect(await r.settled).toBe('stream_cut');
    },
  );

  it('reports a stream that ended properly as answered', async () => {
    const r = await callWithFallback(
      [fakeTarget('openai', 'ok-settled-1')],
      chat({ stream: true }),
      opts,
    );
    expect(strictEvents(await r.response.text()).at(-1)).toBe('[DONE]');
    expect(await r.settled).toBe('answered');
  });
});

describe('a 200 to a stream request that is not an event stream', () => {
  it.each([
    ['notsse-1', 'a whole JSON completion'],
    ['htmlsse-1', 'an HTML page sent as text/event-stream'],
  ])(
    '%s (%s) is a failed try: the next target answers before any byte reaches the client',
    async (model) => {
      const r = await callWithFallback(
        [fakeTarget('openai', model), fakeTarget('openai', `ok-after-${model}`)],
        chat({ stream: true }),
        opts,
      );
      expect(r.used).toBe(1);
      expect(r.attempts[0]).toMatchObject({
        target: model,
        status: 200,
        ok: false,
        reason: 'not_sse',
      });
      expect(r.response.headers.get('content-type')).toContain('text/event-stream');
      expect(contentOf(strictEvents(await r.response.text()))).toBe('Hello from the fake');
    },
  );

  it('answers 502 with a clean error when no target streams', async () => {
    const r = await callWithFallback(
      [fakeTarget('openai', 'notsse-2')],
      chat({ stream: true }),
      opts,
    );
    expect(r.response.status).toBe(502);
    expect(r.response.headers.get('content-type')).toContain('application/json');
    expect(((await r.response.json()) as ErrorBody).error).toMatchObject({
      type: 'upstream_error',
      code: 'upstream_unavailable',
    });
  });
});

describe('the request deadline', () => {
  it('cuts the try that runs into it and starts no try after it: 504 deadline_exceeded', async () => {
    const targets = ['hang-d1', 'hang-d2', 'ok-after-deadline-d'].map((m) =>
      fakeTarget('openai', m),
    );
    const r = await callWithFallback(targets, chat(), {
      timeoutMs: 5000,
      completionTimeoutMs: 5000,
      maxTries: 3,
      deadlineAt: Date.now() + 400,
    });
    expect(r.response.status).toBe(504);
    const body = (await r.response.json()) as ErrorBody;
    expect(body.error).toMatchObject({
      type: 'upstream_error',
      code: 'deadline_exceeded',
      param: null,
    });
    expect(r.attempts).toMatchObject([
      { target: 'hang-d1', status: 0, ok: false, reason: 'deadline' },
    ]);
    expect(await received('hang-d2')).toHaveLength(0);
    expect(await received('ok-after-deadline-d')).toHaveLength(0);
  });

  it('lets a try whose own budget is shorter time out as usual, and gives the next one the rest', async () => {
    const r = await callWithFallback(
      [fakeTarget('openai', 'hang-d3'), fakeTarget('openai', 'ok-after-d3')],
      chat(),
      { timeoutMs: 200, completionTimeoutMs: 200, maxTries: 2, deadlineAt: Date.now() + 5000 },
    );
    expect(r.used).toBe(1);
    expect(r.attempts.map((a) => a.reason ?? 'ok')).toEqual(['timeout', 'ok']);
  });

  it('bounds a stream only until its first byte', async () => {
    const r = await callWithFallback(
      [fakeTarget('openai', 'silent-d4'), fakeTarget('openai', 'ok-after-d4')],
      chat({ stream: true }),
      { timeoutMs: 5000, maxTries: 2, deadlineAt: Date.now() + 300 },
    );
    expect(r.response.status).toBe(504);
    expect(r.attempts).toMatchObject([{ target: 'silent-d4', reason: 'deadline' }]);
    expect(await received('ok-after-d4')).toHaveLength(0);
  });

  it('calls nobody once the deadline has passed', async () => {
    const r = await callWithFallback([fakeTarget('openai', 'ok-too-late-d5')], chat(), {
      ...opts,
      deadlineAt: Date.now() - 1,
    });
    expect(r.response.status).toBe(504);
    expect(r.attempts).toEqual([]);
    expect(await received('ok-too-late-d5')).toHaveLength(0);
  });
});

describe('upstream error bodies are mapped, never relayed', () => {
  it.each<[ProviderKind, string, number]>([
    ['openai', 'leak-400-json-e1', 400],
    ['openai', 'leak-422-html-e1', 422],
    ['anthropic', 'leak-400-json-e2', 400],
    ['anthropic', 'leak-413-html-e2', 413],
  ])(
    '%s %s: a caller error without a provider error object gets a generic message',
    async (provider, model, status) => {
      const r = await callWithFallback([fakeTarget(provider, model)], chat(), opts);
      expect(r.response.status).toBe(status);
      const text = await r.response.text();
      expect(text).not.toContain(LEAKED_SECRET);
      expect(JSON.parse(text)).toEqual({
        error: {
          message: `upstream answered HTTP ${status}`,
          type: 'invalid_request_error',
          param: null,
          code: `upstream_http_${status}`,
        },
      });
    },
  );

  it('keeps only the cleaned, capped message of a provider error (a useful one still arrives)', async () => {
    const r = await callWithFallback([fakeTarget('openai', 'noisy-400-e3')], chat(), opts);
    expect(r.response.status).toBe(400);
    const text = await r.response.text();
    expect(text).not.toContain(LEAKED_SECRET);
    const { error } = JSON.parse(text) as ErrorBody;
    expect(Object.keys(error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(error.message.startsWith('upstream: context length exceeded:')).toBe(true);
    expect(error.message).not.toMatch(/\p{Cc}/u);
    expect(error.message.length).toBeLessThanOrEqual(310);
    expect(error).toMatchObject({
      type: 'invalid_request_error',
      param: null,
      code: 'context_length_exceeded',
    });
  });

  it('lists failed tries without their bodies when no target answered', async () => {
    const r = await callWithFallback(
      [fakeTarget('openai', 'leak-503-json-e4'), fakeTarget('anthropic', 'leak-502-html-e4')],
      chat(),
      opts,
    );
    expect(r.response.status).toBe(502);
    const text = await r.response.text();
    expect(text).not.toContain(LEAKED_SECRET);
    expect(text).not.toContain('DATABASE_URL');
    expect((JSON.parse(text) as ErrorBody).error.message).toContain(
      'leak-503-json-e4: http_503 (upstream answered HTTP 503)',
    );
  });

  it('maps an error event inside a stream the same way', async () => {
    const r = await callWithFallback(
      [fakeTarget('openai', 'error-event-leak-e5')],
      chat({ stream: true }),
      opts,
    );
    const text = await within(r.response.text(), 3000, 'error-event stream');
    expect(text).not.toContain(LEAKED_SECRET);
    const events = strictEvents(text);
    expect(events.slice(1)).toEqual([
      {
        error: {
          message: 'upstream: provider overloaded',
          type: 'upstream_error',
          param: null,
          code: 'upstream_stream_error',
        },
      },
      '[DONE]',
    ]);
    expect(await r.settled).toBe('stream_cut');
  });
});
