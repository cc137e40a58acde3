// Local D1 for the load test, through `wrangler d1 execute --local` (the documented way in; the
// SQLite file Miniflare keeps under the state folder is an implementation detail): the load-test
// tenants (a config document applied with `npm run config`'s code, and their keys) and their
// removal, and the decision rows a run wrote.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { applyConfig } from '../config/run.mjs';
import { demoKeySql, demoWarnings, readDemoConfig } from '../seed-demo.mjs';

/** Rows per SELECT: wrangler prints every row as JSON, and a bounded page keeps that small. */
const PAGE = 5000;

/**
 * Runs wrangler with `args` (Promise of stdout; rejects with its output on failure). Async, so a
 * progress line or a signal is never held up behind it.
 *
 * @example
 * await wranglerRun(root, ['d1', 'execute', 'DB', '--local', '--json', '--command', 'SELECT 1']);
 */
export function wranglerRun(root, args) {
  const bin = path.join(root, 'node_modules', '.bin', 'wrangler');
  const env = {
    ...process.env,
    CI: 'true',
    WRANGLER_SEND_METRICS: 'false',
    CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  };
  // a debug log level would print log lines into the --json output this reads
  delete env.WRANGLER_LOG;
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(
            new Error(
              `wrangler ${args.slice(0, 3).join(' ')} failed (${code}): ${`${out}${err}`.trim().slice(-2000)}`,
            ),
          ),
    );
  });
}

/**
 * A local D1 (binding `db`, state folder `stateDir`) to run SQL against.
 *
 * @example
 * const d1 = localD1({ root, stateDir: '.wrangler/loadtest-state' });
 * const [{ n }] = await d1.query('SELECT COUNT(*) AS n FROM decision_log');
 */
export function localD1({ root, stateDir, db = 'DB' }) {
  const base = ['d1', 'execute', db, '--local', '--persist-to', stateDir, '--json'];
  return {
    /** Rows of the last statement of `sql`. */
    async query(sql) {
      const results = JSON.parse(await wranglerRun(root, [...base, '--command', sql]));
      return results.at(-1)?.results ?? [];
    },
    /** Runs a file of SQL statements. */
    async file(file) {
      await wranglerRun(root, [...base, '--file', file]);
    },
  };
}

/** A SQL string literal. */
const q = (v) => `'${String(v).replace(/'/g, "''")}'`;

/** `tenant_id IN (...)` for one tenant id or several. */
const tenantIn = (tenantIds) => `tenant_id IN (${[tenantIds].flat().map(q).join(', ')})`;

/**
 * A tenant of its own for one load test: a copy of the demo tenant's models and pool (same models,
 * prices and bundle) under a fresh tenant id and API key, its models calling the stand-in at
 * `baseUrl`. Its own tenant means no other tenant's limits or traffic shape the measurement, its
 * decision rows are told apart by `tenant_id`, and two load tests against one state folder do not
 * touch each other. A new tenant has no rate limits of its own (limit columns default to NULL,
 * "none"). `tenant` is its entry in a config document (seedTenants applies it).
 *
 * @example
 * const t = loadtestTenant({ manifest, baseUrl: 'http://127.0.0.1:8788/v1' });
 * await seedTenants(wranglerD1({ root, stateDir }), [t]);
 */
export function loadtestTenant({ manifest, baseUrl }) {
  const suffix = randomBytes(4).toString('hex');
  const id = `loadtest-${suffix}`;
  const key = `sk-router-loadtest-${randomBytes(16).toString('hex')}`;
  const demo = readDemoConfig().tenants[0];
  const url = new URL(baseUrl);
  const tenant = {
    id,
    name: 'npm run loadtest',
    default_pool: 'loadtest',
    grants: demo.grants.map((g) => ({ ...g, host: url.host })),
    models: demo.models.map((m) => ({ ...m, base_url: baseUrl })),
    pools: demo.pools.map((p) => ({ ...p, name: 'loadtest', bundle_version: manifest.version })),
  };
  const keyHash = createHash('sha256').update(key).digest('hex');
  return {
    id,
    key,
    tenant,
    warnings: demoWarnings({ tenants: [tenant] }, manifest),
    keySql: demoKeySql({ key, keyHash, tenantId: id, label: 'npm run loadtest' }),
    /** SQL that removes everything the seed and the runs wrote for this tenant. */
    cleanupSql() {
      const t = q(id);
      return [
        `DELETE FROM decision_log WHERE tenant_id = ${t}`,
        `DELETE FROM pool_members WHERE pool_id IN (SELECT id FROM pools WHERE tenant_id = ${t})`,
        `DELETE FROM pools WHERE tenant_id = ${t}`,
        `DELETE FROM model_identities WHERE model_id IN (SELECT id FROM models WHERE tenant_id = ${t})`,
        `DELETE FROM models WHERE tenant_id = ${t}`,
        `DELETE FROM upstream_grants WHERE tenant_id = ${t}`,
        `DELETE FROM api_keys WHERE tenant_id = ${t}`,
        `DELETE FROM tenants WHERE id = ${t}`,
      ].join('; ');
    },
  };
}

