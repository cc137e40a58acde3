// node --test: the demo npm start serves. Its config file (scripts/demo.config.yaml) has the prices
// of ../shared/data/prices.csv (ROUTER_DATA overrides the folder, as for the pipeline) and the
// shipped bundle's output lengths; applied to the real schema (SQLite, which D1 is) with the config
// tool's code it makes the demo tenant, grant, models and pool, twice with the same result; the
// stand-in's grant follows its port; the key and local secrets are made once and kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { planConfig } from '../../scripts/config/run.mjs';
import {
  DEMO_CONFIG,
  demoApiKey,
  demoWarnings,
  ensureDevVar,
  manifestEntry,
  readDemoConfig,
  seedDemo,
} from '../../scripts/seed-demo.mjs';
import { sqliteD1 } from './support/sqlite-d1.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const demo = readDemoConfig().tenants[0];
const tmp = () => mkdtempSync(path.join(tmpdir(), 'seed-demo-'));
const seed = (d1, standinPort = 8788, bundleVersion = 'v-test') =>
  seedDemo({ d1, standinPort, bundleVersion, key: 'sk-router-demo-x', keyHash: 'ab'.repeat(32) });

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
  // each model's price basis is a comment on its name line: `- name: gpt-4o # price basis: list`
  const basis = new Map(
    [...readFileSync(DEMO_CONFIG, 'utf8').matchAll(/- name: (\S+) # price basis: (\S+)/g)].map(
      (m) => [m[1], m[2]],
    ),
  );
  assert.ok(demo.models.length >= 8 && demo.models.length <= 12);
  for (const m of demo.models) {
    const p = prices.get(m.bundle_model);
    assert.ok(p, `${m.bundle_model} is in prices.csv`);
    assert.deepEqual([m.input_usd_per_mtok, m.output_usd_per_mtok], [p.i, p.o], m.name);
    assert.ok(basis.has(m.name) && p.basis.startsWith(basis.get(m.name)), m.name);
  }
  const out = demo.models.map((m) => m.output_usd_per_mtok);
  assert.ok(Math.max(...out) / Math.min(...out) >= 20, 'at least a 20x price spread');
  const coldStart = [
    'gemini-1.5-flash-002',
    'Meta-Llama-3_1-70B-Instruct',
    'Qwen1.5-72B-Chat',
    'mathstral-7B',
    'Phi-3-mini-4k-instruct',
  ];
  for (const m of demo.models) assert.ok(!coldStart.includes(m.bundle_model), m.bundle_model);
  assert.deepEqual(
    demo.pools[0].members,
    demo.models.map((m) => m.name),
  );
});

test("the demo's output lengths are the shipped bundle's; a model the bundle lacks is a warning", () => {
  const bundles = path.join(root, 'model-assets', 'bundles');
  const version = readFileSync(path.join(bundles, 'DEFAULT'), 'utf8').trim();
  const manifest = JSON.parse(readFileSync(path.join(bundles, version, 'manifest.json'), 'utf8'));
  assert.deepEqual(demoWarnings(readDemoConfig(), manifest), []);
  const lacking = {
    ...manifest,
    models: manifest.models.filter(
      (m) => m !== manifestEntry(manifest, demo.models[0].bundle_model),
    ),
  };
  const warnings = demoWarnings(readDemoConfig(), lacking);
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0],
    new RegExp(`^${demo.models[0].name}: bundle_model .* will not be routable$`),
  );
});

test('the demo applies to the real schema, twice, with the same result', async () => {
  const d1 = sqliteD1(path.join(tmp(), 'd1.sqlite'));
  const count = `SELECT (SELECT COUNT(*) FROM tenants), (SELECT COUNT(*) FROM api_keys), (SELECT COUNT(*) FROM models), (SELECT COUNT(*) FROM pool_members), (SELECT default_pool FROM tenants WHERE id = 'demo')`;
  const first = await seed(d1);
  assert.equal(first.changes.length, 13);
  const once = d1.rows(count);
  assert.deepEqual(once, [[1, 1, demo.models.length, demo.models.length, 'demo']]);
  const second = await seed(d1);
  assert.deepEqual(second.changes, []);
  assert.deepEqual(d1.rows(count), once);
  const rows = d1.rows(
    `SELECT name, provider, base_url, secret_name, expected_output_tokens, bundle_model FROM models ORDER BY output_usd_per_mtok DESC LIMIT 1`,
  );
  const top = demo.models[0];
  assert.deepEqual(rows[0], [
    top.name,
    'openai',
    'http://127.0.0.1:8788/v1',
    'STANDIN_API_KEY',
    top.expected_output_tokens,
    top.bundle_model,
  ]);
  // The demo pool's default is the "balanced" preset, kept as a name: the routing bundle resolves it.
  assert.deepEqual(
    d1.rows(`SELECT bundle_version, default_preset FROM pools WHERE name = 'demo'`),
    [['v-test', 'balanced']],
  );
  // the key is listed as the operator API lists keys
  assert.deepEqual(d1.rows('SELECT id, prefix, label FROM api_keys'), [
    [`key_${'ab'.repeat(12)}`, 'sk-router-demo-x', 'npm start demo key'],
  ]);
});

