/**
 * Turns a D1 model row into an upstream target. A tenant's own row is checked against its
 * upstream grants first (security/grants.ts); a row that fails the check becomes a refused
 * target: the fallback loop records it as `not_granted` and moves on, with no network call, and
 * its secret is never read.
 */
import { readConfig } from '../config';
import type { ModelRow } from '../data/models';
import { tenantGrants } from '../data/grants';
import type { Env } from '../env';
import type { UpstreamTarget } from '../providers/types';
import { checkUpstream, type UpstreamDecision } from '../security/grants';

/**
 * Whether the row may be called as configured (its tenant's grants read through the per-isolate cache).
 *
 * @example
 * const d = await upstreamDecision(model, env);
 * if (!d.ok) return fail(d.refusal.status, d.refusal.message, d.refusal.code, d.refusal.param);
 */
export async function upstreamDecision(model: ModelRow, env: Env): Promise<UpstreamDecision> {
  const grants =
    model.tenantId === null
      ? []
      : await tenantGrants(env.DB, model.tenantId, readConfig(env).poolCacheMs);
  return checkUpstream(model, grants);
}

/**
 * The target for a model row, its key read from the worker secret the row names.
 *
 * @example
 * await toTarget(model, env); // { name: 'gpt-4o', provider: 'openai', upstreamModel: 'gpt-4o-2024-05-13', baseUrl, apiKey }
 */
export async function toTarget(model: ModelRow, env: Env): Promise<UpstreamTarget> {
  const base = { name: model.name, provider: model.provider, upstreamModel: model.upstreamModel };
  const decision = await upstreamDecision(model, env);
  if (!decision.ok)
    return { ...base, refused: { reason: 'not_granted', message: decision.refusal.message } };
  const secret =
    model.secretName && model.provider !== 'workers-ai'
      ? (env as unknown as Record<string, unknown>)[model.secretName]
      : undefined;
  return {
    ...base,
    ...(decision.url ? { baseUrl: decision.url } : {}),
    ...(typeof secret === 'string' ? { apiKey: secret } : {}),
  };
}
