// node --test: the demo seed is valid SQL for the real schema (run in SQLite, which D1 is), is
// idempotent, and its prices are the ones in ../shared/data/prices.csv (ROUTER_DATA overrides the folder, as for the pipeline).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  poolDefault,
  demoApiKey,
  demoSeedSql,
  ensureDevVar,
  manifestEntry,
  readDemoPool,
  standinGrant,
} from '../../scripts/seed-demo.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const pool = readDemoPool();

/** Runs SQL files in order against one SQLite file; returns the rows of the final query. */
function sqlite(dbFile, files, query) {
  const script = `
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute('PRAGMA foreign_keys = ON')
for f in sys.argv[3:]:
    db.executescript(open(f).read())
db.commit()
print(json.dumps(db.execute(sys.argv[2]).fetchall()))`;
  const r = spawnSync('/usr/bin/python3', ['-c', script, dbFile, query, ...files], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

function manifestWith(names) {
  return {
    version: 'v-test',
    models: names.map((name, i) => ({ name, aliases: [], mean_output_tokens: 100 + i })),
  };
}

test('the demo pool spans cheap to expensive with the prices of prices.csv, and no cold-start model', () => {
  const csv = readFileSync(
    path.join(process.env['ROUTER_DATA'] ?? path.join(root, '..', 'shared', 'data'), 'prices.csv'),
    'utf8',
  )
    .trim()
    .split('\n')
    .slice(1);
  const prices = new Map(
    csv
      .map((l) => l.split(','))
      .map(([m, i, o, basis]) => [m, { i: Number(i), o: Number(o), basis }]),
  );
  assert.ok(pool.models.length >= 8 && pool.models.length <= 12);
  for (const m of pool.models) {
    const p = prices.get(m.bundle_model);
    assert.ok(p, `${m.bundle_model} is in prices.csv`);
    assert.deepEqual([m.input_usd_per_mtok, m.output_usd_per_mtok], [p.i, p.o], m.name);
    assert.ok(p.basis.startsWith(m.price_basis), m.name);
  }
  const out = pool.models.map((m) => m.output_usd_per_mtok);
  assert.ok(Math.max(...out) / Math.min(...out) >= 20, 'at least a 20x price spread');
  const coldStart = [
    'gemini-1.5-flash-002',
    'Meta-Llama-3_1-70B-Instruct',
    'Qwen1.5-72B-Chat',
    'mathstral-7B',
    'Phi-3-mini-4k-instruct',
  ];
  for (const m of pool.models) assert.ok(!coldStart.includes(m.bundle_model), m.bundle_model);
});

test('the seed applies to the real schema, twice, with the same result', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'seed-demo-'));
  const migrations = readdirSync(path.join(root, 'migrations'))
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => path.join(root, 'migrations', f));
  const names = pool.models.slice(1).map((m) => m.bundle_model); // the first one is missing from this bundle
  const { sql, warnings } = demoSeedSql({
    pool,
    manifest: manifestWith(names),
    keyHash: 'ab'.repeat(32),
    baseUrl: 'http://127.0.0.1:8788/v1',
  });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], new RegExp(`^${pool.models[0].name}: `));
  const seed = path.join(dir, 'seed.sql');
  writeFileSync(seed, sql);
  const db = path.join(dir, 'd1.sqlite');
  const count = `SELECT (SELECT COUNT(*) FROM tenants), (SELECT COUNT(*) FROM api_keys), (SELECT COUNT(*) FROM models), (SELECT COUNT(*) FROM pool_members), (SELECT default_pool FROM tenants WHERE id = 'demo')`;
  const once = sqlite(db, [...migrations, seed], count);
  assert.deepEqual(once, [[1, 1, pool.models.length, pool.models.length, 'demo']]);
  assert.deepEqual(sqlite(db, [seed], count), once);
  const rows = sqlite(
    db,
    [],
    `SELECT name, provider, base_url, secret_name, expected_output_tokens, bundle_model FROM models ORDER BY output_usd_per_mtok DESC LIMIT 2`,
  );
  assert.deepEqual(rows[0], [
    pool.models[0].name,
    'openai',
    'http://127.0.0.1:8788/v1',
    'STANDIN_API_KEY',
    512,
    pool.models[0].bundle_model,
  ]);
  assert.equal(rows[1][4], 100, 'expected output tokens come from the manifest');
  // The demo pool's default is the "balanced" preset, kept as a name: the routing bundle resolves it.
  assert.deepEqual(
    sqlite(db, [], `SELECT bundle_version, default_preset FROM pools WHERE name = 'demo'`),
    [['v-test', 'balanced']],
  );
});