test('the demo grants the stand-in host with its secret (http, loopback), once, and moves it with the port', async () => {
  const d1 = sqliteD1(path.join(tmp(), 'd1.sqlite'));
  const grants = `SELECT tenant_id, host, secret_name, allow_http, allow_private FROM upstream_grants`;
  const want = [['demo', '127.0.0.1:8788', 'STANDIN_API_KEY', 1, 1]];
  await seed(d1, 8788);
  assert.deepEqual(d1.rows(grants), want);
  await seed(d1, 8788);
  assert.deepEqual(d1.rows(grants), want);
  // every demo model is a tenant row pointing at exactly that host with exactly that secret
  assert.deepEqual(d1.rows(`SELECT DISTINCT tenant_id, base_url, secret_name FROM models`), [
    ['demo', 'http://127.0.0.1:8788/v1', 'STANDIN_API_KEY'],
  ]);
  const moved = await seed(d1, 9999);
  assert.deepEqual(d1.rows(grants), [['demo', '127.0.0.1:9999', 'STANDIN_API_KEY', 1, 1]]);
  assert.deepEqual(d1.rows(`SELECT DISTINCT base_url FROM models`), [['http://127.0.0.1:9999/v1']]);
  assert.equal(moved.changes.filter((c) => c.kind === 'model').length, demo.models.length);
});

test('a pool default is a number or a preset name; the file and the schema refuse other names', async () => {
  const d1 = sqliteD1(path.join(tmp(), 'd1.sqlite'));
  const text = readFileSync(DEMO_CONFIG, 'utf8').replace(
    'default_preference: balanced',
    'default_preference: fast',
  );
  const line = text.split('\n').findIndex((l) => l.includes('default_preference: fast')) + 1;
  const r = await planConfig({ text, file: 'demo.config.yaml', env: {}, d1 });
  assert.equal(r.ok, false);
  assert.equal(r.errors.length, 1);
  assert.match(
    r.errors[0],
    new RegExp(
      `^demo\\.config\\.yaml:${line}:\\d+ tenants\\[0\\]\\.pools\\[0\\]\\.default_preference: `,
    ),
  );
  // and D1 itself refuses a preset it does not know
  const dir = tmp();
  const migrations = readdirSync(path.join(root, 'migrations'))
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => path.join(root, 'migrations', f));
  const bad = path.join(dir, 'bad.sql');
  writeFileSync(
    bad,
    "INSERT INTO tenants (id, name) VALUES ('t', 't'); INSERT INTO pools (id, tenant_id, name, bundle_version, default_preset) VALUES ('p', 't', 'x', 'v', 'fast');",
  );
  const s = spawnSync(
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
  assert.notEqual(s.status, 0);
  assert.match(s.stderr, /CHECK constraint failed/);
});

test('manifest entries are found by name or alias', () => {
  const manifest = { models: [{ name: 'gpt-4o_dir-gpt4o', aliases: ['gpt-4o-2024-05-13'] }] };
  assert.equal(manifestEntry(manifest, 'gpt-4o-2024-05-13')?.name, 'gpt-4o_dir-gpt4o');
  assert.equal(manifestEntry(manifest, 'gpt-4o'), undefined);
});

test('the demo key, the stand-in secret and the operator token are made once and then kept', () => {
  const dir = tmp();
  const a = demoApiKey(dir);
  assert.match(a.key, /^sk-router-demo-[0-9a-f]{32}$/);
  assert.deepEqual(demoApiKey(dir), a);
  const vars = path.join(dir, '.dev.vars');
  writeFileSync(vars, 'OPENAI_API_KEY=sk-real\n');
  const v = ensureDevVar(vars, 'STANDIN_API_KEY');
  assert.equal(ensureDevVar(vars, 'STANDIN_API_KEY'), v);
  const op = ensureDevVar(vars, 'OPERATOR_TOKEN', 32);
  assert.match(op, /^[0-9a-f]{64}$/);
  assert.equal(ensureDevVar(vars, 'OPERATOR_TOKEN', 32), op);
  assert.equal(
    readFileSync(vars, 'utf8'),
    `OPENAI_API_KEY=sk-real\nSTANDIN_API_KEY=${v}\nOPERATOR_TOKEN=${op}\n`,
  );
});
