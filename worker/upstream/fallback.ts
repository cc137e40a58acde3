import type { ChatRequest, FallbackOptions, FallbackResult, UpstreamTarget, Attempt, WorkersAiBinding } from '../providers/types';
import { errorResponse, openAIError } from '../providers/errors';
import { exhaustedStatus } from './classify';
import { globalFetch, tryTarget } from './attempt';

/**
 * Calls the targets in order (best first) until one answers, trying at most `maxTries` of them.
 * A target that fails before its first byte (connection error, timeout, 408/429/5xx, or a
 * misconfigured target: 401/403/404, no binding, no base URL) hands over to the next; a request
 * the upstream rejects as invalid (other 4xx) goes straight back to the caller as an OpenAI-style
 * error. When no target answers, the response is an OpenAI-style error listing every try.
 *
 * `result.response` has mutable headers: the caller adds its `x-router-*` headers to it
 * (see `attemptHeaders` in ./headers).
 *
 * @example
 * const { response, used, attempts } = await callWithFallback(targets, req, { timeoutMs: 15000, maxTries: 3, ai: env.AI });
 * for (const [k, v] of Object.entries(attemptHeaders(attempts))) response.headers.set(k, v);
 */
export async function callWithFallback(targets: UpstreamTarget[], req: ChatRequest, opts: FallbackOptions): Promise<FallbackResult> {
  const attempts: Attempt[] = [];
  const failures: string[] = [];
  const tries = Math.min(Math.max(1, Math.floor(opts.maxTries)), targets.length);
  const attemptOpts = {
    timeoutMs: opts.timeoutMs,
    completionTimeoutMs: opts.completionTimeoutMs ?? opts.timeoutMs,
    idleTimeoutMs: opts.idleTimeoutMs ?? opts.timeoutMs,
    fetch: opts.fetch ?? globalFetch,
    // The real binding satisfies the narrow shape at run time; its generated type overloads `run` per model.
    ai: opts.ai as WorkersAiBinding | undefined,
    signal: opts.signal,
  };

  for (let i = 0; i < tries; i++) {
    const target = targets[i];
    if (!target) break;
    if (opts.signal?.aborted) break;
    const out = await tryTarget(target, req, attemptOpts);
    attempts.push(out.attempt);
    if (out.kind !== 'failed') return { response: out.response, used: i, attempts };
    failures.push(`${target.name}: ${out.attempt.reason ?? 'failed'} (${out.message})`);
  }

  const status = exhaustedStatus(attempts.map((a) => a.reason ?? ''));
  const message =
    attempts.length === 0
      ? 'no upstream target to call'
      : `no upstream answered after ${attempts.length} ${attempts.length === 1 ? 'try' : 'tries'}: ${failures.join('; ')}`;
  const code = attempts.length === 0 ? 'no_candidates' : 'upstream_unavailable';
  return { response: errorResponse(status, openAIError(message, 'upstream_error', code)), used: -1, attempts };
}

export { attemptHeaders } from './headers';
