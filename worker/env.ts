/**
 * The worker's bindings (wrangler.toml) and the per-request values Hono middleware sets.
 */
import type { Tenant } from './data/tenants';

export interface Env {
  DB: D1Database;
  ASSETS: R2Bucket;
  /** Workers AI; absent or unusable offline (`wrangler dev --local`). */
  AI?: Ai;
  /** Optional Queue for decision logs; without it logs go straight to D1. */
  DECISION_LOG_QUEUE?: Queue<unknown>;
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
}

/** Values middleware puts on the Hono context. */
export interface Variables {
  requestId: string;
  tenant: Tenant;
}

/** Hono generics of this app. */
export interface AppEnv {
  Bindings: Env;
  Variables: Variables;
}
