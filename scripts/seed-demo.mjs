// The demo tenant, its API key, the demo models (real names, real prices) and the `demo` pool, as
// idempotent SQL for `wrangler d1 execute DB --local --file ...` (npm start runs it on every start).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * The demo pool definition (scripts/demo-pool.json).
 *
 * @example
 * readDemoPool().models.map((m) => m.name); // ['gpt-4o', 'gemini-3.1-pro', ...]
 */
export function readDemoPool() {
  return JSON.parse(readFileSync(path.join(here, 'demo-pool.json'), 'utf8'));
}

/** SQL string literal (or NULL). */
const q = (v) => (v === null || v === undefined ? 'NULL' : `'${String(v).replace(/'/g, "''")}'`);
const num = (v) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`not a number: ${v}`);
  return String(v);
};

/**
 * A pool default as D1 stores it: a number goes to `default_preference`; a preset name (`cheap`,
 * `balanced`, `quality`) goes to `default_preset`, which the worker resolves per request with the
 * bundle that routes it (`default_preference` then keeps its column default, 0.5, unused).
 *
 * @example
 * poolDefault('balanced'); // { preference: 0.5, preset: 'balanced' }
 * poolDefault(0.3);        // { preference: 0.3, preset: null }
 */
export function poolDefault(value) {
  if (typeof value === 'number') return { preference: value, preset: null };
  if (['cheap', 'balanced', 'quality'].includes(value)) return { preference: 0.5, preset: value };
  throw new Error(`default_preference ${JSON.stringify(value)} is neither a number nor a preset`);
}

/**
 * The manifest entry whose name or aliases equal `bundleModel`, as the worker resolves identities.
 *
 * @example
 * manifestEntry(manifest, 'gpt-4o-2024-05-13')?.name; // 'gpt-4o_dir-gpt4o' when that alias is listed
 */
export function manifestEntry(manifest, bundleModel) {
  return manifest.models?.find(
    (m) => m.name === bundleModel || (m.aliases ?? []).includes(bundleModel),
  );
}

/**
 * The upstream grant the demo tenant needs (docs/security.md): its models call the stand-in at
 * `baseUrl` with `secretName`, over http on loopback, which a tenant may only do when granted.
 *
 * @example
 * standinGrant('http://127.0.0.1:8788/v1', 'STANDIN_API_KEY');
 * // { host: '127.0.0.1:8788', secretName: 'STANDIN_API_KEY', allowHttp: 1, allowPrivate: 1 }
 */
export function standinGrant(baseUrl, secretName) {
  const url = new URL(baseUrl);
  const loopback = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(url.hostname);
  return {
    host: url.host,
    secretName: secretName ?? '',
    allowHttp: url.protocol === 'http:' ? 1 : 0,
    allowPrivate: loopback ? 1 : 0,
  };
}

/**
 * Idempotent SQL that (re)creates the demo tenant, key, models, pool and the upstream grant for
 * the stand-in (an earlier grant of the same secret to another host is dropped). Models not in the
 * bundle manifest are still seeded (the worker reports them as not routable) and listed in
 * `warnings`. Expected output tokens come from the manifest's `mean_output_tokens`. Model row ids
 * are `<modelIdPrefix><name>` (ids are global, so another tenant seeded from the same pool file,
 * as `npm run loadtest` does, needs its own prefix); `keyLabel` labels the API key.
 *
 * @example
 * const { sql, warnings } = demoSeedSql({ pool: readDemoPool(), manifest, keyHash, baseUrl: 'http://127.0.0.1:8788/v1' });
 */
