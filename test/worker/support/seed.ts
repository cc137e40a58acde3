// Test helpers: put a bundle into R2 (from the FIXTURES service) and seed tenants, keys, models, pools.
import { env } from 'cloudflare:workers';
import type { TestEnv } from './env';

export const testEnv = env as unknown as TestEnv;

/** Where a bundle folder lives on disk: 0 = test/.tmp/bundles (generated), 1 = model-assets/bundles. */
export type BundleRoot = 0 | 1;

/** Copies `<root>/<version>/manifest.json` and the files it lists into R2; returns the manifest. */
export async function seedBundle(
  version: string,
  root: BundleRoot = 0,
  storeAs = version,
): Promise<Record<string, unknown>> {
  const res = await testEnv.FIXTURES.fetch(`http://fixtures/${root}/${version}/manifest.json`);
  if (!res.ok) throw new Error(`fixture bundle ${version} missing (${res.status})`);
  const manifest = (await res.json()) as {
    files: Record<string, { key: string }>;
    version: string;
  };
  for (const [name, entry] of Object.entries(manifest.files)) {
    const file = await testEnv.FIXTURES.fetch(
      `http://fixtures/${root}/${version}/${entry.key.split('/').pop()}`,
    );
    if (!file.ok) throw new Error(`fixture file ${name} missing`);
    await testEnv.ASSETS.put(
      entry.key.replace(`bundles/${version}/`, `bundles/${storeAs}/`),
      await file.arrayBuffer(),
    );
  }
  const stored = storeAs === version ? manifest : rename(manifest, version, storeAs);
  await testEnv.ASSETS.put(`bundles/${storeAs}/manifest.json`, JSON.stringify(stored));
  return stored;
}

function rename(
  manifest: { files: Record<string, { key: string }>; version: string },
  from: string,
  to: string,
) {
  const files = Object.fromEntries(
    Object.entries(manifest.files).map(([k, v]) => [
      k,
      { ...v, key: v.key.replace(`bundles/${from}/`, `bundles/${to}/`) },
    ]),
  );
  return { ...manifest, version: to, files };
}

/** sha256 hex, as the auth middleware stores keys. */
async function sha256Hex(text: string): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export interface SeedModel {
  name: string;
  upstreamModel?: string;
  bundleModel?: string | null;
  inputUsd: number;
  outputUsd: number;
  outputTokens?: number;
  provider?: 'openai' | 'anthropic' | 'workers-ai';
  baseUrl?: string | null;
  secretName?: string | null;
  tenantId?: string | null;
  /**
   * For a tenant row with a base URL: also grant the tenant that host with this secret (http and
   * private hosts allowed, as the loopback test upstreams need). Default true; false seeds a row
   * as if written before grants existed, or after its grant was revoked.
   */
  grant?: boolean;
}

let counter = 0;
const uid = (p: string): string => `${p}-${++counter}-${crypto.randomUUID().slice(0, 8)}`;

/** Creates a tenant with a key; returns the tenant id and the bearer key. */
export async function seedTenant(
  defaultPool: string | null = 'default',
): Promise<{ tenantId: string; key: string }> {
  const tenantId = uid('t');
  const key = `sk-test-${crypto.randomUUID()}`;
  await testEnv.DB.batch([
    testEnv.DB.prepare('INSERT INTO tenants (id, name, default_pool) VALUES (?1, ?2, ?3)').bind(
      tenantId,
      tenantId,
      defaultPool,
    ),
    testEnv.DB.prepare('INSERT INTO api_keys (key_hash, tenant_id) VALUES (?1, ?2)').bind(
      await sha256Hex(key),
      tenantId,
    ),
  ]);
  return { tenantId, key };
}

/** Grants a tenant one upstream host with one secret ('' = none); idempotent. */
export async function seedGrant(
  tenantId: string,
  host: string,
  secretName = '',
  opts: { allowHttp?: boolean; allowPrivate?: boolean } = {},
): Promise<void> {
  await testEnv.DB.prepare(
    `INSERT INTO upstream_grants (tenant_id, host, secret_name, allow_http, allow_private) VALUES (?1, ?2, ?3, ?4, ?5)
      ON CONFLICT (tenant_id, host, secret_name) DO UPDATE SET allow_http = excluded.allow_http, allow_private = excluded.allow_private`,
  )
    .bind(tenantId, host, secretName, opts.allowHttp ? 1 : 0, opts.allowPrivate ? 1 : 0)
    .run();
}

/** Inserts a model row (granting a tenant row's host and secret unless `grant: false`); returns its id. */
export async function seedModel(m: SeedModel): Promise<string> {
  const id = uid('m');
  if (m.tenantId && m.baseUrl && m.grant !== false) {
    await seedGrant(m.tenantId, new URL(m.baseUrl).host, m.secretName ?? '', {
      allowHttp: true,
      allowPrivate: true,
    });
  }
  await testEnv.DB.prepare(
    `INSERT INTO models (id, tenant_id, name, provider, upstream_model, base_url, secret_name,
      input_usd_per_mtok, output_usd_per_mtok, expected_output_tokens, bundle_model) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)`,
  )
    .bind(
      id,
      m.tenantId ?? null,
      m.name,
      m.provider ?? 'openai',
      m.upstreamModel ?? m.name,
      m.baseUrl ?? null,
      m.secretName ?? null,
      m.inputUsd,
      m.outputUsd,
      m.outputTokens ?? 500,
      m.bundleModel === undefined ? m.name : m.bundleModel,
    )
    .run();
  return id;
}

/** Creates a pool over the given model ids; returns its id. */
export async function seedPool(
  tenantId: string,
  name: string,
  bundleVersion: string,
  modelIds: string[],
  opts: {
    embeddingProvider?: string | null;
    defaultPreference?: number;
    defaultPreset?: string;
    uncertaintyPenalty?: number;
  } = {},
): Promise<string> {
  const id = uid('p');
  await testEnv.DB.prepare(
    'INSERT INTO pools (id, tenant_id, name, bundle_version, embedding_provider, default_preference, default_preset, uncertainty_penalty) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)',
  )
    .bind(
      id,
      tenantId,
      name,
      bundleVersion,
      opts.embeddingProvider ?? null,
      opts.defaultPreference ?? 0.5,
      opts.defaultPreset ?? null,
      opts.uncertaintyPenalty ?? null,
    )
    .run();
  if (modelIds.length > 0)
    await testEnv.DB.batch(
      modelIds.map((mid) =>
        testEnv.DB.prepare('INSERT INTO pool_members (pool_id, model_id) VALUES (?1, ?2)').bind(
          id,
          mid,
        ),
      ),
    );
  return id;
}

/** The four models of the generated test bundle, priced as in its manifest, served by `baseUrl`. */
export async function seedBundleModels(
  tenantId: string,
  baseUrl: string,
  upstreamSuffix = '',
): Promise<Record<string, string>> {
  const rows: [string, number, number, number][] = [
    ['test-large', 10, 30, 600],
    ['test-medium', 1, 3, 500],
    ['test-small', 0.2, 0.6, 400],
    ['test-tiny', 0.05, 0.1, 300],
  ];
  const ids: Record<string, string> = {};
  for (const [name, i, o, t] of rows) {
    ids[name] = await seedModel({
      name,
      upstreamModel: `${name}${upstreamSuffix}`,
      inputUsd: i,
      outputUsd: o,
      outputTokens: t,
      baseUrl,
      tenantId,
    });
  }
  return ids;
}
