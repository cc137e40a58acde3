import type { ProviderAdapter } from '../adapter';
import { anthropicRequest } from './request';
import { anthropicCompletion, anthropicError } from './response';
import { anthropicStream } from './stream';
import { clientWantsUsage } from '../usage';

/**
 * Anthropic Messages API, translated both ways (JSON and streaming) to OpenAI chat completions.
 *
 * @example
 * const res = await anthropic.send(target, req, { signal, fetch });
 */
export const anthropic: ProviderAdapter = {
  async send(target, req, ctx) {
    const { url, init } = anthropicRequest(target, req);
    return ctx.fetch(url, { ...init, signal: ctx.signal });
  },
  completion: (body) => anthropicCompletion(body),
  stream: (target, req, onUsage) =>
    anthropicStream({
      includeUsage: clientWantsUsage(req),
      fallbackModel: target.upstreamModel,
      onUsage,
    }),
  error: anthropicError,
};
