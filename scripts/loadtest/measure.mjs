// One measured run of the load test: autocannon at a fixed rate, the router's workerd memory
// before and after, and the decision rows of exactly this run's answers once they have landed.
import { rowIds, waitForRows } from './d1.mjs';
import { rssOf } from './procs.mjs';
import { passed } from './search.mjs';
import { runAt } from './run.mjs';

/** Rows written up to this long before a run's start are looked at too (clock granularity). */
const SINCE_SLACK_MS = 2000;

/**
 * Runs `rate` req/s for `seconds` on `endpoint` (spread over the first `ctx.tenantsFor(rate)` of
 * `ctx.tenants`), then waits for its decision rows (`drainMs` at
 * most) and counts them. Returns the run's record: autocannon's numbers plus `rows` (decision rows
 * found for its 2xx answers), `rows_lost` (2xx answers without a row), the runtime's and the
 * proxy's RSS before and after (MB, null when not found), and `passed`.
 *
 * @example
 * const rec = await measuredRun(ctx, 'route', 40, 10, 'probe');
 */
export async function measuredRun(ctx, endpoint, rate, seconds, kind) {
  const { url, d1, workerd, prompts, nextIndex, connections, timeoutS, drainMs, log } = ctx;
  const tenants = ctx.tenants.slice(0, ctx.tenantsFor(rate));
  const tenantIds = tenants.map((t) => t.id);
  const before = rssOf(workerd.runtime);
  const proxyBefore = rssOf(workerd.proxy);
  const sinceIso = new Date(Date.now() - SINCE_SLACK_MS).toISOString();
  let seen = 0;
  let ticks = 0;
  const onTick = ({ counter }) => {
    seen += counter;
    if (++ticks % 10 === 0 && ticks < seconds) log(`    ... ${ticks} s, ${seen} answers`);
  };
  const run = await runAt({
    url,
    keys: tenants.map((t) => t.key),
    endpoint,
    rate,
    seconds,
    prompts,
    nextIndex,
    timeoutS,
    onTick,
    ...(connections ? { connections } : {}),
  });
  const after = rssOf(workerd.runtime);
  const proxyAfter = rssOf(workerd.proxy);
  await waitForRows(d1, tenantIds, sinceIso, run.ok, { maxMs: drainMs });
  const stored = await rowIds(d1, tenantIds, sinceIso);
  const rows = run.decisionIds.filter((id) => stored.has(id)).length;
  const { decisionIds: _ids, ...numbers } = run;
  return {
    kind,
    ...numbers,
    rows,
    rows_lost: run.ok - rows,
    rss_before_mb: before?.rssMb ?? null,
    rss_after_mb: after?.rssMb ?? null,
    rss_peak_mb: after?.peakMb ?? null,
    proxy_rss_before_mb: proxyBefore?.rssMb ?? null,
    proxy_rss_after_mb: proxyAfter?.rssMb ?? null,
    passed: passed(run),
  };
}

/**
 * One progress line for a finished run.
 *
 * @example
 * describeRun(rec); // 'route probe 40/s x 10 s: 400 requests, 40.0 rps, 0 errors, p50 12 ms, p99 48 ms, rows 400/400, workerd 231 -> 245 MB: pass'
 */
export function describeRun(r) {
  const fails = Object.entries(r.failures)
    .map(([k, n]) => `${n} x ${k}`)
    .join(', ');
  return (
    `${r.endpoint} ${r.kind} ${r.target_rate}/s x ${r.duration_s} s (${r.connections} conns${r.tenants > 1 ? `, ${r.tenants} tenants` : ''}): ${r.requests} requests, ${r.rps} rps, ` +
    `${r.errors} errors${fails ? ` (${fails})` : ''}, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, rows ${r.rows}/${r.ok}, ` +
    `workerd ${r.rss_before_mb ?? '?'} -> ${r.rss_after_mb ?? '?'} MB: ${r.passed ? 'pass' : 'fail'}`
  );
}
