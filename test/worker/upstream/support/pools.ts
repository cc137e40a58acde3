// Routed pools over the loopback provider fakes, for tests that go through /v1/chat/completions.
import { inject } from 'vitest';
import { seedModel, seedPool, testEnv } from '../../support/seed';

/** The test bundle's models with its manifest prices (the policy orders them by price at w = 0). */
const PRICES: Record<string, [number, number]> = {
  'test-large': [10, 30],
  'test-medium': [1, 3],
  'test-small': [0.2, 0.6],
  'test-tiny': [0.05, 0.1],
};

/**
 * Seeds pool `name` of `tenantId` whose members call the fakes: `{ 'test-tiny': 'hang-x', ... }`
 * maps a bundle model to the fake's upstream id (its behaviour). Returns the model names
 * (`<pool>-<bundle model>`) and row ids by bundle model. `global` rows have no tenant (shared).
 */
export async function fakePool(
  tenantId: string,
  name: string,
  members: Record<string, string>,
  opts: { global?: boolean; provider?: 'openai' | 'anthropic' } = {},
): Promise<{ names: Record<string, string>; ids: Record<string, string> }> {
  const provider = opts.provider ?? 'openai';
  const baseUrl = `${inject('fakeProvidersUrl')}/${provider}/v1`;
  const names: Record<string, string> = {};
  const ids: Record<string, string> = {};
  for (const [bundleModel, upstreamModel] of Object.entries(members)) {
    const [inputUsd, outputUsd] = PRICES[bundleModel]!;
    names[bundleModel] = `${name}-${bundleModel}`;
    ids[bundleModel] = await seedModel({
      name: names[bundleModel],
      bundleModel,
      upstreamModel,
      inputUsd,
      outputUsd,
      provider,
      baseUrl,
      tenantId: opts.global ? null : tenantId,
    });
  }
  await seedPool(tenantId, name, 'test-v1', Object.values(ids));
  return { names, ids };
}

/** Adds existing model rows (e.g. global ones) to a new pool of another tenant. */
export async function sharePool(tenantId: string, name: string, modelIds: string[]): Promise<void> {
  await seedPool(tenantId, name, 'test-v1', modelIds);
}

export interface LogRow {
  id: string;
  status: string;
  model: string;
  attempts: string;
}

/** The decision row with this id, or null. */
export function decisionRow(id: string | null): Promise<LogRow | null> {
  return testEnv.DB.prepare('SELECT id, status, model, attempts FROM decision_log WHERE id = ?1')
    .bind(id)
    .first<LogRow>();
}

/** Polls until the tenant has a decision row (written in waitUntil after the answer ended). */
export async function waitForRow(tenantId: string, ms = 5000): Promise<LogRow> {
  const until = Date.now() + ms;
  for (;;) {
    const row = await testEnv.DB.prepare(
      'SELECT id, status, model, attempts FROM decision_log WHERE tenant_id = ?1 ORDER BY created_at DESC LIMIT 1',
    )
      .bind(tenantId)
      .first<LogRow>();
    if (row) return row;
    if (Date.now() > until) throw new Error(`no decision row for ${tenantId} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls until the decision row with this id exists (written in waitUntil after the answer ended). */
export async function waitForDecision(id: string | null, ms = 5000): Promise<LogRow> {
  const until = Date.now() + ms;
  for (;;) {
    const row = await decisionRow(id);
    if (row) return row;
    if (Date.now() > until) throw new Error(`no decision row ${id} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