test('the seed grants the demo tenant the stand-in host with its secret (http, loopback), once, and moves it with the port', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'seed-demo-'));
  const migrations = readdirSync(path.join(root, 'migrations'))
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => path.join(root, 'migrations', f));
  const seedFor = (port) => {
    const file = path.join(dir, `seed-${port}.sql`);
    writeFileSync(
      file,
      demoSeedSql({
        pool,
        manifest: manifestWith([]),
        keyHash: 'cd'.repeat(32),
        baseUrl: `http://127.0.0.1:${port}/v1`,
      }).sql,
    );
    return file;
  };
  const db = path.join(dir, 'd1.sqlite');
  const grants = `SELECT tenant_id, host, secret_name, allow_http, allow_private FROM upstream_grants`;
  const want = [['demo', '127.0.0.1:8788', 'STANDIN_API_KEY', 1, 1]];
  assert.deepEqual(sqlite(db, [...migrations, seedFor(8788)], grants), want);
  assert.deepEqual(sqlite(db, [seedFor(8788)], grants), want);
  // every demo model is a tenant row pointing at exactly that host with exactly that secret
  assert.deepEqual(sqlite(db, [], `SELECT DISTINCT tenant_id, base_url, secret_name FROM models`), [
    ['demo', 'http://127.0.0.1:8788/v1', 'STANDIN_API_KEY'],
  ]);
  assert.deepEqual(sqlite(db, [seedFor(9999)], grants), [
    ['demo', '127.0.0.1:9999', 'STANDIN_API_KEY', 1, 1],
  ]);
  assert.deepEqual(standinGrant('https://api.example.com/v1', 'K'), {
    host: 'api.example.com',
    secretName: 'K',
    allowHttp: 0,
    allowPrivate: 0,
  });
});

test('a pool default is a number or a preset name; the schema refuses other names', () => {
  assert.deepEqual(poolDefault(0.3), { preference: 0.3, preset: null });
  assert.deepEqual(poolDefault('balanced'), { preference: 0.5, preset: 'balanced' });
  assert.throws(() => poolDefault('fast'), /neither a number nor a preset/);
  const dir = mkdtempSync(path.join(tmpdir(), 'seed-demo-'));
  const migrations = readdirSync(path.join(root, 'migrations'))
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => path.join(root, 'migrations', f));
  const bad = path.join(dir, 'bad.sql');
  writeFileSync(
    bad,
    "INSERT INTO tenants (id, name) VALUES ('t', 't'); INSERT INTO pools (id, tenant_id, name, bundle_version, default_preset) VALUES ('p', 't', 'x', 'v', 'fast');",
  );
  const r = spawnSync(
    '/usr/bin/python3',
    [
      '-c',
      `import sqlite3,sys
db = sqlite3.connect(':memory:')
for f in sys.argv[1:]: db.executescript(open(f).read())`,
      ...migrations,
      bad,
    ],
    { encoding: 'utf8' },
  );
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /CHECK constraint failed/);
});

test('manifest entries are found by name or alias', () => {
  const manifest = { models: [{ name: 'gpt-4o_dir-gpt4o', aliases: ['gpt-4o-2024-05-13'] }] };
  assert.equal(manifestEntry(manifest, 'gpt-4o-2024-05-13')?.name, 'gpt-4o_dir-gpt4o');
  assert.equal(manifestEntry(manifest, 'gpt-4o'), undefined);
});

test('the demo key and the stand-in secret are made once and then kept', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'seed-demo-'));
  const a = demoApiKey(dir);
  assert.match(a.key, /^sk-router-demo-[0-9a-f]{32}$/);
  assert.deepEqual(demoApiKey(dir), a);
  const vars = path.join(dir, '.dev.vars');
  writeFileSync(vars, 'OPENAI_API_KEY=sk-real\n');
  const v = ensureDevVar(vars, 'STANDIN_API_KEY');
  assert.equal(ensureDevVar(vars, 'STANDIN_API_KEY'), v);
  assert.equal(readFileSync(vars, 'utf8'), `OPENAI_API_KEY=sk-real\nSTANDIN_API_KEY=${v}\n`);
});
