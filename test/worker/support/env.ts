// The bindings tests see: the worker's own plus test-only ones from vitest.config.ts.
import type { D1Migration } from 'cloudflare:test';
import type { Env } from '../../../worker/env';

export interface TestEnv extends Env {
  TEST_MIGRATIONS: D1Migration[];
  /** Serves bundle files from disk: /0/<version>/<file> = test/.tmp/bundles, /1/... = model-assets/bundles. */
  FIXTURES: Fetcher;
  /** Miniflare's rate-limiting binding, 2 requests per 60 s per key (vitest.config.ts). */
  TEST_RATE_LIMITER: RateLimit;
}
