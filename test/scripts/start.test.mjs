// node --test: `npm start` refuses clearly, before touching wrangler, when there is no usable bundle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function start(bundlesDir) {
  return spawnSync(process.execPath, [path.join(root, 'scripts', 'start.mjs'), '--prepare-only'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, BUNDLES_DIR: bundlesDir },
    timeout: 120_000,
  });
}

test('no DEFAULT: exits 1 and says what is missing', () => {
  const r = start(mkdtempSync(path.join(tmpdir(), 'bundles-')));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /DEFAULT is missing: there is no shipped bundle to serve yet/);
  assert.doesNotMatch(r.stdout, /D1 migrations/);
});

test('DEFAULT naming a missing folder, and a file whose hash differs from the manifest: exit 1', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bundles-'));
  writeFileSync(path.join(dir, 'DEFAULT'), 'v-missing\n');
  assert.match(start(dir).stderr, /names "v-missing", but .*manifest\.json does not exist/);

  mkdirSync(path.join(dir, 'v-bad'));
  writeFileSync(path.join(dir, 'DEFAULT'), 'v-bad\n');
  writeFileSync(path.join(dir, 'v-bad', 'irt.onnx'), 'not the bytes the manifest promised');
  writeFileSync(
    path.join(dir, 'v-bad', 'manifest.json'),
    JSON.stringify({
      version: 'v-bad',
      models: [],
      files: { irt: { key: 'bundles/v-bad/irt.onnx', bytes: 1, sha256: '0'.repeat(64) } },
    }),
  );
  const r = start(dir);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /irt\.onnx does not match the sha256 in manifest\.json/);
});
