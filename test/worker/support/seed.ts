// Test helpers: put a bundle into R2 (from the FIXTURES service) and seed tenants, keys, models, pools.
import { env } from 'cloudflare:workers';
import type { TestEnv } from './env';

export const testEnv = env as unknown as TestEnv;

/** Where a bundle folder lives on disk: 0 = test/.tmp/bundles (generated), 1 = model-assets/bundles. */
export type BundleRoot = 0 | 1;

/** Copies `<root>/<version>/manifest.json` and the files it lists into R2; returns the manifest. */
export async function seedBundle(version: string, root: BundleRoot = 0, storeAs = version): Promise<Record<string, unknown>> {
  const res = await testEnv.FIXTURES.fetch(`http://fixtures/${root}/${version}/manifest.json`);
  if (!res.ok) throw new Error(`fixture bundle ${version} missing (${res.status})`);
  const manifest = (await res.json()) as { files: Record<string, { key: string }>; version: string };
  for (const [name, entry] of Object.entries(manifest.files)) {
    const file = await testEnv.FIXTURES.fetch(`http://fixtures/${root}/${version}/${entry.key.split('/').pop()}`);
    if (!file.ok) throw new Error(`fixture file ${name} missing`);
    await testEnv.ASSETS.put(entry.key.replace(`bundles/${version}/`, `bundles/${storeAs}/`), await file.arrayBuffer());
  }
  const stored = storeAs === version ? manifest : rename(manifest, version, storeAs);
  await testEnv.ASSETS.put(`bundles/${storeAs}/manifest.json`, JSON.stringify(stored));
  return stored;
}

function rename(manifest: { files: Record<string, { key: string }>; version: string }, from: string, to: string) {
  const files = Object.fromEntries(Object.entries(manifest.files).map(([k, v]) => [k, { ...v, key: v.key.replace(`bundles/${from}/`, `bundles/${to}/`) }]));
  return { ...manifest, version: to, files };
}
