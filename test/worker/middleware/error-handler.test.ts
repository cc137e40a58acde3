// One error model: every domain error carries its status, code, param and headers, and the error
// handler renders them all the same way; what is not a domain error is a 500 without details.
import { HTTPException } from 'hono/http-exception';
import { describe, expect, it } from 'vitest';
import { DatabaseUnavailableError } from '../../../worker/data/d1-fault';
import { DecisionInputError } from '../../../worker/decision';
import { ApiError, errorBody } from '../../../worker/errors';
import { toApiError } from '../../../worker/middleware/error-handler';
import { BundleUnavailableError } from '../../../worker/runtime/bundle-loader';
import { noAnswerError } from '../../../worker/upstream/no-answer';

async function rendered(
  err: unknown,
): Promise<{ status: number; headers: Headers; body: unknown }> {
  const res = toApiError(err).getResponse();
  return { status: res.status, headers: res.headers, body: await res.json() };
}

describe('toApiError + getResponse', () => {
  it('renders each domain error with its own status, type, code and param', async () => {
    const cases: [unknown, number, ReturnType<typeof errorBody>][] = [
      [
        new BundleUnavailableError('v9', 'not found'),
        503,
        errorBody('bundle v9: not found', 'service_unavailable', 'bundle_unavailable'),
      ],
      [
        new DecisionInputError('input 0: no candidates'),
        400,
        errorBody('input 0: no candidates', 'invalid_request_error', 'invalid_routing_input'),
      ],
      [
        new ApiError(404, 'gone', { code: 'model_not_found', param: 'id' }),
        404,
        errorBody('gone', 'not_found_error', 'model_not_found', 'id'),
      ],
      [
        new ApiError(502, 'down', { code: 'quiz_upstream_failed' }),
        502,
        errorBody('down', 'server_error', 'quiz_upstream_failed'),
      ],
    ];
    for (const [err, status, body] of cases) {
      expect(await rendered(err)).toMatchObject({ status, body });
    }
  });

  it('answers a raw D1 fault with 503 database_unavailable + Retry-After, no detail', async () => {
    const r = await rendered(new Error('D1_ERROR: no such table: pools: SQLITE_ERROR'));
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('5');
    expect(r.body).toEqual(
      errorBody(
        "the router's configuration database is unavailable; retry shortly",
        'service_unavailable',
        'database_unavailable',
      ),
    );
    expect(toApiError(new Error('D1_ERROR: database is locked'))).toBeInstanceOf(
      DatabaseUnavailableError,
    );
  });

  it('keeps the headers an error carries (a 429: the smallest upstream Retry-After)', async () => {
    const attempts = [
      { target: 'a', status: 429, ok: false as const, reason: 'http_429' as const, ms: 3 },
      { target: 'b', status: 429, ok: false as const, reason: 'http_429' as const, ms: 4 },
    ];
    const err = noAnswerError({
      attempts,
      failures: ['a: http_429', 'b: http_429'],
      retryAfterS: [7, 3],
      stopped: null,
    });
    const r = await rendered(err.withHeaders({ 'x-router-attempts': '2' }));
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('3');
    expect(r.headers.get('x-router-attempts')).toBe('2');
    expect(r.body).toMatchObject({
      error: { type: 'rate_limit_error', code: 'upstream_rate_limited', param: null },
    });
  });

  it('answers anything else as a bare 500 (no message of the bug leaks)', async () => {
    const r = await rendered(new TypeError('secret internals at line 3'));
    expect(r).toMatchObject({
      status: 500,
      body: errorBody('internal error', 'server_error', 'internal_error'),
    });
    expect((await rendered(new HTTPException(413))).body).toMatchObject({
      error: { code: 'body_too_large' },
    });
  });
});
