// `npm run loadtest`: how much traffic the router takes, served as `npm start` serves it. Finds, per
// endpoint, the highest fixed rate at which it answers every request for the whole duration without
// an error, and reports per run the rate achieved, errors, p50/p99 latency, the memory of the
// router's workerd process before and after, and decision rows written versus 2xx answers.
// docs/benchmarks/loadtest.md explains the numbers.
//
//   npm run loadtest                               # route + chat, 60 s confirmations (about 15 min)
//   npm run loadtest -- --quick                    # smoke: 5 s runs, rates up to 40/s
//   npm run loadtest -- --rate 20 --duration 30    # one fixed-rate run per endpoint, no search
//   npm run loadtest -- --json out.json            # also write the results as JSON
//   npm run loadtest -- --url http://127.0.0.1:8787 --state .wrangler/state --standin http://127.0.0.1:8788/v1
//                                                  # measure a router that already runs (npm start)
// Options: --endpoints route,chat  --duration S (60)  --probe S (10)  --start-rate R (10)
//   --max-rate R (2000)  --budget S (per endpoint; 4 x duration + 120)  --connections N (rate / 2)
//   --timeout S (10, per request)  --drain S (60, wait for decision rows)  --keep (keep the test
//   tenants' rows)  --state DIR (default .wrangler/loadtest-state; with --url .wrangler/state)
//   --tenants N (spread every run over N test tenants; by default 1, or under a per-tenant
//   [[ratelimits]] ceiling in wrangler.toml as many as keep each under half of it)
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { dataRoot, root } from './setup.mjs';
import { tenantCeilingRps, tenantsPolicy } from './loadtest/ceiling.mjs';
import { wranglerD1 } from './config/d1.mjs';
import { localD1, loadtestTenant, seedTenants } from './loadtest/d1.mjs';
import { describeRun, measuredRun } from './loadtest/measure.mjs';
import { routerWorkerd } from './loadtest/procs.mjs';
import { ENDPOINTS, loadPrompts } from './loadtest/run.mjs';
import { searchRate } from './loadtest/search.mjs';
import { startRouter } from './loadtest/server.mjs';

const log = (msg) => console.log(`[loadtest] ${msg}`);
/** Seconds a run costs beyond its duration: waiting for decision rows and reading them back. */
const RUN_OVERHEAD_S = 15;

function options() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      rate: { type: 'string' },
      duration: { type: 'string' },
      probe: { type: 'string' },
      'start-rate': { type: 'string' },
      'max-rate': { type: 'string' },
      budget: { type: 'string' },
      connections: { type: 'string' },
      timeout: { type: 'string', default: '10' },
      drain: { type: 'string', default: '60' },
      endpoints: { type: 'string', default: 'route,chat' },
      json: { type: 'string' },
      url: { type: 'string' },
      state: { type: 'string' },
      standin: { type: 'string', default: 'http://127.0.0.1:8788/v1' },
      keep: { type: 'boolean', default: false },
      tenants: { type: 'string' },
    },
  });
  const num = (v, fallback) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`not a positive number: ${v}`);
    return n;
  };
  const quick = values.quick;
  const duration = num(values.duration, quick ? 5 : 60);
  const endpoints = values.endpoints
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  for (const e of endpoints)
    if (!ENDPOINTS[e])
      throw new Error(`unknown endpoint ${e} (known: ${Object.keys(ENDPOINTS).join(', ')})`);
  return {
    endpoints,
    duration,
    fixedRate: values.rate === undefined ? null : Math.round(num(values.rate)),
    probe: num(values.probe, quick ? 2 : 10),
    startRate: num(values['start-rate'], quick ? 5 : 10),
    maxRate: num(values['max-rate'], quick ? 40 : 2000),
    budget: num(values.budget, quick ? 60 : 4 * duration + 120),
    connections: values.connections === undefined ? undefined : Math.round(num(values.connections)),
    timeoutS: num(values.timeout),
    drainMs: num(values.drain) * 1000,
    json: values.json,
    url: values.url?.replace(/\/+$/, ''),
    stateDir: path.resolve(
      root,
      values.state ??
        (values.url ? path.join('.wrangler', 'state') : path.join('.wrangler', 'loadtest-state')),
    ),
    standinUrl: values.standin,
    keep: values.keep,
    tenants: values.tenants === undefined ? null : Math.round(num(values.tenants)),
  };
}

