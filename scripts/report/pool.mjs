// `npm run report -- --pool NAME`: what routing the pool saved, from the router's own
// `GET /admin/pools/{pool}/savings` (docs/worker.md, "Management API"): the totals and one line per
// day or hour, and with `--png F` a chart over time (scripts/report/plot_savings.py, matplotlib).
//
//   --pool NAME        the pool (of the tenant whose key is used)
//   --since T          start: an ISO date or date-time, or `7d` / `12h` before now (default: 30 days)
//   --until T          end, exclusive (default: now)
//   --bucket day|hour  (default day)
//   --baseline MODEL   compare with this model instead of the pool's best predicted member
//   --png F            also draw the chart into F
//   --json             print the endpoint's answer as it is
//   --url URL          the router (default $ROUTER_URL, else http://127.0.0.1:${PORT:-8787}, npm start's)
//   --key KEY          the tenant's API key (default $ROUTER_API_KEY, else npm start's demo key)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');

export const USAGE = `usage: npm run report -- --pool NAME [--since T] [--until T] [--bucket day|hour]
         [--baseline MODEL] [--png F] [--json] [--url URL] [--key KEY]`;

/**
 * `--since` / `--until` as the endpoint takes them: ISO text is passed on, `Nd` / `Nh` is that long
 * before `now`.
 *
 * @example
 * instant('7d', new Date('2026-12-08T00:00:00Z')); // '2026-12-01T00:00:00.000Z'
 */
export function instant(text, now = new Date()) {
  const rel = /^(\d+)([dh])$/.exec(text);
  if (!rel) return text;
  const ms = Number(rel[1]) * (rel[2] === 'd' ? 86_400_000 : 3_600_000);
  return new Date(now.getTime() - ms).toISOString();
}

/** npm start's demo key (scripts/seed-demo.mjs keeps it in the state folder), or null. */
function demoKey(env) {
  const file = path.join(env.STATE_DIR ?? path.join(root, '.wrangler', 'state'), 'demo-api-key');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || null : null;
}

/**
 * The report's options from the command line and the environment; throws a usage error.
 *
 * @example
 * reportOptions(['--pool', 'demo', '--since', '7d'], process.env);
 */
export function reportOptions(argv, env, now = new Date()) {
  const { values } = parseArgs({
    args: argv,
    options: {
      pool: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      bucket: { type: 'string', default: 'day' },
      baseline: { type: 'string' },
      png: { type: 'string' },
      json: { type: 'boolean', default: false },
      url: { type: 'string' },
      key: { type: 'string' },
    },
  });
  if (!values.pool) throw new Error(`--pool NAME is required\n${USAGE}`);
  if (values.bucket !== 'day' && values.bucket !== 'hour')
    throw new Error(`--bucket is day or hour, not ${JSON.stringify(values.bucket)}`);
  const key = values.key ?? env.ROUTER_API_KEY ?? demoKey(env);
  if (!key) throw new Error('no API key: pass --key, set ROUTER_API_KEY, or run npm start first');
  return {
    pool: values.pool,
    since: values.since === undefined ? undefined : instant(values.since, now),
    until: values.until === undefined ? undefined : instant(values.until, now),
    bucket: values.bucket,
    baseline: values.baseline,
    png: values.png,
    json: values.json,
    url: (values.url ?? env.ROUTER_URL ?? `http://127.0.0.1:${env.PORT ?? 8787}`).replace(
      /\/+$/,
      '',
    ),
    key,
  };
}

/**
 * The endpoint's URL for the options.
 *
 * @example
 * savingsUrl({ url: 'http://127.0.0.1:8787', pool: 'demo', bucket: 'day' });
 * // 'http://127.0.0.1:8787/admin/pools/demo/savings?bucket=day'
 */
export function savingsUrl(o) {
  const q = new URLSearchParams({ bucket: o.bucket });
  for (const k of ['since', 'until', 'baseline']) if (o[k] !== undefined) q.set(k, o[k]);
  return `${o.url}/admin/pools/${encodeURIComponent(o.pool)}/savings?${q}`;
}

/**
 * The savings answer for the options; throws with the router's own error message on a non-2xx.
 *
 * @example
 * const report = await fetchSavings(reportOptions(argv, process.env));
 */
