// Worker tests run inside workerd (@cloudflare/vitest-pool-workers) with the bindings of
// wrangler.toml: D1 gets the migrations (test/worker/support/apply-migrations.ts), R2 is seeded
// from the FIXTURES service below, which serves bundle files from disk (the generated test bundle
// in test/.tmp/bundles and the repo's model-assets/bundles). globalSetup builds the test bundle and
// starts a loopback stand-in upstream (OpenAI wire format) the tests call through real fetch.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

const root = import.meta.dirname;
// BUNDLES_DIR (as for `npm start`) points the real-bundle test at bundles built elsewhere.
const bundleRoots = [
  path.join(root, 'test/.tmp/bundles'),
  process.env.BUNDLES_DIR ?? path.join(root, 'model-assets/bundles'),
];

/** GET /<root index>/<path>: a file under one of bundleRoots (404 when absent). */
async function serveFixture(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const [, index, ...rest] = url.pathname.split('/');
  const base = bundleRoots[Number(index)];
  const rel = path.normalize(decodeURIComponent(rest.join('/')));
  if (!base || rel.startsWith('..')) return new Response('bad path', { status: 400 });
  try {
    return new Response(await readFile(path.join(base, rel)));
  } catch {
    return new Response('not found', { status: 404 });
  }
}

export default defineConfig(async () => {
  const migrations = await readD1Migrations(path.join(root, 'migrations'));
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: './wrangler.toml' },
        // Offline: no remote proxy for the [ai] binding; tests pass a fake AI in env instead.
        remoteBindings: false,
        miniflare: {
          bindings: { TEST_MIGRATIONS: migrations, DEFAULT_BUNDLE: 'test-v1' },
          serviceBindings: { FIXTURES: serveFixture },
          // Miniflare's simulation of the rate-limiting binding, with a small limit the tests can reach.
          ratelimits: { TEST_RATE_LIMITER: { simple: { limit: 2, period: 60 } } },
        },
      }),
    ],
    test: {
      include: ['test/worker/**/*.test.ts'],
      globalSetup: [
        'test/worker/support/global-setup.ts',
        'test/worker/upstream/support/global-setup.ts',
      ],
      setupFiles: ['test/worker/support/apply-migrations.ts'],
      // One workerd runtime for all files instead of one per file (each start costs 10-40 s on
      // this shared 2-core machine). Tests therefore use unique ids rather than a fresh database.
      isolate: false,
      testTimeout: 30_000,
      hookTimeout: 60_000,
    },
  };
});