/** The DEFAULT bundle's manifest (BUNDLES_DIR as for npm start). */
function defaultManifest() {
  const dir = path.resolve(root, process.env.BUNDLES_DIR || path.join('model-assets', 'bundles'));
  const version = readFileSync(path.join(dir, 'DEFAULT'), 'utf8').trim();
  return JSON.parse(readFileSync(path.join(dir, version, 'manifest.json'), 'utf8'));
}

/** Sends a few requests per endpoint so the first run does not pay for loading the bundle. */
async function warmUp(url, key, endpoints) {
  for (const endpoint of endpoints) {
    const ep = ENDPOINTS[endpoint];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${url}${ep.path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(ep.body(`Warm-up request ${i}: what is ${i} + 2?`)),
      });
      const text = await res.text();
      if (!res.ok)
        throw new Error(`warm-up ${ep.path} answered ${res.status}: ${text.slice(0, 300)}`);
    }
  }
}

/** The result of one endpoint: its confirmed run (or, when none passed, its last run) and every run. */
function endpointResult(endpoint, rate, run, runs, maxRate = null) {
  const shown = run ?? runs.at(-1) ?? null;
  const pick = (k) => shown?.[k] ?? null;
  return {
    endpoint,
    rate,
    capped: rate !== null && rate === maxRate,
    passed: run !== null && run.passed,
    rps: pick('rps'),
    errors: pick('errors'),
    p50_ms: pick('p50_ms'),
    p99_ms: pick('p99_ms'),
    rows_lost: pick('rows_lost'),
    requests: pick('requests'),
    rss_before_mb: pick('rss_before_mb'),
    rss_after_mb: pick('rss_after_mb'),
    duration_s: pick('duration_s'),
    rows: pick('rows'),
    ok: pick('ok'),
    connections: pick('connections'),
    runs,
  };
}

/** Measures one endpoint: a fixed-rate run, or the rate search. */
async function measureEndpoint(ctx, opts, endpoint) {
  const started = Date.now();
  const runAt = async (rate, seconds, kind) => {
    log(`${endpoint} ${kind} at ${rate}/s for ${seconds} s ...`);
    const rec = await measuredRun(ctx, endpoint, rate, seconds, kind);
    log(`  ${describeRun(rec)}`);
    return rec;
  };
  if (opts.fixedRate !== null) {
    const run = await runAt(opts.fixedRate, opts.duration, 'fixed');
    return endpointResult(endpoint, run.passed ? opts.fixedRate : null, run.passed ? run : null, [
      run,
    ]);
  }
  const timeLeft = () => opts.budget - (Date.now() - started) / 1000 - RUN_OVERHEAD_S;
  const { rate, run, runs } = await searchRate({
    runAt,
    startRate: opts.startRate,
    maxRate: opts.maxRate,
    probeS: opts.probe,
    durationS: opts.duration,
    timeLeft,
  });
  if (rate === null)
    log(`${endpoint}: no rate passed for ${opts.duration} s within the ${opts.budget} s budget`);
  return endpointResult(endpoint, rate, run, runs, opts.maxRate);
}

function summary(results, opts) {
  const rows = results.map((r) => [
    r.endpoint,
    `${r.rate ?? 'none'}${r.capped ? ' (cap)' : ''}`,
    r.rps,
    r.errors,
    r.p50_ms,
    r.p99_ms,
    `${r.rows}/${r.ok}`,
    r.rows_lost,
    `${r.rss_before_mb} -> ${r.rss_after_mb}`,
    r.duration_s,
    r.runs.length,
  ]);
  const head = [
    'endpoint',
    'rate/s',
    'rps',
    'errors',
    'p50 ms',
    'p99 ms',
    'rows/2xx',
    'rows lost',
    'workerd RSS MB',
    'seconds',
    'runs',
  ];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padEnd(width[i])).join('  ');
  console.log(
    `\nHighest rate with zero errors for ${opts.duration} s (its run; "none" = no rate passed, "(cap)" = --max-rate reached):`,
  );
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}

