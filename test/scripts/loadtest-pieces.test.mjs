// node --test: the pieces of `npm run loadtest` without wrangler: one fixed-rate run against a small
// local server (counts, errors, decision ids), the decision-row accounting against a stand-in D1,
// and the /proc readings (listener, process tree, RSS).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  countRows,
  loadtestTenant,
  rowIds,
  seedTenants,
  waitForRows,
} from '../../scripts/loadtest/d1.mjs';
import {
  descendants,
  listenerPid,
  parentPid,
  routerWorkerd,
  rssOf,
} from '../../scripts/loadtest/procs.mjs';
import { tenantCeilingRps, tenantsPolicy } from '../../scripts/loadtest/ceiling.mjs';
import { connectionsFor, runAt } from '../../scripts/loadtest/run.mjs';
import { readDemoConfig, seedDemo } from '../../scripts/seed-demo.mjs';
import { sqliteD1 } from './support/sqlite-d1.mjs';

/** A router look-alike: answers POST /v1/route with a decision id; `fail(n)` picks the n-th request's status. */
async function fakeRouter(fail = () => 200) {
  const seen = { requests: 0, drops: 0, prompts: new Set(), auth: new Set(), byAuth: {} };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      const n = seen.requests++;
      seen.auth.add(req.headers.authorization);
      seen.byAuth[req.headers.authorization] = (seen.byAuth[req.headers.authorization] ?? 0) + 1;
      seen.prompts.add(JSON.parse(body).messages[0].content);
      const status = fail(n);
      if (status === 0) {
        seen.drops++;
        req.socket.destroy();
        return;
      }
      if (status === 'proxy') {
        // what wrangler dev's ProxyWorker answers when it loses the runtime mid-request
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end(
          'Your worker restarted mid-request. Please try sending the request again. Only GET or HEAD requests are retried automatically.',
        );
        return;
      }
      if (status !== 200) {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            error: {
              message: 'no',
              type: 'rate_limit_error',
              param: null,
              code: status === 429 ? 'rate_limited' : 'x',
            },
          }),
        );
        return;
      }
      res.writeHead(200, {
        'content-type': 'application/json',
        'x-router-decision-id': randomUUID(),
      });
      res.end('{"model":"m"}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    seen,
    server,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(r);
      }),
  };
}

test('a fixed-rate run: every request has its own prompt and the key; 2xx decision ids are kept', async () => {
  const router = await fakeRouter();
  let i = 0;
  const r = await runAt({
    url: router.url,
    keys: ['sk-test'],
    endpoint: 'route',
    rate: 20,
    seconds: 2,
    prompts: ['a', 'b'],
    nextIndex: () => i++,
  });
  await router.close();
  assert.equal(r.errors, 0);
  assert.equal(r.requests, r.ok);
  // the server also saw the requests still in flight when the run stopped (answered too late to count)
  assert.ok(
    router.seen.requests >= r.ok && router.seen.requests <= r.ok + r.in_flight_at_end,
    `${router.seen.requests} seen, ${r.ok} ok, ${r.in_flight_at_end} in flight`,
  );
  // autocannon paces per second and starts each second's requests at its start
  assert.ok(
    r.ok >= 30 && r.ok <= 20 * Math.ceil(r.duration_s + 1),
    `about 40 requests at 20/s for 2 s, got ${r.ok} in ${r.duration_s} s`,
  );
  assert.equal(r.decisionIds.length, r.ok);
  assert.equal(new Set(r.decisionIds).size, r.ok);
  assert.equal(router.seen.prompts.size, router.seen.requests, 'no prompt text repeats');
  assert.deepEqual([...router.seen.auth], ['Bearer sk-test']);
  assert.equal(r.target_rate, 20);
  assert.equal(r.connections, connectionsFor(20));
  assert.deepEqual(
    [connectionsFor(1), connectionsFor(3), connectionsFor(100), connectionsFor(5000)],
    [1, 2, 50, 256],
  );
  assert.ok(typeof r.p50_ms === 'number' && typeof r.p99_ms === 'number');
});

