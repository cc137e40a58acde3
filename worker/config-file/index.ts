/**
 * Config as code (`npm run config`, scripts/config.mjs): a file -> checked against the database's
 * current state -> a plan of changes and the statements that make them. Pure: the caller reads the
 * state and runs the statements (the D1 binding in tests, `wrangler d1 execute` in the CLI), in one
 * batch, which D1 runs as one transaction.
 */
import { checkConfig } from './checks';
import { loadConfig, type ConfigError } from './load';
import { planChanges, type Change, type Plan } from './plan';
import type { State } from './state';
import { randomId, worldAfter, type NewId } from './world';

export { configJsonSchema } from './schema';
export { readState, parseState, STATE_QUERIES, type State, type StateTable } from './state';
export { statementSql } from './sql';
export type { ConfigError } from './load';
export type { Change, Plan, Statement } from './plan';

export type Prepared = { ok: true; plan: Plan } | { ok: false; errors: ConfigError[] };

/**
 * The plan for a config file's text against `state`, or every problem in the file.
 *
 * @example
 * const r = prepareConfig(text, process.env, await readState(env.DB));
 * if (r.ok) await env.DB.batch(r.plan.statements.map((s) => env.DB.prepare(s.sql).bind(...s.params)));
 */
export function prepareConfig(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
  state: State,
  newId: NewId = randomId,
): Prepared {
  const loaded = loadConfig(text, env);
  if (!loaded.ok) return loaded;
  const world = worldAfter(loaded.loaded.config, state, newId);
  const errors = checkConfig(loaded.loaded, state, world);
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, plan: planChanges(loaded.loaded.config, world, state, newId) };
}

/** A value as the plan shows it. */
const show = (v: unknown): string => (v === undefined ? '-' : JSON.stringify(v));

/**
 * The plan as text: one line per change (`+` create, `~` update, `-` delete) with its fields, then a
 * summary line ("No changes." when there are none).
 *
 * @example
 * console.log(formatPlan(plan));
 * // ~ model demo/gpt-4o
 * //     input_usd_per_mtok: 5 -> 2.5
 * // Plan: 0 to create, 1 to update, 0 to delete.
 */
export function formatPlan(plan: Plan): string {
  const sign = { create: '+', update: '~', delete: '-' } as const;
  const lines: string[] = [];
  for (const c of plan.changes) {
    lines.push(`${sign[c.action]} ${c.kind} ${c.name}`);
    for (const d of c.diffs)
      lines.push(
        c.action === 'create'
          ? `    ${d.field}: ${show(d.after)}`
          : `    ${d.field}: ${show(d.before)} -> ${show(d.after)}`,
      );
  }
  for (const w of plan.warnings) lines.push(`warning: ${w}`);
  lines.push(summary(plan.changes));
  return lines.join('\n');
}

function summary(changes: readonly Change[]): string {
  if (changes.length === 0) return 'No changes.';
  const n = (a: Change['action']) => changes.filter((c) => c.action === a).length;
  return `Plan: ${n('create')} to create, ${n('update')} to update, ${n('delete')} to delete.`;
}

/**
 * An error as `file:line:column path: message`.
 *
 * @example
 * formatError('router.config.yaml', e); // 'router.config.yaml:12:7 tenants[0].models[1].input_usd_per_mtok: Too small: expected number to be >=0'
 */
export function formatError(file: string, e: ConfigError): string {
  const where = e.line === null ? file : `${file}:${e.line}:${e.column}`;
  return `${where} ${e.path ? `${e.path}: ` : ''}${e.message}`;
}
