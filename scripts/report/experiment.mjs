// `npm run report -- --experiment ID [--png FILE] [--json]`: an experiment's report from a running
// router (GET /admin/experiments/{id}/report), printed as a table, and with --png drawn as cost
// per request against mean feedback, one point per arm with 95% intervals (matplotlib through
// /usr/bin/python3, scripts/report/plot_experiment.py). docs/experiments.md explains the numbers.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { client, routerKey, routerUrl } from './client.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

const pct = (v) => (v === null || v === undefined ? '-' : `${(100 * v).toFixed(1)}%`);
const num = (v, digits) => (v === null || v === undefined ? '-' : v.toFixed(digits));
const usd = (v) => (v === null || v === undefined ? '-' : v.toPrecision(3));
const ci = (c, f) => (c ? `[${f(c[0])}, ${f(c[1])}]` : '');

/** Left-aligned columns. */
function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) =>
    r
      .map((c, i) => String(c).padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * The report as text: one line per arm, then each arm's difference from the control.
 *
 * @example
 * console.log(formatReport(await api.request('GET', `/admin/experiments/${id}/report`)));
 */
export function formatReport(report) {
  const e = report.experiment;
  const state = e.active ? 'running' : `stopped ${e.stopped_at}`;
  const lines = [
    `experiment ${e.id} "${e.name}" on pool ${e.pool} (${state}; since ${e.created_at})`,
    '',
  ];
  const head = ['arm', 'weight', 'requests', 'errors', 'fallbacks', 'cost/request USD'];
  head.push('routing p50/p95 ms', 'upstream p50/p95 ms', 'feedback n', 'feedback mean');
  const rows = [head];
  for (const a of report.arms) {
    rows.push([
      a.control ? `${a.name} (control)` : a.name,
      a.weight,
      a.requests,
      `${pct(a.error_rate.rate)} ${ci(a.error_rate.ci95, pct)}`,
      `${pct(a.fallback_rate.rate)} ${ci(a.fallback_rate.ci95, pct)}`,
      `${usd(a.cost_per_request_usd.mean)} ${ci(a.cost_per_request_usd.ci95, usd)} (n ${a.cost_per_request_usd.n})`,
      `${num(a.routing_ms.p50, 2)} / ${num(a.routing_ms.p95, 2)}`,
      `${num(a.upstream_ms.p50, 0)} / ${num(a.upstream_ms.p95, 0)}`,
      a.feedback.n,
      `${num(a.feedback.mean, 3)} ${ci(a.feedback.ci95, (v) => num(v, 3))}`,
    ]);
  }
  lines.push(...table(rows), '', `difference from the control (${report.control}), 95% interval:`);
  for (const a of report.arms.filter((x) => x.vs_control)) {
    const d = a.vs_control;
    const show = (x, f) => (x ? `${f(x.diff)} ${ci(x.ci95, f)}` : 'n/a');
    const signedPct = (v) => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)} pt`;
    const signed = (f) => (v) => `${v >= 0 ? '+' : ''}${f(v)}`;
    lines.push(
      `  ${a.name}: cost/request ${show(d.cost_per_request_usd, signed(usd))} USD; ` +
        `feedback ${show(
          d.feedback,
          signed((v) => num(v, 3)),
        )}; ` +
        `errors ${show(d.error_rate, signedPct)}; fallbacks ${show(d.fallback_rate, signedPct)}`,
    );
  }
  lines.push('', `methods: ${report.methods?.vs_control ?? ''}`);
  return lines.join('\n');
}

/**
 * What plot_experiment.py draws: per arm its mean cost (x) and mean feedback (y) with intervals.
 *
 * @example
 * plotInput(report).points[0]; // { name: 'control', control: true, x: 0.0012, x_ci: [...], y: 0.71, y_ci: [...] }
 */
export function plotInput(report) {
  const e = report.experiment;
  return {
    title: `experiment "${e.name}" on pool ${e.pool}`,
    points: report.arms.map((a) => ({
      name: a.name,
      control: a.control,
      x: a.cost_per_request_usd.mean,
      x_ci: a.cost_per_request_usd.ci95,
      y: a.feedback.mean,
      y_ci: a.feedback.ci95,
    })),
  };
}

/**
 * Draws the report's plot into `file` (PNG); throws with matplotlib's message when it fails.
 *
 * @example
 * drawPng(report, 'experiment.png');
 */
export function drawPng(report, file, python = '/usr/bin/python3') {
  const r = spawnSync(python, [path.join(here, 'plot_experiment.py'), path.resolve(file)], {
    input: JSON.stringify(plotInput(report)),
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`plotting failed: ${r.stderr || r.error?.message}`);
}

/**
 * Parses `--experiment ID [--png FILE] [--json]`.
 *
 * @example
 * parseArgs(['--experiment', 'exp_1', '--png', 'a.png']); // { id: 'exp_1', png: 'a.png', json: false }
 */
export function parseArgs(argv) {
  const out = { id: null, png: null, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--experiment') out.id = argv[++i] ?? null;
    else if (a === '--png') out.png = argv[++i] ?? null;
    else if (a === '--json') out.json = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!out.id) throw new Error('--experiment needs an experiment id');
  if (out.png === null && argv.includes('--png')) throw new Error('--png needs a file name');
  return out;
}

/**
 * The command: fetches, prints and draws.
 *
 * @example
 * await main(['--experiment', 'exp_1', '--png', 'report.png']);
 */
export async function main(argv, env = process.env) {
  const args = parseArgs(argv);
  const api = client({ url: routerUrl(env), key: routerKey(env) });
  const report = await api.request(
    'GET',
    `/admin/experiments/${encodeURIComponent(args.id)}/report`,
  );
  console.log(args.json ? JSON.stringify(report, null, 2) : formatReport(report));
  if (args.png) {
    drawPng(report, args.png);
    console.log(`\nwrote ${args.png}`);
  }
  return report;
}
