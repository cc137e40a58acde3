// Plan and apply a config file against a D1 target (d1.mjs, or any object with queryAll(sqls) and
// run(sqls)), with the core in worker/config-file. Used by `npm run config` and `npm start`.
import { configCore } from './core.mjs';

/** The database's configuration rows, as the core parses them. */
async function readState(d1, core) {
  const tables = Object.keys(core.STATE_QUERIES);
  let sets;
  try {
    sets = await d1.queryAll(tables.map((t) => core.STATE_QUERIES[t]));
  } catch (e) {
    if (/no such table/.test(e.message))
      throw new Error(
        `${d1.describe} has no tables yet: run npm start (or wrangler d1 migrations apply DB) first`,
        { cause: e },
      );
    throw e;
  }
  return core.parseState(Object.fromEntries(tables.map((t, i) => [t, sets[i] ?? []])));
}

/**
 * The plan for `text` against the target's current state, or the file's problems.
 *
 * @example
 * const r = await planConfig({ text, file: 'router.config.yaml', env: process.env, d1 });
 * console.log(r.ok ? r.summary : r.errors.join('\n'));
 */
export async function planConfig({ text, file, env, d1 }) {
  const core = await configCore();
  const state = await readState(d1, core);
  const r = core.prepareConfig(text, env, state);
  if (!r.ok) return { ok: false, errors: r.errors.map((e) => core.formatError(file, e)) };
  return { ok: true, plan: r.plan, summary: core.formatPlan(r.plan) };
}

/**
 * Plans `text` and, when there are changes, writes them in one batch, then plans again to check
 * that the database now says what the file says. Returns the plan applied.
 *
 * @example
 * const r = await applyConfig({ text, file, env: process.env, d1, log: console.log });
 */
export async function applyConfig({ text, file, env, d1, log = () => undefined }) {
  const core = await configCore();
  const r = await planConfig({ text, file, env, d1 });
  if (!r.ok) return r;
  log(r.summary);
  if (r.plan.statements.length === 0) return r;
  await d1.run(r.plan.statements.map((s) => core.statementSql(s)));
  const after = await planConfig({ text, file, env, d1 });
  if (!after.ok || after.plan.changes.length > 0)
    throw new Error(
      `applied, but the database still differs from ${file}:\n${after.ok ? after.summary : after.errors.join('\n')}`,
    );
  log(
    `Applied ${r.plan.changes.length} change(s) in one transaction; ${d1.describe} matches ${file}.`,
  );
  return r;
}
