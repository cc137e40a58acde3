/**
 * Numeric settings from wrangler.toml `[vars]`, parsed once per request with safe defaults.
 */
import type { Env } from './env';
import type { BreakerSettings } from './upstream/breaker';

export interface RouterConfig {
  defaultBundle: string | null;
  upstreamTimeoutMs: number;
  completionTimeoutMs: number;
  maxTries: number;
  /** Overall budget of one request until its answer starts (`x-router-timeout-ms` may lower it). */
  requestDeadlineMs: number;
  /** Per-isolate circuit breaker of each (tenant, model). */
  breaker: BreakerSettings;
  maxBodyBytes: number;
  poolCacheMs: number;
  workersAiEmbeddingModel: string;
}

function positive(raw: string | undefined, fallback: number): number {
  const n = Number(raw);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/**
 * Reads the router's settings from the environment.
 *
 * @example
 * const { maxBodyBytes } = readConfig(c.env);
 */
export function readConfig(env: Env): RouterConfig {
  return {
    defaultBundle: env.DEFAULT_BUNDLE ? env.DEFAULT_BUNDLE : null,
    upstreamTimeoutMs: positive(env.UPSTREAM_TIMEOUT_MS, 15_000),
    completionTimeoutMs: positive(env.UPSTREAM_COMPLETION_TIMEOUT_MS, 120_000),
    maxTries: Math.floor(positive(env.MAX_TRIES, 3)),
    requestDeadlineMs: positive(env.REQUEST_DEADLINE_MS, 150_000),
    breaker: {
      failureThreshold: Math.max(1, Math.floor(positive(env.BREAKER_FAILURES, 3))),
      cooldownMs: positive(env.BREAKER_COOLDOWN_MS, 30_000),
    },
    maxBodyBytes: Math.floor(positive(env.MAX_BODY_BYTES, 1_048_576)),
    poolCacheMs: positive(env.POOL_CACHE_SECONDS, 5) * 1000,
    workersAiEmbeddingModel: env.WORKERS_AI_EMBEDDING_MODEL || '@cf/baai/bge-base-en-v1.5',
  };
}
