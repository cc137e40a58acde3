// node --test: `npm start` re-checks local R2 against the shipped bundle's hashes and writes back
// what is missing or damaged, whatever damaged it (another write, bytes changed on disk).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Miniflare } from 'miniflare';
import { syncLocalR2 } from '../../scripts/local-r2.mjs';

const bucket = 'edge-llm-router-assets';

function shipped(dir) {
  const files = [];
  for (const [name, text] of [
    ['manifest.json', '{"version":"v-t"}'],
    ['irt.onnx', 'irt bytes '.repeat(500)],
    ['policy.onnx', 'policy bytes '.repeat(700)],
  ]) {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    files.push({
      key: `bundles/v-t/${name}`,
      file,
      sha256: createHash('sha256').update(text).digest('hex'),
    });
  }
  return files;
}

async function withBucket(persistDir, fn) {
  const mf = new Miniflare({
    modules: true,
    script: 'export default { fetch() { return new Response(null) } }',
    r2Buckets: { B: bucket },
    r2Persist: persistDir,
  });
  try {
    return await fn(await mf.getR2Bucket('B'));
  } finally {
    await mf.dispose();
  }
}

/** Every regular file under `dir`. */
function walk(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

test('uploads what is missing, then finds nothing to do', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'r2-'));
  const persistDir = path.join(dir, 'state');
  const files = shipped(dir);
  const first = await syncLocalR2({ persistDir, bucket, files });
  assert.deepEqual(
    first.fixed.map((f) => f.reason),
    ['missing', 'missing', 'missing'],
  );
  const again = await syncLocalR2({ persistDir, bucket, files });
  assert.deepEqual(again, { checked: 3, fixed: [] });
});

test('writes back an object with other bytes and one that was deleted, and only those', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'r2-'));
  const persistDir = path.join(dir, 'state');
  const files = shipped(dir);
  await syncLocalR2({ persistDir, bucket, files });
  await withBucket(persistDir, async (r2) => {
    await r2.put('bundles/v-t/policy.onnx', 'half an upload');
    await r2.delete('bundles/v-t/manifest.json');
  });
  const { fixed } = await syncLocalR2({ persistDir, bucket, files });
  assert.deepEqual(
    fixed.sort((a, b) => a.key.localeCompare(b.key)),
    [
      { key: 'bundles/v-t/manifest.json', reason: 'missing' },
      { key: 'bundles/v-t/policy.onnx', reason: 'sha256 mismatch' },
    ],
  );
  const text = await withBucket(persistDir, async (r2) =>
    (await r2.get('bundles/v-t/policy.onnx')).text(),
  );
  assert.equal(text, 'policy bytes '.repeat(700));
});

test('bytes changed on disk under Miniflare are found and repaired', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'r2-'));
  const persistDir = path.join(dir, 'state');
  const files = shipped(dir);
  await syncLocalR2({ persistDir, bucket, files });
  const blobs = walk(path.join(persistDir, bucket, 'blobs'));
  assert.equal(blobs.length, 3);
  // Two blobs keep their length with other bytes (a flipped bit); one is cut short.
  for (const blob of blobs.slice(0, 2)) {
    const bytes = readFileSync(blob);
    bytes[0] ^= 0xff;
    writeFileSync(blob, bytes);
  }
  writeFileSync(blobs[2], 'short');
  const { fixed } = await syncLocalR2({ persistDir, bucket, files });
  assert.deepEqual(fixed.map((f) => f.reason).sort(), [
    'sha256 mismatch',
    'sha256 mismatch',
    'unreadable',
  ]);
  assert.deepEqual(await syncLocalR2({ persistDir, bucket, files }), { checked: 3, fixed: [] });
});

test('refuses to write a shipped file that does not match its own hash', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'r2-'));
  const files = shipped(dir);
  files[1].sha256 = '0'.repeat(64);
  await assert.rejects(
    syncLocalR2({ persistDir: path.join(dir, 'state'), bucket, files }),
    /does not match its sha256/,
  );
});
