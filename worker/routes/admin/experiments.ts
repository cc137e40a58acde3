/**
 * The experiment endpoints: `POST /admin/experiments` (201), `GET /admin/experiments`,
 * `GET /admin/experiments/{id}`, `PATCH /admin/experiments/{id}` (weights),
 * `POST /admin/experiments/{id}/stop` and `GET /admin/experiments/{id}/report`. Everything is the
 * calling tenant's own: another tenant's experiment is a 404. See docs/experiments.md.
 */
import type { Context } from 'hono';
import { armReports, controlArm, REPORT_METHODS } from '../../analytics/experiment-report';
import { armRows } from '../../data/experiment-rows';
import {
  getExperiment,
  insertExperiment,
  listExperiments,
  stopExperiment,
  setWeights,
  type ExperimentRecord,
} from '../../data/experiments';
import { clearPoolCache } from '../../data/pools';
import type { AppEnv } from '../../env';
import { ApiError } from '../../errors';
import { checkExperiment } from '../../experiments/check';
import { armKeys } from '../../experiments/keys';
import type {
  ExperimentListQuery,
  ExperimentParams,
  ExperimentPatch,
  NewExperiment,
} from './experiment-schemas';
import type { Valid } from './schemas';

/**
 * The public JSON form of an experiment.
 *
 * @example
 * return c.json(experimentView(record));
 */
export function experimentView(e: ExperimentRecord): Record<string, unknown> {
  return {
    object: 'experiment',
    id: e.id,
    pool: e.pool,
    name: e.name,
    arms: e.arms,
    control: controlArm(e.arms),
    active: e.active,
    created_at: e.created_at,
    stopped_at: e.stopped_at,
  };
}

/** The tenant's experiment `id`, or 404 `experiment_not_found`. */
async function requireExperiment(c: Context<AppEnv>, id: string): Promise<ExperimentRecord> {
  const e = await getExperiment(c.env.DB, c.get('tenant').id, id);
  if (!e)
    throw new ApiError(404, `experiment ${JSON.stringify(id)} not found`, {
      code: 'experiment_not_found',
      param: 'id',
    });
  return e;
}

/**
 * `POST /admin/experiments`: 201 with the experiment; 404 for a pool, model or bundle the tenant
 * has not got; 409 when the pool already runs one, or an arm's rows would mix with another's.
 *
 * @example
 * admin.post('/experiments', validBody(newExperimentSchema), createExperiment);
 */
export async function createExperiment(
  c: Context<AppEnv, string, Valid<{ json: NewExperiment }>>,
): Promise<Response> {
  const body = c.req.valid('json');
  const tenantId = c.get('tenant').id;
  const poolId = await checkExperiment(c.env, tenantId, body);
  const e = await insertExperiment(c.env.DB, tenantId, poolId, body.name, body.arms);
  clearPoolCache(tenantId); // this isolate splits at once; others within POOL_CACHE_SECONDS
  return c.json(experimentView(e), 201);
}

/**
 * `GET /admin/experiments[?pool=&active=]`: newest first.
 *
 * @example
 * admin.get('/experiments', validQuery(experimentListQuery), listExperimentsRoute);
 */
export async function listExperimentsRoute(
  c: Context<AppEnv, string, Valid<{ query: ExperimentListQuery }>>,
): Promise<Response> {
  const rows = await listExperiments(c.env.DB, c.get('tenant').id, c.req.valid('query'));
  return c.json({ object: 'list', data: rows.map(experimentView) });
}

/**
 * `GET /admin/experiments/{id}`.
 *
 * @example
 * admin.get('/experiments/:id', validParams(experimentParams), showExperiment);
 */
export async function showExperiment(
  c: Context<AppEnv, string, Valid<{ param: ExperimentParams }>>,
): Promise<Response> {
  return c.json(experimentView(await requireExperiment(c, c.req.valid('param').id)));
}

/**
 * `PATCH /admin/experiments/{id}` with `{"weights": {"<arm>": w}}`: new weights for the named arms
 * (others keep theirs); 400 for an arm it does not have, 409 once stopped.
 *
 * @example
 * admin.patch('/experiments/:id', validParams(experimentParams), validBody(experimentPatchSchema), patchExperiment);
 */
export async function patchExperiment(
  c: Context<AppEnv, string, Valid<{ param: ExperimentParams; json: ExperimentPatch }>>,
): Promise<Response> {
  const { id } = c.req.valid('param');
  const { weights } = c.req.valid('json');
  const e = await requireExperiment(c, id);
  const names = new Set(e.arms.map((a) => a.name));
  const unknown = Object.keys(weights).find((n) => !names.has(n));
  if (unknown !== undefined)
    throw new ApiError(400, `experiment has no arm ${JSON.stringify(unknown)}`, {
      code: 'invalid_value',
      param: `weights.${unknown}`,
    });
  // own keys only: an arm named like an Object.prototype member (`constructor`) is not named
  const changes = e.arms.flatMap((a, index) =>
    Object.hasOwn(weights, a.name) ? [{ index, weight: weights[a.name]! }] : [],
  );
  if (!e.active || !(await setWeights(c.env.DB, e.tenant_id, id, changes)))
    throw new ApiError(409, 'experiment is stopped; its weights can no longer change', {
      code: 'experiment_stopped',
      param: 'id',
    });
  clearPoolCache(e.tenant_id);
  return c.json(experimentView(await requireExperiment(c, id)));
}

/**
 * `POST /admin/experiments/{id}/stop`: its traffic is routed as if there were no experiment from
 * now on; the row and its report stay. Stopping a stopped experiment changes nothing.
 *
 * @example
 * admin.post('/experiments/:id/stop', validParams(experimentParams), stopExperimentRoute);
 */
export async function stopExperimentRoute(
  c: Context<AppEnv, string, Valid<{ param: ExperimentParams }>>,
): Promise<Response> {
  const { id } = c.req.valid('param');
  const e = await requireExperiment(c, id);
  await stopExperiment(c.env.DB, e.tenant_id, id);
  clearPoolCache(e.tenant_id);
  return c.json(experimentView(await requireExperiment(c, id)));
}

/**
 * `GET /admin/experiments/{id}/report`: `{"arms": [{"name", "requests", ...}]}` (analytics/experiment-report.ts).
 *
 * @example
 * admin.get('/experiments/:id/report', validParams(experimentParams), experimentReport);
 */
export async function experimentReport(
  c: Context<AppEnv, string, Valid<{ param: ExperimentParams }>>,
): Promise<Response> {
  const e = await requireExperiment(c, c.req.valid('param').id);
  const to = e.stopped_at ?? '9999-12-31T23:59:59.999Z';
  const rows = await armRows(c.env.DB, e.tenant_id, armKeys(e.pool, e.arms), e.created_at, to);
  return c.json({
    object: 'experiment.report',
    experiment: experimentView(e),
    control: controlArm(e.arms),
    window: { from: e.created_at, to: e.stopped_at },
    methods: REPORT_METHODS,
    arms: armReports(e.arms, rows),
  });
}
