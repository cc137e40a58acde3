// node --test: `npm run config` end to end against a local D1 of its own (wrangler d1 execute
// --local --persist-to a temp folder, as for npm start's): plan, apply, apply again (no changes), a
// broken file (every problem with file:line:column and path; nothing applied), a batch whose last
// statement fails (nothing of it applied), and the JSON Schema file and the documented example
// kept in step with the code. Slow (tens of seconds): each wrangler call starts Miniflare.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { configCore } from '../../scripts/config/core.mjs';
import { wranglerD1 } from '../../scripts/config/d1.mjs';
import { applyConfig, planConfig } from '../../scripts/config/run.mjs';
import { sqliteD1 } from './support/sqlite-d1.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'router-config-'));
const stateDir = path.join(dir, 'state');

const FILE = `version: 1
models:
  - name: shared-gpt
    provider: openai
    upstream_model: gpt-4o-mini
    base_url: https://api.openai.com/v1
    secret_name: OPENAI_API_KEY
    input_usd_per_mtok: 0.15
    output_usd_per_mtok: 0.6
tenants:
  - id: acme
    name: "Acme; O'Brien & Co"
    default_pool: main
    rpm_limit: 600
    grants:
      - { host: "10.0.0.7:8000", allow_http: true, allow_private: true }
    models:
      - name: local-llama
        provider: openai
        upstream_model: llama-3.1-8b
        base_url: http://10.0.0.7:8000/v1
        input_usd_per_mtok: 0.1
        output_usd_per_mtok: \${LLAMA_OUT:-0.2}
    pools:
      - name: main
        bundle_version: v2026-11-23.5
        default_preference: balanced
        fallback_model: shared-gpt
        members: [local-llama, shared-gpt]
    experiments:
      - pool: main
        name: cheaper
        arms: [{ name: control, weight: 9 }, { name: w02, weight: 1, preference: 0.02 }]
`;

