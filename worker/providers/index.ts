import type { ProviderKind } from './types';
import type { ProviderAdapter } from './adapter';
import { openai } from './openai';
import { anthropic } from './anthropic';
import { workersAi } from './workers-ai';

const adapters: Record<ProviderKind, ProviderAdapter> = {
  openai,
  anthropic,
  'workers-ai': workersAi,
};

/**
 * The adapter for a provider kind (the `provider` column of a D1 model row).
 *
 * @example
 * const res = await adapterFor(target.provider).send(target, req, ctx);
 */
export function adapterFor(kind: ProviderKind): ProviderAdapter {
  return adapters[kind];
}

export type { ProviderAdapter, CallContext, WorkersAiBinding, ByteTransform } from './adapter';
