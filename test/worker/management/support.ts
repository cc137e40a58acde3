// Helpers of the management API tests: calls as the operator or a tenant, and reading errors.
import { call, type CallOptions } from '../support/call';

/** The operator token the tests set (OPERATOR_TOKEN is a secret, so wrangler.toml has none). */
export const OPERATOR_TOKEN = 'op-test-0123456789abcdef0123456789abcdef';

export interface Answer {
  status: number;
  json: Record<string, unknown>;
  headers: Headers;
}

/** One request; `token` is the bearer (operator token or tenant key), `env` may drop the secret. */
export async function send(
  method: string,
  path: string,
  opts: { token?: string | null; body?: unknown; env?: CallOptions['env'] } = {},
): Promise<Answer> {
  const res = await call(path, {
    method,
    ...(opts.token ? { key: opts.token } : {}),
    ...(opts.body !== undefined ? { body: opts.body } : {}),
    env: { OPERATOR_TOKEN, ...opts.env },
  });
  const text = await res.text();
  return {
    status: res.status,
    json: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    headers: res.headers,
  };
}

/** As the operator. */
export const op = (method: string, path: string, body?: unknown): Promise<Answer> =>
  send(method, path, { token: OPERATOR_TOKEN, body });

/** As a tenant (its key). */
export const as = (key: string, method: string, path: string, body?: unknown): Promise<Answer> =>
  send(method, path, { token: key, body });

/** The `error` object of an error answer. */
export function errorOf(a: Answer): {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
} {
  return a.json.error as {
    message: string;
    type: string;
    param: string | null;
    code: string | null;
  };
}

let n = 0;
/** A fresh id for this test run (tests share one D1). */
export const fresh = (p: string): string => `${p}-${++n}-${crypto.randomUUID().slice(0, 8)}`;