/** `npm run config -- ...args` (async, so the test process stays responsive). */
function config(...args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'scripts', 'config.mjs'), ...args], {
      cwd: dir,
      env: { ...process.env, STATE_DIR: stateDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test(
  'plan, apply, apply again: the second apply changes nothing',
  { timeout: 240_000 },
  async () => {
    const migrate = spawnSync(
      path.join(root, 'node_modules', '.bin', 'wrangler'),
      ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', stateDir],
      {
        cwd: root,
        env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false' },
        encoding: 'utf8',
      },
    );
    assert.equal(migrate.status, 0, migrate.stderr);
    writeFileSync(path.join(dir, 'router.config.yaml'), FILE);

    const plan = await config('plan', '--local');
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /^\+ model \(global\)\/shared-gpt$/m);
    assert.match(plan.stdout, /^\+ tenant acme$/m);
    assert.match(plan.stdout, /^ {4}output_usd_per_mtok: 0\.2$/m);
    assert.match(plan.stdout, /^\+ experiment acme\/main\/cheaper$/m);
    assert.match(plan.stdout, /^Plan: 6 to create, 0 to update, 0 to delete\.$/m);

    const apply = await config('apply');
    assert.equal(apply.code, 0, apply.stderr);
    assert.match(
      apply.stdout,
      /Applied 6 change\(s\) in one transaction; the local D1 database in .* matches router\.config\.yaml\./,
    );
    const d1 = wranglerD1({ root, stateDir });
    const [[tenant], [pool]] = await d1.queryAll([
      "SELECT name, rpm_limit FROM tenants WHERE id = 'acme'",
      "SELECT default_preset, fallback_model, (SELECT COUNT(*) FROM pool_members WHERE pool_id = pools.id) AS members FROM pools WHERE tenant_id = 'acme'",
    ]);
    assert.deepEqual(tenant, { name: "Acme; O'Brien & Co", rpm_limit: 600 });
    assert.deepEqual(pool, {
      default_preset: 'balanced',
      fallback_model: 'shared-gpt',
      members: 2,
    });

    const again = await config('apply', '--file', 'router.config.yaml');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout.trim(), 'No changes.');

    // an edit through the environment: one update
    const edited = await new Promise((resolve) => {
      const child = spawn(process.execPath, [path.join(root, 'scripts', 'config.mjs'), 'plan'], {
        cwd: dir,
        env: { ...process.env, STATE_DIR: stateDir, LLAMA_OUT: '0.25' },
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('close', () => resolve(out));
    });
    assert.equal(
      edited.trim(),
      [
        '~ model acme/local-llama',
        '    output_usd_per_mtok: 0.2 -> 0.25',
        'Plan: 0 to create, 1 to update, 0 to delete.',
      ].join('\n'),
    );

    // a broken file: every problem, with file:line:column and path; nothing applied
    const broken = FILE.replace('input_usd_per_mtok: 0.1\n', 'input_usd_per_mtok: -0.1\n')
      .replace('members: [local-llama, shared-gpt]', 'members: [local-llama, nobody]')
      .replace('base_url: http://10.0.0.7:8000/v1', 'base_url: http://10.0.0.8:8000/v1');
    writeFileSync(path.join(dir, 'broken.yaml'), broken);
    const lineOf = (needle) => broken.split('\n').findIndex((l) => l.includes(needle)) + 1;
    const bad = await config('apply', '--file', 'broken.yaml');
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      new RegExp(
        `^broken\\.yaml:${lineOf('-0.1')}:\\d+ tenants\\[0\\]\\.models\\[0\\]\\.input_usd_per_mtok: `,
        'm',
      ),
    );
    writeFileSync(path.join(dir, 'refs.yaml'), broken.replace(': -0.1\n', ': 0.1\n'));
    const r2 = await config('apply', '--file', 'refs.yaml');
    assert.equal(r2.code, 1);
    assert.match(
      r2.stderr,
      new RegExp(
        `^refs\\.yaml:${lineOf('10.0.0.8')}:\\d+ tenants\\[0\\]\\.models\\[0\\]\\.base_url: host 10\\.0\\.0\\.8:8000 is not granted`,
        'm',
      ),
    );
    assert.match(
      r2.stderr,
      new RegExp(
        `^refs\\.yaml:${lineOf('nobody')}:\\d+ tenants\\[0\\]\\.pools\\[0\\]\\.members\\[1\\]: no model "nobody"`,
        'm',
      ),
    );
    assert.match(r2.stderr, /2 problem\(s\) in refs\.yaml; nothing was applied\./);
    assert.equal((await config('plan')).stdout.trim(), 'No changes.');
  },
);

test(
  'a batch whose last statement fails leaves the local D1 as it was',
  { timeout: 120_000 },
  async () => {
    const d1 = wranglerD1({ root, stateDir: path.join(dir, 'atomic') });
    spawnSync(
      path.join(root, 'node_modules', '.bin', 'wrangler'),
      ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', path.join(dir, 'atomic')],
      { cwd: root, env: { ...process.env, CI: 'true' } },
    );
    await assert.rejects(
      d1.run([
        "INSERT INTO tenants (id, name) VALUES ('first', 'x');",
        "INSERT INTO pools (id, tenant_id, name, bundle_version, default_preset) VALUES ('p', 'first', 'x', 'v', 'fast');",
      ]),
      /CHECK constraint failed/,
    );
    const [rows] = await d1.queryAll(["SELECT COUNT(*) AS n FROM tenants WHERE id = 'first'"]);
    assert.deepEqual(rows, [{ n: 0 }]);
  },
);

test('a change made between plan and apply fails the whole apply', async () => {
  const target = sqliteD1(path.join(dir, 'race.sqlite'));
  // another writer registers acme/local-llama after the plan was made, before it is written
  const racing = {
    ...target,
    describe: target.describe,
    queryAll: target.queryAll,
    async run(statements) {
      await target.run([
        "INSERT INTO tenants (id, name) VALUES ('acme', 'other writer');",
        "INSERT INTO models (id, tenant_id, name, provider, upstream_model, input_usd_per_mtok, output_usd_per_mtok) VALUES ('m-x', 'acme', 'local-llama', 'openai', 'x', 1, 1);",
      ]);
      return target.run(statements);
    },
  };
  await assert.rejects(
    applyConfig({ text: FILE, file: 'f', env: {}, d1: racing }),
    /UNIQUE constraint failed|constraint/,
  );
  // only the other writer's rows are there: none of the plan's
  assert.deepEqual(target.rows('SELECT id, name FROM tenants'), [['acme', 'other writer']]);
  assert.deepEqual(target.rows('SELECT COUNT(*) FROM pools'), [[0]]);
  assert.deepEqual(target.rows('SELECT COUNT(*) FROM models WHERE tenant_id IS NULL'), [[0]]);
});

test('router.config.schema.json is the schema the code validates with', async () => {
  const { configJsonSchema } = await configCore();
  const file = JSON.parse(readFileSync(path.join(root, 'router.config.schema.json'), 'utf8'));
  assert.deepEqual(file, configJsonSchema(), 'run: npm run config -- schema');
});

test('the examples in docs/config.md and the README, and the demo config, are valid files', async () => {
  const d1 = sqliteD1(path.join(dir, 'docs.sqlite'));
  for (const file of ['docs/config.md', 'README.md']) {
    const doc = readFileSync(path.join(root, file), 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(example, `${file} has a yaml example`);
    const r = await planConfig({ text: example, file, env: {}, d1 });
    assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
    assert.ok(r.plan.changes.length > 0);
  }
  const demo = readFileSync(path.join(root, 'scripts', 'demo.config.yaml'), 'utf8');
  assert.ok((await planConfig({ text: demo, file: 'demo', env: {}, d1 })).ok);
});
