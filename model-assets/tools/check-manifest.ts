/**
 * Reads a bundle's manifest.json as the worker does (JSON.parse, then the worker's own schema) and
 * exits 1 with the schema's message where the worker would refuse it. The build runs it on every
 * bundle before publishing it, so a bundle no isolate can load is never published.
 *
 *   npx tsx model-assets/tools/check-manifest.ts model-assets/bundles/v-mine/manifest.json
 */
import { readFileSync } from 'node:fs';
import { parseManifest } from '../../worker/decision';

const file = process.argv[2];
if (!file) {
  console.error('usage: check-manifest.ts MANIFEST_JSON');
  process.exit(2);
}
try {
  const m = parseManifest(JSON.parse(readFileSync(file, 'utf8')));
  console.log(`manifest ${m.version}: read as the worker reads it (${m.models.length} models)`);
} catch (err) {
  console.error(`${file}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