/**
 * Test tenants per config document. wrangler runs a document's SQL as one batch, which local D1
 * refuses above 100 KB (SQLITE_TOOBIG); a test tenant's share is about 6 KB, and a full run under
 * a rate-limit ceiling seeds 40 of them.
 */
const TENANTS_PER_APPLY = 8;

/**
 * Creates the test tenants in the target (scripts/config/d1.mjs): config documents of at most
 * `TENANTS_PER_APPLY` of them, each applied in one transaction, then their keys.
 *
 * @example
 * await seedTenants(wranglerD1({ root, stateDir }), tenants);
 */
export async function seedTenants(d1, tenants) {
  for (let i = 0; i < tenants.length; i += TENANTS_PER_APPLY) {
    const part = tenants.slice(i, i + TENANTS_PER_APPLY);
    const text = JSON.stringify({ version: 1, tenants: part.map((t) => t.tenant) });
    const r = await applyConfig({ text, file: 'load-test tenants', env: {}, d1 });
    if (!r.ok) throw new Error(`load-test tenants: ${r.errors.join('; ')}`);
  }
  await d1.run(tenants.map((t) => t.keySql));
}

/**
 * Number of decision rows of `tenantIds` (one id or a list) written at or after `sinceIso`.
 *
 * @example
 * await countRows(d1, ['loadtest-ab12cd34'], '2026-12-05T21:40:01.000Z'); // 1200
 */
export async function countRows(d1, tenantIds, sinceIso) {
  const rows = await d1.query(
    `SELECT COUNT(*) AS n FROM decision_log WHERE ${tenantIn(tenantIds)} AND created_at >= ${q(sinceIso)}`,
  );
  return Number(rows[0]?.n ?? 0);
}

/**
 * Ids of the decision rows of `tenantIds` written at or after `sinceIso`, fetched page by page.
 *
 * @example
 * const ids = await rowIds(d1, ['loadtest-ab12cd34'], start); // Set { 'f74d2068-...', ... }
 */
export async function rowIds(d1, tenantIds, sinceIso) {
  const ids = new Set();
  for (let offset = 0; ; offset += PAGE) {
    const rows = await d1.query(
      `SELECT id FROM decision_log WHERE ${tenantIn(tenantIds)} AND created_at >= ${q(sinceIso)} ORDER BY id LIMIT ${PAGE} OFFSET ${offset}`,
    );
    for (const r of rows) ids.add(r.id);
    if (rows.length < PAGE) return ids;
  }
}

/**
 * Waits until the decision rows of a run have landed (the worker writes them with waitUntil, after
 * the response): until `expected` rows are there, or the count stops growing for `quietMs`, or
 * `maxMs` passed. Returns the last count.
 *
 * @example
 * await waitForRows(d1, [tenant.id], run.startIso, run.ok, { quietMs: 3000, maxMs: 60000 });
 */
export async function waitForRows(
  d1,
  tenantIds,
  sinceIso,
  expected,
  { quietMs = 3000, maxMs = 60_000 } = {},
) {
  const until = Date.now() + maxMs;
  let last = -1;
  let stableSince = Date.now();
  for (;;) {
    const n = await countRows(d1, tenantIds, sinceIso);
    if (n >= expected) return n;
    if (n !== last) {
      last = n;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= quietMs) return n;
    if (Date.now() >= until) return n;
    await new Promise((r) => setTimeout(r, 500));
  }
}
