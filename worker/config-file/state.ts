/**
 * What the database holds of the configuration a file manages: tenants, grants, models, pools with
 * their members, experiments (never keys, identities or the decision log). Read with the fixed
 * queries of STATE_QUERIES, through whatever runs SQL: the D1 binding (`readState`) or `wrangler d1
 * execute` in the CLI (scripts/config.mjs), and parsed into typed rows by `parseState`.
 */
import { z } from 'zod';

/** One SELECT per table; the CLI sends them as one command and gets one result set each. */
export const STATE_QUERIES = {
  tenants:
    'SELECT id, name, default_pool, rpm_limit, tpm_limit, cors_origins, disabled_at FROM tenants ORDER BY id',
  grants:
    'SELECT tenant_id, host, secret_name, allow_http, allow_private FROM upstream_grants ORDER BY tenant_id, host, secret_name',
  models:
    'SELECT id, tenant_id, name, provider, upstream_model, base_url, secret_name, input_usd_per_mtok, output_usd_per_mtok, expected_output_tokens, bundle_model FROM models ORDER BY tenant_id, name',
  pools:
    'SELECT id, tenant_id, name, bundle_version, embedding_provider, default_preference, default_preset, uncertainty_penalty, fallback_model, online_learning, exploration_temperature, keep_prompts FROM pools ORDER BY tenant_id, name',
  members: 'SELECT pool_id, model_id FROM pool_members ORDER BY pool_id, model_id',
  experiments:
    'SELECT id, tenant_id, pool_id, name, arms, active, stopped_at FROM experiments ORDER BY created_at, id',
} as const;

export type StateTable = keyof typeof STATE_QUERIES;

const text = z.string();
const maybe = <T extends z.ZodType>(t: T) => t.nullable();
const num = z.number();

const rowSchemas = {
  tenants: z.object({
    id: text,
    name: text,
    default_pool: maybe(text),
    rpm_limit: maybe(num),
    tpm_limit: maybe(num),
    cors_origins: maybe(text),
    disabled_at: maybe(text),
  }),
  grants: z.object({
    tenant_id: text,
    host: text,
    secret_name: text,
    allow_http: num,
    allow_private: num,
  }),
  models: z.object({
    id: text,
    tenant_id: maybe(text),
    name: text,
    provider: z.enum(['openai', 'anthropic', 'workers-ai']),
    upstream_model: text,
    base_url: maybe(text),
    secret_name: maybe(text),
    input_usd_per_mtok: num,
    output_usd_per_mtok: num,
    expected_output_tokens: num,
    bundle_model: maybe(text),
  }),
  pools: z.object({
    id: text,
    tenant_id: text,
    name: text,
    bundle_version: text,
    embedding_provider: maybe(z.enum(['local', 'workers-ai', 'precomputed'])),
    default_preference: num,
    default_preset: maybe(z.enum(['cheap', 'balanced', 'quality'])),
    uncertainty_penalty: maybe(num),
    fallback_model: maybe(text),
    online_learning: num,
    exploration_temperature: maybe(num),
    keep_prompts: num,
  }),
  members: z.object({ pool_id: text, model_id: text }),
  experiments: z.object({
    id: text,
    tenant_id: text,
    pool_id: text,
    name: text,
    arms: text,
    active: num,
    stopped_at: maybe(text),
  }),
};

/** The configuration rows of the database. */
export type State = { [K in StateTable]: Array<z.output<(typeof rowSchemas)[K]>> };
export type TenantRow = State['tenants'][number];
export type GrantRow = State['grants'][number];
export type ModelRow = State['models'][number];
export type PoolRow = State['pools'][number];
export type ExperimentRow = State['experiments'][number];

/**
 * Typed rows from the raw result sets (one per STATE_QUERIES entry); throws when a row does not have
 * the shape the migrations give it (the database is older or newer than this code).
 *
 * @example
 * const state = parseState({ tenants: [...], grants: [...], ... });
 */
export function parseState(raw: Readonly<Record<StateTable, readonly unknown[]>>): State {
  const out = {} as Record<StateTable, unknown[]>;
  for (const table of Object.keys(STATE_QUERIES) as StateTable[]) {
    const r = z.array(rowSchemas[table]).safeParse(raw[table]);
    if (!r.success)
      throw new Error(`the ${table} rows do not have the expected columns: ${r.error.message}`);
    out[table] = r.data;
  }
  return out as State;
}

/**
 * The state through a D1 binding (one batch, so one consistent snapshot).
 *
 * @example
 * const state = await readState(env.DB);
 */
export async function readState(db: D1Database): Promise<State> {
  const tables = Object.keys(STATE_QUERIES) as StateTable[];
  const results = await db.batch(tables.map((t) => db.prepare(STATE_QUERIES[t])));
  return parseState(
    Object.fromEntries(tables.map((t, i) => [t, results[i]?.results ?? []])) as Record<
      StateTable,
      unknown[]
    >,
  );
}
