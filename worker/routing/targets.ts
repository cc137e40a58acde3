/**
 * Turns a D1 model row into an upstream target, reading its API key from the worker secret the
 * row names.
 */
import type { ModelRow } from '../data/models';
import type { UpstreamTarget } from '../providers/types';

/**
 * @example
 * toTarget(model, env); // { name: 'gpt-4o', provider: 'openai', upstreamModel: 'gpt-4o-2024-05-13', baseUrl, apiKey }
 */
export function toTarget(model: ModelRow, env: object): UpstreamTarget {
  const secret = model.secretName ? (env as Record<string, unknown>)[model.secretName] : undefined;
  return {
    name: model.name,
    provider: model.provider,
    upstreamModel: model.upstreamModel,
    ...(model.baseUrl ? { baseUrl: model.baseUrl } : {}),
    ...(typeof secret === 'string' ? { apiKey: secret } : {}),
  };
}
