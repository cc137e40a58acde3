// node --test: `npm run report -- --pool NAME` end to end against the real worker (`wrangler dev
// --local` on a D1 of its own, its tenant, models and pool applied with `npm run config`'s code and
// decision rows written in): the printed report, the PNG, the router's errors passed on; and the
// options on their own. Slow (tens of seconds): wrangler starts Miniflare for each D1 command and
// for the worker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { wranglerD1 } from '../../scripts/config/d1.mjs';
import { applyConfig } from '../../scripts/config/run.mjs';
import { instant, reportOptions, savingsUrl } from '../../scripts/report/pool.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const wranglerBin = path.join(root, 'node_modules', '.bin', 'wrangler');
const dir = mkdtempSync(path.join(tmpdir(), 'router-report-'));
const stateDir = path.join(dir, 'state');
const KEY = 'sk-report-test-0123456789abcdef';
const env = { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false' };

const CONFIG = `version: 1
tenants:
  - id: rpt
    name: report test
    default_pool: main
    models:
      - { name: big, provider: openai, upstream_model: big, input_usd_per_mtok: 10, output_usd_per_mtok: 30 }
      - { name: small, provider: openai, upstream_model: small, input_usd_per_mtok: 1, output_usd_per_mtok: 2 }
    pools:
      - { name: main, bundle_version: v2026-11-23.5, members: [big, small] }
  - id: other
    name: another tenant with a pool of the same name
    pools:
      - { name: main, bundle_version: v2026-11-23.5 }
`;

/** A decision row: `model` served, candidates big and small predicted 0.9 and 0.6. */
function row(id, tenant, at, model, prompt, completion, cost) {
  const q = model === 'big' ? 0.9 : 0.6;
  return `INSERT INTO decision_log (id, tenant_id, pool, model, status, created_at, candidates, probs,
    predicted_qualities, predicted_quality, prompt_tokens, completion_tokens, cost_usd, attempts)
    VALUES ('${id}', '${tenant}', 'main', '${model}', 'ok', '${at}', '["big","small"]', '[0.5,0.5]',
    '[0.9,0.6]', ${q}, ${prompt}, ${completion}, ${cost}, '[]');`;
}

let worker = null;
let url = '';

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function waitReady(base, deadlineMs) {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`wrangler dev did not answer on ${base} within ${deadlineMs} ms`);
}

before(async () => {
  const migrate = spawnSync(
    wranglerBin,
    ['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', stateDir],
    { cwd: root, env, encoding: 'utf8' },
  );
  assert.equal(migrate.status, 0, migrate.stderr);
  const d1 = wranglerD1({ root, stateDir });
  const applied = await applyConfig({ text: CONFIG, file: 'report.yaml', env: {}, d1 });
  assert.ok(applied.ok, applied.ok ? '' : applied.errors.join('\n'));
  const hash = createHash('sha256').update(KEY).digest('hex');
  await d1.run([
    `INSERT INTO api_keys (key_hash, tenant_id) VALUES ('${hash}', 'rpt');`,
    row('d1', 'rpt', '2026-11-02T10:00:00.000Z', 'small', 1000, 500, 0.002),
    row('d2', 'rpt', '2026-11-02T11:00:00.000Z', 'big', 2000, 1000, 0.05),
    row('d3', 'rpt', '2026-11-03T09:00:00.000Z', 'small', 3000, 1000, 0.005),
    // another tenant's row in a pool of the same name, in the window: never counted
    row('x1', 'other', '2026-11-02T12:00:00.000Z', 'big', 9000, 9000, 9),
  ]);
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  worker = spawn(
    wranglerBin,
    ['dev', '--local', '--persist-to', stateDir, '--ip', '127.0.0.1', '--port', String(port)],
    { cwd: root, env, stdio: 'ignore', detached: true },
  );
  await waitReady(url, 120_000);
});

after(() => {
  // the process group of the wrangler dev this file started (wrangler and its workerd children)
  if (worker) process.kill(-worker.pid, 'SIGTERM');
});

