/**
 * The worker's bindings (wrangler.toml) and the per-request values Hono middleware sets.
 */
import type { ApiKey, Tenant } from './data/tenants';
import type { ChatBody } from './schemas/chat';

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
  MAX_BODY_BYTES?: string;
  POOL_CACHE_SECONDS?: string;
  WORKERS_AI_EMBEDDING_MODEL?: string;
}

/** Values middleware puts on the Hono context. */
export interface Variables {
  requestId: string;
  tenant: Tenant;
  /** The key the request authenticated with (its own rate limits). */
  apiKey: ApiKey;
  /** The chat body, once read (`readChatBody`): the rate limiter and the handler share one parse. */
  chatBody: ChatBody;
}

/** Hono generics of this app. */
export interface AppEnv {
  Bindings: Env;
  Variables: Variables;
}