test("errors count every non-2xx answer (429s and the dev proxy's 503s also apart), every socket error and every lost request", async () => {
  // every 5th request is a 429, every 7th a 500, every 11th a dropped connection, every 13th the dev proxy's 503
  const router = await fakeRouter((n) =>
    n % 13 === 12 ? 'proxy' : n % 11 === 10 ? 0 : n % 7 === 6 ? 500 : n % 5 === 4 ? 429 : 200,
  );
  let i = 0;
  const r = await runAt({
    url: router.url,
    keys: ['k'],
    endpoint: 'chat',
    rate: 30,
    seconds: 2,
    prompts: ['p'],
    nextIndex: () => i++,
  });
  await router.close();
  const limited = r.failures['429 rate_limited'] ?? 0;
  const failed = r.failures['500 x'] ?? 0;
  // a connection closed without an answer is an error too (a reset or a clean close, whichever the socket saw)
  const dropped = r.socket_errors + r.no_answer;
  assert.ok(limited > 0 && failed > 0 && dropped > 0, JSON.stringify(r.failures));
  assert.equal(r.rate_limited, limited);
  assert.match(r.failure_samples['429 rate_limited'], /"code":"rate_limited"/);
  const proxied = r.failures['503 wrangler dev proxy lost the runtime'] ?? 0;
  assert.ok(proxied > 0);
  assert.equal(r.dev_proxy_errors, proxied);
  assert.equal(r.non2xx, limited + failed + proxied);
  assert.equal(r.errors, r.non2xx + r.timeouts + dropped);
  assert.equal(r.decisionIds.length, r.ok);
  assert.equal(r.requests, r.ok + r.errors);
  // every request the server saw ended one way or another, or was still in flight at the end
  assert.ok(
    router.seen.requests >= r.requests && router.seen.requests <= r.requests + r.in_flight_at_end,
  );
  // a request lost in the last moment is indistinguishable from one in flight when the run stopped
  assert.ok(
    dropped <= router.seen.drops && router.seen.drops <= dropped + r.in_flight_at_end,
    `${dropped} counted, ${router.seen.drops} dropped, ${r.in_flight_at_end} in flight`,
  );
});

test('several keys: requests go round-robin over them (one tenant each), so a per-tenant ceiling is shared out', async () => {
  const router = await fakeRouter();
  let i = 0;
  const r = await runAt({
    url: router.url,
    keys: ['a', 'b', 'c'],
    endpoint: 'route',
    rate: 30,
    seconds: 2,
    prompts: ['p'],
    nextIndex: () => i++,
  });
  await router.close();
  assert.equal(r.errors, 0);
  assert.equal(r.tenants, 3);
  const counts = Object.values(router.seen.byAuth);
  assert.deepEqual(Object.keys(router.seen.byAuth).sort(), ['Bearer a', 'Bearer b', 'Bearer c']);
  assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, JSON.stringify(router.seen.byAuth));
});

test('a [[ratelimits]] ceiling in wrangler.toml is read, and runs are spread to stay under half of it', () => {
  const toml =
    'name = "x"\n[[ratelimits]]\nname = "TENANT_RATE_LIMITER"\nnamespace_id = "1001"\nsimple = { limit = 6000, period = 60 }\n';
  assert.equal(tenantCeilingRps(toml), 100);
  assert.equal(tenantCeilingRps('# [[ratelimits]] is off\nname = "x"\n'), null);
  assert.deepEqual([10, 50, 51, 104, 2000].map(tenantsPolicy(null, 100)), [1, 1, 2, 3, 40]);
  assert.deepEqual([10, 2000].map(tenantsPolicy(null, null)), [1, 1]);
  assert.deepEqual([10, 2000].map(tenantsPolicy(4, 100)), [4, 4]);
});

/** A stand-in for localD1: rows land `lag` polls late, as waitUntil writes do. */
function fakeD1(rowsByPoll) {
  let polls = 0;
  const stored = [];
  return {
    stored,
    async query(sql) {
      if (/COUNT\(\*\)/.test(sql)) return [{ n: rowsByPoll(polls++) }];
      const offset = Number(/OFFSET (\d+)/.exec(sql)[1]);
      const limit = Number(/LIMIT (\d+)/.exec(sql)[1]);
      return stored.slice(offset, offset + limit).map((id) => ({ id }));
    },
  };
}

test('row accounting: waits for late rows, stops when the count is reached or stops growing, pages through ids', async () => {
  const grows = fakeD1((p) => Math.min(10, p * 3));
  assert.equal(
    await waitForRows(grows, 't', '2026-01-01T00:00:00.000Z', 10, { quietMs: 2000, maxMs: 20_000 }),
    10,
  );

  const stuck = fakeD1(() => 7);
  const t0 = Date.now();
  assert.equal(await waitForRows(stuck, 't', 'x', 10, { quietMs: 1000, maxMs: 20_000 }), 7);
  assert.ok(Date.now() - t0 < 5000, 'a count that stopped growing ends the wait');

  const many = fakeD1(() => 0);
  for (let k = 0; k < 12_345; k++) many.stored.push(`id-${k}`);
  const ids = await rowIds(many, "it's", 'x');
  assert.equal(ids.size, 12_345);
  assert.equal(
    await countRows(
      fakeD1(() => 4),
      't',
      'x',
    ),
    4,
  );
});

