// The demo `npm start` serves: its config file (scripts/demo.config.yaml, applied to the local D1
// with `npm run config`'s code, so it is also the example of a config file), its API key (random,
// made once and kept in the state folder; keys are credentials, never in a config file), the local
// secrets in .dev.vars, and warnings for demo models the shipped bundle does not know.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { parse } from 'yaml';
import { applyConfig } from './config/run.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The demo's config file. */
export const DEMO_CONFIG = path.join(here, 'demo.config.yaml');

/**
 * The demo config as data (placeholders left as written): `tenants[0]` is the demo tenant.
 *
 * @example
 * readDemoConfig().tenants[0].models.map((m) => m.name); // ['gpt-4o', 'gemini-3.1-pro', ...]
 */
export function readDemoConfig() {
  return parse(readFileSync(DEMO_CONFIG, 'utf8'));
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
 * What the demo's models and the bundle disagree on: a model the bundle does not know (seeded all
 * the same; the worker reports it as not routable) or an expected output length other than the
 * bundle's mean.
 *
 * @example
 * demoWarnings(readDemoConfig(), manifest); // [] for the shipped bundle
 */
export function demoWarnings(config, manifest) {
  const warnings = [];
  for (const m of config.tenants[0].models) {
    const entry = manifestEntry(manifest, m.bundle_model);
    if (!entry) {
      warnings.push(
        `${m.name}: bundle_model ${m.bundle_model} is not in bundle ${manifest.version}; it will not be routable`,
      );
    } else if (
      Math.max(1, Math.round(entry.mean_output_tokens ?? 512)) !== m.expected_output_tokens
    ) {
      warnings.push(
        `${m.name}: expected_output_tokens ${m.expected_output_tokens} in ${path.basename(DEMO_CONFIG)}, mean_output_tokens ${entry.mean_output_tokens} in bundle ${manifest.version}`,
      );
    }
  }
  return warnings;
}

/** SQL string literal. */
const q = (v) => `'${String(v).replace(/'/g, "''")}'`;

/**
 * Idempotent SQL for one API key of `tenantId` given its sha256 (re-enabled if it was revoked), with
 * the id and prefix the operator API lists keys by.
 *
 * @example
 * demoKeySql({ key, keyHash, tenantId: 'demo', label: 'npm start demo key' });
 */
export function demoKeySql({ key, keyHash, tenantId, label }) {
  return `INSERT INTO api_keys (key_hash, tenant_id, label, id, prefix)
  VALUES (${q(keyHash)}, ${q(tenantId)}, ${q(label)}, ${q(`key_${keyHash.slice(0, 24)}`)}, ${q(key.slice(0, 16))})
  ON CONFLICT (key_hash) DO UPDATE SET tenant_id = excluded.tenant_id, revoked_at = NULL,
    id = COALESCE(api_keys.id, excluded.id), prefix = COALESCE(api_keys.prefix, excluded.prefix);`;
}

/**
 * Applies the demo config to `d1` (scripts/config/d1.mjs) with the stand-in's port and the bundle
 * version filled in, then makes sure the demo key is there. Returns the plan applied.
 *
 * @example
 * await seedDemo({ d1, standinPort: 8788, bundleVersion: 'v2026-11-23.5', key, keyHash, log });
 */
export async function seedDemo({ d1, standinPort, bundleVersion, key, keyHash, log }) {
  const env = { STANDIN_PORT: String(standinPort), DEFAULT_BUNDLE: bundleVersion };
  const text = readFileSync(DEMO_CONFIG, 'utf8');
  const r = await applyConfig({
    text,
    file: path.relative(process.cwd(), DEMO_CONFIG),
    env,
    d1,
    log,
  });
  if (!r.ok) throw new Error(`the demo config is invalid:\n${r.errors.join('\n')}`);
  const tenantId = readDemoConfig().tenants[0].id;
  await d1.run([demoKeySql({ key, keyHash, tenantId, label: 'npm start demo key' })]);
  return r.plan;
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
 * Makes sure `.dev.vars` (local worker secrets) holds `name=<random>` (`bytes` random bytes, hex);
 * keeps every other line and an existing value. Returns the value.
 *
 * @example
 * const standinKey = ensureDevVar('/repo/.dev.vars', 'STANDIN_API_KEY');
 * const operatorToken = ensureDevVar('/repo/.dev.vars', 'OPERATOR_TOKEN', 32); // 64 hex digits
 */
export function ensureDevVar(file, name, bytes = 16) {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const m = new RegExp(`^${name}=(.*)$`, 'm').exec(text);
  if (m && m[1].trim() !== '') return m[1].trim().replace(/^"(.*)"$/, '$1');
  const value = randomBytes(bytes).toString('hex');
  const kept = text
    .split('\n')
    .filter((l) => !l.startsWith(`${name}=`))
    .join('\n')
    .replace(/\n*$/, '');
  writeFileSync(file, `${kept ? `${kept}\n` : ''}${name}=${value}\n`, { mode: 0o600 });
  return value;
}