export function demoSeedSql({
  pool,
  manifest,
  keyHash,
  baseUrl,
  modelIdPrefix = 'demo-',
  keyLabel = 'npm start demo key',
}) {
  const warnings = [];
  const { tenant } = pool;
  const lines = [
    `INSERT INTO tenants (id, name, default_pool) VALUES (${q(tenant.id)}, ${q(tenant.name)}, ${q(pool.pool.name)})
  ON CONFLICT (id) DO UPDATE SET name = excluded.name, default_pool = excluded.default_pool;`,
    `INSERT INTO api_keys (key_hash, tenant_id, label) VALUES (${q(keyHash)}, ${q(tenant.id)}, ${q(keyLabel)})
  ON CONFLICT (key_hash) DO UPDATE SET tenant_id = excluded.tenant_id, revoked_at = NULL;`,
  ];
  const g = standinGrant(baseUrl, pool.secret_name);
  lines.push(
    `DELETE FROM upstream_grants WHERE tenant_id = ${q(tenant.id)} AND secret_name = ${q(g.secretName)} AND host <> ${q(g.host)};`,
  );
  lines.push(`INSERT INTO upstream_grants (tenant_id, host, secret_name, allow_http, allow_private) VALUES (${q(tenant.id)}, ${q(g.host)}, ${q(g.secretName)}, ${g.allowHttp}, ${g.allowPrivate})
  ON CONFLICT (tenant_id, host, secret_name) DO UPDATE SET allow_http = excluded.allow_http, allow_private = excluded.allow_private;`);
  const ids = [];
  for (const m of pool.models) {
    const entry = manifestEntry(manifest, m.bundle_model);
    if (!entry)
      warnings.push(
        `${m.name}: bundle_model ${m.bundle_model} is not in bundle ${manifest.version}; it will not be routable`,
      );
    const outTokens = Math.max(1, Math.round(entry?.mean_output_tokens ?? 512));
    const id = `${modelIdPrefix}${m.name}`;
    ids.push(id);
    lines.push(`INSERT INTO models (id, tenant_id, name, provider, upstream_model, base_url, secret_name, input_usd_per_mtok, output_usd_per_mtok, expected_output_tokens, bundle_model)
  VALUES (${q(id)}, ${q(tenant.id)}, ${q(m.name)}, 'openai', ${q(m.upstream_model)}, ${q(baseUrl)}, ${q(pool.secret_name)}, ${num(m.input_usd_per_mtok)}, ${num(m.output_usd_per_mtok)}, ${outTokens}, ${q(m.bundle_model)})
  ON CONFLICT (id) DO UPDATE SET name = excluded.name, provider = excluded.provider, upstream_model = excluded.upstream_model,
    base_url = excluded.base_url, secret_name = excluded.secret_name, input_usd_per_mtok = excluded.input_usd_per_mtok,
    output_usd_per_mtok = excluded.output_usd_per_mtok, expected_output_tokens = excluded.expected_output_tokens, bundle_model = excluded.bundle_model;`);
  }
  const p = pool.pool;
  const d = poolDefault(p.default_preference);
  lines.push(`INSERT INTO pools (id, tenant_id, name, bundle_version, default_preference, default_preset) VALUES (${q(p.id)}, ${q(tenant.id)}, ${q(p.name)}, ${q(manifest.version)}, ${num(d.preference)}, ${q(d.preset)})
  ON CONFLICT (id) DO UPDATE SET bundle_version = excluded.bundle_version, default_preference = excluded.default_preference, default_preset = excluded.default_preset;`);
  lines.push(
    `DELETE FROM pool_members WHERE pool_id = ${q(p.id)} AND model_id NOT IN (${ids.map(q).join(', ')});`,
  );
  for (const id of ids)
    lines.push(
      `INSERT OR IGNORE INTO pool_members (pool_id, model_id) VALUES (${q(p.id)}, ${q(id)});`,
    );
  return { sql: `${lines.join('\n')}\n`, warnings };
}

/**
 * The demo API key: made once (random) and kept in `<stateDir>/demo-api-key`, so re-runs print
 * and accept the same key.
 *
 * @example
 * const { key, keyHash } = demoApiKey('.wrangler/state');
 */
export function demoApiKey(stateDir) {
  const file = path.join(stateDir, 'demo-api-key');
  let key = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  if (!/^sk-router-demo-[0-9a-f]{32}$/.test(key)) {
    key = `sk-router-demo-${randomBytes(16).toString('hex')}`;
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(file, `${key}\n`, { mode: 0o600 });
  }
  return { key, keyHash: createHash('sha256').update(key).digest('hex') };
}

/**
 * Makes sure `.dev.vars` (local worker secrets) holds `name=<random>`; keeps every other line and an
 * existing value. Returns the value.
 *
 * @example
 * const standinKey = ensureDevVar('/repo/.dev.vars', 'STANDIN_API_KEY');
 */
export function ensureDevVar(file, name) {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const m = new RegExp(`^${name}=(.*)$`, 'm').exec(text);
  if (m && m[1].trim() !== '') return m[1].trim().replace(/^"(.*)"$/, '$1');
  const value = randomBytes(16).toString('hex');
  const kept = text
    .split('\n')
    .filter((l) => !l.startsWith(`${name}=`))
    .join('\n')
    .replace(/\n*$/, '');
  writeFileSync(file, `${kept ? `${kept}\n` : ''}${name}=${value}\n`, { mode: 0o600 });
  return value;
}