test('/proc: the listener of a port, a process tree, and RSS', async () => {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  assert.equal(listenerPid(server.address().port), process.pid);
  server.close();
  const mem = rssOf(process.pid);
  assert.ok(mem.rssMb > 10 && mem.peakMb >= mem.rssMb, JSON.stringify(mem));
  assert.equal(rssOf(2 ** 22 + 1), null, 'a process that does not exist');

  const child = spawn('sh', ['-c', 'sleep 30 & wait'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  const tree = descendants(child.pid);
  assert.equal(tree.length, 1);
  assert.equal(parentPid(tree[0]), child.pid);
  // no workerd under it: nothing to report rather than a wrong process
  assert.deepEqual(routerWorkerd({ port: 1, rootPid: child.pid }), { runtime: null, proxy: null });
  process.kill(tree[0], 'SIGTERM');
  child.kill('SIGTERM');
});

/** Runs SQL files, then `query`, on one SQLite file (D1 is SQLite); returns the query's rows. */
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

test('the load-test tenant: a copy of the demo pool beside the demo tenant, with its own key, and removed without a trace', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'loadtest-tenant-'));
  const demoTenant = readDemoConfig().tenants[0];
  const n = demoTenant.models.length;
  const manifest = {
    version: 'v-test',
    models: demoTenant.models.map((m) => ({
      name: m.bundle_model,
      aliases: [],
      mean_output_tokens: m.expected_output_tokens,
    })),
  };
  // the demo, as npm start seeds it, and a load-test tenant beside it, through the config tool
  const d1 = sqliteD1(path.join(dir, 'd1.sqlite'));
  const db = d1.file;
  await seedDemo({
    d1,
    standinPort: 8788,
    bundleVersion: 'v-test',
    key: 'sk-router-demo-x',
    keyHash: 'ab'.repeat(32),
  });
  const t = loadtestTenant({ manifest, baseUrl: 'http://127.0.0.1:41000/v1' });
  assert.match(t.id, /^loadtest-[0-9a-f]{8}$/);
  assert.deepEqual(t.warnings, []);
  await seedTenants(d1, [t]);
  const perTenant =
    'SELECT tenant_id, COUNT(*), MIN(base_url) FROM models GROUP BY tenant_id ORDER BY tenant_id';
  assert.deepEqual(sqlite(db, [], perTenant), [
    ['demo', n, 'http://127.0.0.1:8788/v1'],
    [t.id, n, 'http://127.0.0.1:41000/v1'],
  ]);
  const keyHash = createHash('sha256').update(t.key).digest('hex');
  assert.deepEqual(sqlite(db, [], `SELECT tenant_id FROM api_keys WHERE key_hash = '${keyHash}'`), [
    [t.id],
  ]);
  assert.deepEqual(
    sqlite(
      db,
      [],
      `SELECT p.name, p.bundle_version, COUNT(*) FROM pools p JOIN pool_members m ON m.pool_id = p.id WHERE p.tenant_id = '${t.id}' GROUP BY p.name`,
    ),
    [['loadtest', 'v-test', n]],
  );
  assert.deepEqual(sqlite(db, [], `SELECT host FROM upstream_grants WHERE tenant_id = '${t.id}'`), [
    ['127.0.0.1:41000'],
  ]);

  const log = path.join(dir, 'log.sql');
  writeFileSync(
    log,
    `INSERT INTO decision_log (id, tenant_id, model, status) VALUES ('d1', '${t.id}', 'm', 'ok'), ('d2', 'demo', 'm', 'ok');`,
  );
  const cleanup = path.join(dir, 'cleanup.sql');
  writeFileSync(cleanup, `${t.cleanupSql()};`);
  const everything = `SELECT (SELECT COUNT(*) FROM tenants), (SELECT COUNT(*) FROM api_keys), (SELECT COUNT(*) FROM models), (SELECT COUNT(*) FROM pools),
    (SELECT COUNT(*) FROM pool_members), (SELECT COUNT(*) FROM upstream_grants), (SELECT COUNT(*) FROM decision_log)`;
  assert.deepEqual(
    sqlite(db, [log, cleanup], everything),
    [[1, 1, n, 1, n, 1, 1]],
    'only the demo tenant is left',
  );
});
