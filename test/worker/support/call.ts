// Calls the worker in-process with an explicit env and execution context, so tests can swap
// bindings (a fake AI) and wait for `ctx.waitUntil` work (the decision log) to finish.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import worker from '../../../worker/index';
import type { Env } from '../../../worker/env';
import { testEnv } from './seed';

export interface CallOptions {
  key?: string;
  body?: unknown;
  /** Sent as is instead of JSON.stringify(body). */
  rawBody?: string;
  headers?: Record<string, string>;
  env?: Partial<Env>;
  method?: string;
}

/** Sends one request through the worker's fetch handler; resolves after waitUntil work settles. */
export async function call(path: string, opts: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  const hasBody = opts.rawBody !== undefined || opts.body !== undefined;
  if (hasBody) headers['content-type'] ??= 'application/json';
  const request = new Request(`http://router.test${path}`, {
    method: opts.method ?? (hasBody ? 'POST' : 'GET'),
    headers,
    ...(hasBody ? { body: opts.rawBody ?? JSON.stringify(opts.body) } : {}),
  });
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    request as Request<unknown, IncomingRequestCfProperties>,
    { ...testEnv, ...opts.env } as Env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return response;
}

/** Sends a request and returns the response without waiting for waitUntil work (streaming tests). */
export async function callNoWait(
  path: string,
  opts: CallOptions = {},
): Promise<{ response: Response; settled: Promise<void> }> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...(opts.headers ?? {}),
  };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  const request = new Request(`http://router.test${path}`, {
    method: 'POST',
    headers,
    body: JSON.stringify(opts.body),
  });
  const ctx = createExecutionContext();
  const response = await worker.fetch(
    request as Request<unknown, IncomingRequestCfProperties>,
    { ...testEnv, ...opts.env } as Env,
    ctx,
  );
  return { response, settled: waitOnExecutionContext(ctx) };
}
