// Local R2 as `wrangler dev --local` sees it (Miniflare's store under .wrangler/state/v3/r2): checks
// every object of the shipped bundle against its sha256 and writes back the shipped file for any
// object that is missing or differs (a half-finished upload, a store edited by hand or by another
// checkout, a disk error). The worker refuses a bundle file whose hash is wrong, so without this a
// damaged local R2 meant `npm start` served 503s until the state folder was deleted by hand.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Miniflare } from 'miniflare';

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/**
 * Makes local R2 hold exactly the shipped bytes for each file.
 *
 * @param {{ persistDir: string, bucket: string, files: { key: string, file: string, sha256: string }[] }} options
 *   persistDir: Miniflare's R2 folder (`.wrangler/state/v3/r2`); bucket: the bucket name in wrangler.toml.
 * @returns {Promise<{ checked: number, fixed: { key: string, reason: 'missing' | 'unreadable' | 'sha256 mismatch' }[] }>}
 * @example
 * const { fixed } = await syncLocalR2({ persistDir: '.wrangler/state/v3/r2', bucket: 'edge-llm-router-assets',
 *   files: [{ key: 'bundles/v1/irt.onnx', file: 'model-assets/bundles/v1/irt.onnx', sha256: '5c2c...' }] });
 */
export async function syncLocalR2({ persistDir, bucket, files }) {
  const mf = new Miniflare({
    modules: true,
    script: 'export default { fetch() { return new Response(null, { status: 404 }); } }',
    r2Buckets: { BUCKET: bucket },
    r2Persist: persistDir,
  });
  try {
    const r2 = await mf.getR2Bucket('BUCKET');
    // The stored object's sha256, null when absent, 'unreadable' when Miniflare cannot read it back
    // (its blob on disk no longer has the length its metadata records).
    const stored = async (key) => {
      try {
        const obj = await r2.get(key);
        return obj ? sha256(new Uint8Array(await obj.arrayBuffer())) : null;
      } catch {
        return 'unreadable';
      }
    };
    const fixed = [];
    for (const f of files) {
      const hash = await stored(f.key);
      if (hash === f.sha256) continue;
      const bytes = readFileSync(f.file);
      if (sha256(bytes) !== f.sha256)
        throw new Error(`${f.file} does not match its sha256 ${f.sha256}`);
      // An ArrayBuffer: Miniflare's proxy cannot carry a Node Buffer.
      await r2.put(
        f.key,
        bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
      );
      if ((await stored(f.key)) !== f.sha256)
        throw new Error(`local R2 still differs from ${f.file} after writing ${f.key}`);
      fixed.push({
        key: f.key,
        reason:
          hash === null ? 'missing' : hash === 'unreadable' ? 'unreadable' : 'sha256 mismatch',
      });
    }
    return { checked: files.length, fixed };
  } finally {
    await mf.dispose();
  }
}