/** `npm run report -- ...args` against the worker. */
function report(...args) {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [path.join(root, 'scripts', 'report.mjs'), ...args, '--url', url, '--key', KEY],
      { cwd: dir, env: { ...process.env, STATE_DIR: stateDir }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test(
  'prints the savings against the best predicted member, per day, and draws them',
  { timeout: 180_000 },
  async () => {
    const png = path.join(dir, 'savings.png');
    const r = await report(
      '--pool',
      'main',
      '--since',
      '2026-11-01',
      '--until',
      '2026-11-05',
      '--png',
      png,
    );
    assert.equal(r.code, 0, r.stderr);
    // by hand: baseline big (mean predicted quality 0.9 > 0.6); day 1 routed 0.002 + 0.05, on big
    // (1000*10 + 500*30)/1e6 + 0.05 = 0.075; day 2 routed 0.005, on big (3000*10 + 1000*30)/1e6 = 0.06
    assert.equal(
      r.stdout,
      [
        'pool main: 2026-11-01T00:00:00.000Z to 2026-11-05T00:00:00.000Z (per day)',
        'baseline: big (the member with the highest mean predicted quality), $10 in / $30 out per M tokens',
        'requests: 3 (3 priced; 0 without usage, left out of both costs)',
        'cost: routed $0.057000, always big $0.135000, saved $0.078000 (57.8%)',
        'predicted quality over 3 requests: routed 0.700, always big 0.900',
        '',
        'start       requests     routed   baseline      saved  cumulative  quality  baseline q',
        '2026-11-02         2  $0.052000  $0.075000  $0.023000   $0.023000    0.750       0.900',
        '2026-11-03         1  $0.005000  $0.060000  $0.055000   $0.078000    0.600       0.900',
        `wrote ${png}`,
        '',
      ].join('\n'),
    );
    const image = readFileSync(png);
    assert.deepEqual([...image.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    // IHDR: 9 x 8 inches at 100 dpi
    assert.deepEqual([image.readUInt32BE(16), image.readUInt32BE(20)], [900, 800]);

    const json = await report(
      '--pool',
      'main',
      '--since',
      '2026-11-01',
      '--until',
      '2026-11-05',
      '--json',
    );
    assert.equal(json.code, 0, json.stderr);
    const answer = JSON.parse(json.stdout);
    assert.equal(answer.object, 'pool.savings');
    assert.equal(answer.totals.requests, 3);

    // an empty window: the totals say so, and no chart is drawn (exit 0)
    const none = path.join(dir, 'none.png');
    const empty = await report(
      '--pool',
      'main',
      '--since',
      '2026-10-01',
      '--until',
      '2026-10-05',
      '--png',
      none,
    );
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(
      empty.stdout,
      /^requests: 0 \(0 priced; 0 without usage, left out of both costs\)$/m,
    );
    assert.match(empty.stdout, /\nno requests in the window\n$/);
    assert.equal(empty.stderr, `no requests in the window: ${none} not drawn\n`);
    assert.equal(existsSync(none), false);
  },
);

test(
  'the router’s errors are passed on with its code, and exit 1',
  { timeout: 60_000 },
  async () => {
    const missing = await report('--pool', 'nowhere');
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim(), 'report: 404 pool_not_found: pool "nowhere" not found');
    const window = await report('--pool', 'main', '--since', '2026-11-05', '--until', '2026-11-01');
    assert.equal(window.code, 1);
    assert.match(window.stderr, /^report: 400 invalid_window: since must be before until$/m);
    const key = await new Promise((resolve) => {
      const child = spawn(
        process.execPath,
        [
          path.join(root, 'scripts', 'report.mjs'),
          '--pool',
          'main',
          '--url',
          url,
          '--key',
          'sk-wrong',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    assert.equal(key.code, 1);
    assert.match(key.stderr, /^report: 401 invalid_api_key: /);
  },
);

test('options: relative times, the key from the flag, the environment or npm start, the URL', () => {
  const now = new Date('2026-12-08T12:00:00.000Z');
  assert.equal(instant('7d', now), '2026-12-01T12:00:00.000Z');
  assert.equal(instant('12h', now), '2026-12-08T00:00:00.000Z');
  assert.equal(instant('2026-11-01', now), '2026-11-01');
  const state = mkdtempSync(path.join(tmpdir(), 'router-report-key-'));
  writeFileSync(path.join(state, 'demo-api-key'), 'sk-router-demo-abc\n');
  const o = reportOptions(
    ['--pool', 'demo', '--since', '1d'],
    { STATE_DIR: state, PORT: '9000' },
    now,
  );
  assert.deepEqual(
    { key: o.key, url: o.url, since: o.since, bucket: o.bucket },
    {
      key: 'sk-router-demo-abc',
      url: 'http://127.0.0.1:9000',
      since: '2026-12-07T12:00:00.000Z',
      bucket: 'day',
    },
  );
  assert.equal(
    reportOptions(['--pool', 'p'], { STATE_DIR: state, ROUTER_API_KEY: 'sk-env' }).key,
    'sk-env',
  );
  assert.equal(
    reportOptions(['--pool', 'p', '--key', 'sk-flag'], { ROUTER_API_KEY: 'sk-env' }).key,
    'sk-flag',
  );
  assert.equal(
    savingsUrl({ ...o, pool: 'a/b c', url: 'http://h:1', baseline: 'gpt-4o' }),
    'http://h:1/admin/pools/a%2Fb%20c/savings?bucket=day&since=2026-12-07T12%3A00%3A00.000Z&baseline=gpt-4o',
  );
  assert.throws(() => reportOptions([], { ROUTER_API_KEY: 'k' }), /--pool NAME is required/);
  assert.throws(
    () => reportOptions(['--pool', 'p', '--bucket', 'week'], { ROUTER_API_KEY: 'k' }),
    /--bucket is day or hour/,
  );
  assert.throws(
    () => reportOptions(['--pool', 'p'], { STATE_DIR: path.join(state, 'none') }),
    /no API key/,
  );
});

test("without a kind the dispatcher prints both kinds' usage and exits 2", () => {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'report.mjs')], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^usage: npm run report -- --experiment ID/);
  assert.match(r.stderr, /npm run report -- --pool NAME/);
});