async function main() {
  const opts = options();
  log(
    'zero errors = every request answered 2xx: no non-2xx answer (429 included), no timeout ' +
      `(${opts.timeoutS} s), no socket error; and the router answered at least 90% of the target rate.`,
  );
  const ceiling = tenantCeilingRps(readFileSync(path.join(root, 'wrangler.toml'), 'utf8'));
  const tenantsFor = tenantsPolicy(opts.tenants, ceiling);
  if (ceiling && !opts.tenants) {
    log(
      `wrangler.toml caps each tenant at ${ceiling} requests/s ([[ratelimits]], simulated by wrangler dev): ` +
        `each run spreads its requests over enough test tenants to stay under half of that (--tenants N fixes the number)`,
    );
  }
  const prompts = loadPrompts(dataRoot());
  log(
    `${prompts.length} distinct prompts (alpaca-eval when ../shared/data has it), each request made unique`,
  );

  let server = null;
  let tenants = [];
  let d1 = null;
  const cleanup = async () => {
    if (tenants.length > 0 && d1 && !opts.keep) {
      await d1
        .query(tenants.map((t) => t.cleanupSql()).join('; '))
        .catch((e) => log(`cleanup of the test tenants failed: ${e.message}`));
    }
    if (server) await server.stop();
  };
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      log(`${signal}: cleaning up`);
      cleanup().finally(() => process.exit(130));
    });
  }
  try {
    let url = opts.url;
    let standinUrl = opts.standinUrl;
    if (url) log(`measuring the router at ${url} (state ${path.relative(root, opts.stateDir)})`);
    else {
      log(
        `starting the router as npm start does (state ${path.relative(root, opts.stateDir)}; the first time prepares it, about a minute)`,
      );
      server = await startRouter({ root, stateDir: opts.stateDir, log });
      ({ url, standinUrl } = server);
      log(`router on ${url}, stand-in upstream on ${standinUrl}`);
    }
    d1 = localD1({ root, stateDir: opts.stateDir });
    const manifest = defaultManifest();
    const count = tenantsFor(opts.fixedRate ?? opts.maxRate);
    tenants = Array.from({ length: count }, () =>
      loadtestTenant({ manifest, baseUrl: standinUrl }),
    );
    for (const w of tenants[0].warnings) log(`warning: ${w}`);
    await seedTenants(wranglerD1({ root, stateDir: opts.stateDir }), tenants);
    log(
      `test tenants (each a copy of the demo pool with its own key, no rate limits): ${tenants.map((t) => t.id).join(' ')}`,
    );
    const port = Number(new URL(url).port);
    const workerd = routerWorkerd({ port, ...(server ? { rootPid: server.pid } : {}) });
    log(
      `router workerd: runtime pid ${workerd.runtime ?? 'not found'}, proxy pid ${workerd.proxy ?? 'none'}`,
    );
    await warmUp(url, tenants[0].key, opts.endpoints);

    let counter = 0;
    const ctx = {
      url,
      tenants,
      tenantsFor,
      d1,
      workerd,
      prompts,
      nextIndex: () => counter++,
      connections: opts.connections,
      timeoutS: opts.timeoutS,
      drainMs: opts.drainMs,
      log,
    };
    const results = [];
    for (const endpoint of opts.endpoints) results.push(await measureEndpoint(ctx, opts, endpoint));
    summary(results, opts);
    if (opts.json) {
      writeFileSync(opts.json, `${JSON.stringify(results, null, 2)}\n`);
      log(`wrote ${opts.json}`);
    }
    const bad = results.filter((r) => !r.passed || r.rows_lost !== 0);
    process.exitCode = bad.length === 0 ? 0 : 1;
  } finally {
    await cleanup();
  }
}

main().catch((err) => {
  console.error(`[loadtest] ERROR: ${err.message}`);
  process.exit(1);
});
