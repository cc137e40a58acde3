// node --test: `npm run loadtest` in its quickest form against a real router served as `npm start`
// serves it (scripts/start.mjs: wrangler dev --local, local D1/R2, the stand-in upstream), on its
// own ports and state folder: one 3 s run at 4 req/s per endpoint, spread over two test tenants.
// Checks the JSON it writes, that every 2xx answer has its decision row, and that it leaves no
// process and no test tenant behind.
// The first run in a fresh checkout prepares .wrangler/loadtest-state (about a minute); later runs
// take about 40 s on a busy 2-core machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { localD1 } from '../../scripts/loadtest/d1.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const LIMIT_MS = 240_000;

/** Runs the load test; on overrun sends SIGINT (it then stops its server), later SIGKILL. */
function loadtest(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'scripts', 'loadtest.mjs'), ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const soft = setTimeout(() => child.kill('SIGINT'), LIMIT_MS);
    const hard = setTimeout(() => child.kill('SIGKILL'), LIMIT_MS + 30_000);
    child.on('exit', (code) => {
      clearTimeout(soft);
      clearTimeout(hard);
      resolve({ code, out });
    });
  });
}

/** Whether `pid` runs (a zombie waiting for its parent to reap it has ended). */
function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

test(
  'npm run loadtest -- --quick --rate 4: JSON per endpoint, no decision row lost, nothing left behind',
  { timeout: LIMIT_MS + 60_000 },
  async () => {
    const json = path.join(mkdtempSync(path.join(tmpdir(), 'loadtest-')), 'out.json');
    const { code, out } = await loadtest([
      '--quick',
      '--rate',
      '4',
      '--duration',
      '3',
      '--tenants',
      '2',
      '--json',
      json,
    ]);
    assert.equal(code, 0, out);

    const results = JSON.parse(readFileSync(json, 'utf8'));
    assert.deepEqual(
      results.map((r) => r.endpoint),
      ['route', 'chat'],
    );
    for (const r of results) {
      for (const k of [
        'rps',
        'errors',
        'p50_ms',
        'p99_ms',
        'rows_lost',
        'requests',
        'rss_before_mb',
        'rss_after_mb',
        'duration_s',
      ]) {
        assert.equal(typeof r[k], 'number', `${r.endpoint}.${k} = ${r[k]}`);
      }
      assert.equal(r.errors, 0, out);
      assert.equal(r.rows_lost, 0, out);
      assert.equal(r.rows, r.ok);
      assert.ok(
        r.requests >= 8 && r.ok === r.requests,
        `${r.endpoint}: ${r.requests} requests, ${r.ok} ok`,
      );
      assert.ok(r.rss_before_mb > 0 && r.rss_after_mb > 0);
      assert.equal(r.passed, true);
      assert.equal(r.runs.length, 1);
      assert.equal(r.runs[0].kind, 'fixed');
      assert.equal(r.runs[0].tenants, 2);
    }

    // the router and its workerd processes are gone, and so is the test tenant
    const pids = /runtime pid (\d+), proxy pid (\d+)/.exec(out);
    assert.ok(pids, out);
    assert.ok(!alive(Number(pids[1])) && !alive(Number(pids[2])), 'workerd processes ended');
    const url = /router on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)[1];
    await assert.rejects(fetch(`${url}/healthz`), 'nothing answers on the router port');
    const ids = /test tenants .*: (loadtest-[0-9a-f]+) (loadtest-[0-9a-f]+)$/m
      .exec(out)
      .slice(1)
      .map((id) => `'${id}'`)
      .join(', ');
    const d1 = localD1({ root, stateDir: path.join(root, '.wrangler', 'loadtest-state') });
    const [left] =
      await d1.query(`SELECT (SELECT COUNT(*) FROM tenants WHERE id IN (${ids})) + (SELECT COUNT(*) FROM decision_log WHERE tenant_id IN (${ids}))
    + (SELECT COUNT(*) FROM models WHERE tenant_id IN (${ids})) + (SELECT COUNT(*) FROM api_keys WHERE tenant_id IN (${ids})) AS n`);
    assert.equal(left.n, 0);
  },
);
