/**
 * Quiz banks in R2: `banks/<bundle_version>/<name>.json`; the name `default` falls back to the
 * bundle's own optional `bundles/<bundle_version>/bank.json` (ids and numbers only). Parsed banks
 * are cached per isolate by key and etag (banks are rewritten rarely; a new etag reloads).
 */
import { BANK_NAME, bankError, parseBank, type Bank } from './bank';

const cache = new Map<string, { etag: string; bank: Bank }>();

/**
 * Reads bank `name` for `bundleVersion` from R2 (see the module comment for the keys).
 *
 * @example
 * const bank = await loadBank(env.ASSETS, 'v-next', 'default', 16);
 */
export async function loadBank(
  bucket: R2Bucket,
  bundleVersion: string,
  name: string,
  identityDim: number,
): Promise<Bank> {
  if (!BANK_NAME.test(name)) throw bankError(`bank name ${JSON.stringify(name)} is not valid`, 422);
  const keys = [`banks/${bundleVersion}/${name}.json`];
  if (name === 'default') keys.push(`bundles/${bundleVersion}/bank.json`);
  for (const key of keys) {
    const head = await bucket.head(key);
    if (!head) continue;
    const hit = cache.get(key);
    if (hit && hit.etag === head.etag) return hit.bank;
    const obj = await bucket.get(key);
    if (!obj) continue;
    let raw: unknown;
    try {
      raw = await obj.json();
    } catch {
      throw bankError(`bank ${key} is not valid JSON`, 422);
    }
    const bank = parseBank(raw, key, identityDim);
    cache.set(key, { etag: obj.etag, bank });
    return bank;
  }
  throw bankError(`no quiz bank ${JSON.stringify(name)} for bundle ${bundleVersion}`, 404);
}