export async function fetchSavings(o, fetchImpl = fetch) {
  const res = await fetchImpl(savingsUrl(o), { headers: { authorization: `Bearer ${o.key}` } });
  const text = await res.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${o.url} answered ${res.status} without JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok)
    throw new Error(`${res.status} ${body?.error?.code ?? ''}: ${body?.error?.message ?? text}`);
  return body;
}

/** Dollars: cents and below to the micro-dollar (one request costs about that), larger sums to the cent. */
const usd = (v) => `$${v.toFixed(Math.abs(v) >= 1 ? 2 : 6)}`;
const q3 = (v) => (v === null ? '-' : v.toFixed(3));
const pct = (r) => (r === null ? '-' : `${(100 * r).toFixed(1)}%`);
const WHY = {
  requested: 'named with --baseline',
  predicted_quality: 'the member with the highest mean predicted quality',
  price: 'no request recorded qualities: the dearest member',
};

/**
 * The report as text: the window, the baseline and why, the totals, then one line per bucket.
 *
 * @example
 * console.log(formatSavings(await fetchSavings(opts)));
 */
export function formatSavings(r) {
  const t = r.totals;
  const b = r.baseline;
  const lines = [
    `pool ${r.pool}: ${r.since} to ${r.until} (per ${r.bucket})`,
    `baseline: ${b.name} (${WHY[b.chosen_by] ?? b.chosen_by}), $${b.input_usd_per_mtok} in / $${b.output_usd_per_mtok} out per M tokens`,
    `requests: ${t.requests} (${t.priced_requests} priced; ${t.unpriced_requests} without usage, left out of both costs)`,
    `cost: routed ${usd(t.cost_usd)}, always ${b.name} ${usd(t.baseline_cost_usd)}, saved ${usd(t.savings_usd)} (${pct(t.savings_ratio)})`,
    `predicted quality over ${t.quality_requests} requests: routed ${q3(t.predicted_quality)}, always ${b.name} ${q3(t.baseline_predicted_quality)}`,
  ];
  if (r.series.length === 0) return [...lines, 'no requests in the window'].join('\n');
  const cols = [
    'start',
    'requests',
    'routed',
    'baseline',
    'saved',
    'cumulative',
    'quality',
    'baseline q',
  ];
  const rows = r.series.map((p) => [
    r.bucket === 'day' ? p.start.slice(0, 10) : `${p.start.slice(0, 13)}:00`,
    String(p.requests),
    usd(p.cost_usd),
    usd(p.baseline_cost_usd),
    usd(p.savings_usd),
    usd(p.cumulative_savings_usd),
    q3(p.predicted_quality),
    q3(p.baseline_predicted_quality),
  ]);
  const width = cols.map((c, i) => Math.max(c.length, ...rows.map((row) => row[i].length)));
  const line = (cells) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(width[i]) : c.padStart(width[i]))).join('  ');
  return [...lines, '', line(cols), ...rows.map(line)].join('\n');
}

/**
 * Draws the report into `file` (a PNG) with /usr/bin/python3 and matplotlib; throws what it said.
 *
 * @example
 * drawSavings(report, 'savings.png');
 */
export function drawSavings(report, file, python = '/usr/bin/python3') {
  const r = spawnSync(python, [path.join(here, 'plot_savings.py'), file], {
    input: JSON.stringify(report),
    encoding: 'utf8',
    env: { ...process.env, MPLBACKEND: 'Agg' },
  });
  if (r.status !== 0)
    throw new Error(`drawing ${file} failed: ${(r.stderr || r.error?.message || '').trim()}`);
}

/**
 * The pool report: prints it (or the raw answer with --json) and draws the PNG when asked.
 * Returns the exit status.
 *
 * @example
 * process.exitCode = await main(['--pool', 'demo', '--png', 'savings.png']);
 */
export async function main(argv, { env = process.env, fetchImpl = fetch, log = console.log } = {}) {
  const o = reportOptions(argv, env);
  const report = await fetchSavings(o, fetchImpl);
  log(o.json ? JSON.stringify(report, null, 2) : formatSavings(report));
  if (o.png && report.series.length === 0)
    console.error(`no requests in the window: ${o.png} not drawn`);
  else if (o.png) {
    drawSavings(report, o.png);
    if (!o.json) log(`wrote ${o.png}`);
  }
  return 0;
}
