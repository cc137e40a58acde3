/**
 * Per-isolate LRU of prompt embeddings, keyed by sha256 of (tenant, space, text). The tenant is
 * part of the key because whether a prompt was a hit is observable (`/v1/route` reports
 * `embedding.cacheHit`, and a hit is faster): a shared entry would tell one tenant what another
 * had sent.
 */
import { sha256Hex } from '../data/hash';

const MAX_ENTRIES = 512;
const entries = new Map<string, Float32Array>();

/**
 * Returns the tenant's cached embedding of `text` in `space`, or computes and caches it.
 *
 * @example
 * const { vector, hit } = await cachedEmbedding(tenant.id, 'router-local-v1', text, () => embedOne(text));
 */
export async function cachedEmbedding(
  tenantId: string,
  space: string,
  text: string,
  compute: () => Promise<Float32Array>,
): Promise<{ vector: Float32Array; hit: boolean }> {
  const key = await sha256Hex(JSON.stringify([tenantId, space, text]));
  const hit = entries.get(key);
  if (hit) {
    entries.delete(key);
    entries.set(key, hit);
    return { vector: hit, hit: true };
  }
  const vector = await compute();
  entries.set(key, vector);
  if (entries.size > MAX_ENTRIES) {
    const oldest = entries.keys().next();
    if (!oldest.done) entries.delete(oldest.value);
  }
  return { vector, hit: false };
}
