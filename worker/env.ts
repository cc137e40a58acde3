/**
 * The worker's bindings (wrangler.toml) and the per-request values Hono middleware sets.
 */
import type { ApiKey, Tenant } from './data/tenants';

export interface Env {
  DB: D1Database;
  ASSETS: R2Bucket;
  /** Workers AI; absent or unusable offline (`wrangler dev --local`). */
  AI?: Ai;
  /** Optional Queue for decision logs; without it logs go straight to D1. */
  DECISION_LOG_QUEUE?: Queue<unknown>;
  /** Optional rate-limiting binding (`[[ratelimits]]`): a per-tenant ceiling across isolates of one location. */
  TENANT_RATE_LIMITER?: RateLimit;
  DEFAULT_BUNDLE?: string;
  UPSTREAM_TIMEOUT_MS?: string;
  UPSTREAM_COMPLETION_TIMEOUT_MS?: string;
  MAX_TRIES?: string;
  REQUEST_DEADLINE_MS?: string;
  BREAKER_FAILURES?: string;
  BREAKER_COOLDOWN_MS?: string;
  MAX_BODY_BYTES?: string;
  POOL_CACHE_SECONDS?: string;
  WORKERS_AI_EMBEDDING_MODEL?: string;
  /**
   * The operator's bearer token for `/operator/*` (a Workers secret: `wrangler secret put
   * OPERATOR_TOKEN`, `.dev.vars` locally; at least 32 characters). Unset: the operator API answers
   * 503. Never a tenant key, and never a model's secret.
   */
  OPERATOR_TOKEN?: string;
}

/**
 * Every binding, plain var and own secret of `Env` (wrangler.toml `[vars]` and bindings, and
 * `WORKER_SECRETS`): worker settings, not upstream keys. A model's `secret_name` may never name one
 * of them, or the router would send its value upstream as a bearer key. The `Record` makes the
 * compiler insist on every key of `Env`; a test checks the list against wrangler.toml.
 */
const WORKER_SETTINGS: Record<keyof Env, true> = {
  DB: true,
  ASSETS: true,
  AI: true,
  DECISION_LOG_QUEUE: true,
  DEFAULT_BUNDLE: true,
  UPSTREAM_TIMEOUT_MS: true,
  UPSTREAM_COMPLETION_TIMEOUT_MS: true,
  MAX_TRIES: true,
  MAX_BODY_BYTES: true,
  POOL_CACHE_SECONDS: true,
  WORKERS_AI_EMBEDDING_MODEL: true,
  REQUEST_DEADLINE_MS: true,
  BREAKER_FAILURES: true,
  BREAKER_COOLDOWN_MS: true,
  TENANT_RATE_LIMITER: true,
  OPERATOR_TOKEN: true,
};

/** The worker's own secrets (set with `wrangler secret put`, so not in wrangler.toml). */
export const WORKER_SECRETS: readonly string[] = ['OPERATOR_TOKEN'];

/** The names of `WORKER_SETTINGS`, sorted. */
export const WORKER_SETTING_NAMES: readonly string[] = Object.keys(WORKER_SETTINGS).sort();

/**
 * Whether `name` is one of the worker's bindings or plain vars (never usable as a secret).
 *
 * @example
 * isWorkerSetting('DEFAULT_BUNDLE'); // true
 * isWorkerSetting('OPENAI_API_KEY'); // false
 */
export function isWorkerSetting(name: string): boolean {
  return Object.hasOwn(WORKER_SETTINGS, name);
}

/** Values middleware puts on the Hono context. */
export interface Variables {
  requestId: string;
  tenant: Tenant;
  /** The key the request authenticated with (its own rate limits). */
  apiKey: ApiKey;
}

/** Hono generics of this app. */
export interface AppEnv {
  Bindings: Env;
  Variables: Variables;
}
