import type { ProviderAdapter } from '../adapter';
import { UpstreamError, describe } from '../errors';
import { cleanMessage, upstreamError } from '../error-body';
import { workersAiInput } from './request';
import { workersAiCompletion } from './response';
import { workersAiStream } from './stream';
import { clientWantsUsage } from '../usage';

/**
 * Workers AI through the `env.AI` binding. The binding's answer is wrapped in a `Response` (a JSON
 * body, or the binding's SSE byte stream) so the fallback loop treats every provider alike. A
 * missing binding (not configured, or `wrangler dev --local`, which cannot serve it) and any error
 * the binding throws are upstream failures, so the next candidate gets the request.
 *
 * @example
 * const res = await workersAi.send(target, req, { signal, fetch, ai: env.AI });
 */
export const workersAi: ProviderAdapter = {
  async send(target, req, ctx) {
    const ai = ctx.ai;
    if (!ai || typeof ai.run !== 'function') {
      throw new UpstreamError(
        'no_ai_binding',
        `model ${target.name} needs the Workers AI binding (env.AI), which is not available here`,
      );
    }
    let out: unknown;
    try {
      out = await ai.run(target.upstreamModel, workersAiInput(req), { signal: ctx.signal });
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      throw new UpstreamError('ai_error', `Workers AI: ${cleanMessage(describe(err))}`);
    }
    if (out instanceof ReadableStream) {
      return new Response(out as ReadableStream<Uint8Array>, {
        headers: { 'content-type': 'text/event-stream' },
      });
    }
    if (req.stream)
      throw new UpstreamError(
        'bad_response',
        'Workers AI returned no stream for a streamed request',
      );
    return new Response(JSON.stringify(out), { headers: { 'content-type': 'application/json' } });
  },
  completion: (body, target) => workersAiCompletion(body, target.upstreamModel),
  stream: (target, req, onUsage) =>
    workersAiStream({ model: target.upstreamModel, includeUsage: clientWantsUsage(req), onUsage }),
  // The binding throws instead of answering with an HTTP error, so this only wraps odd cases.
  error: upstreamError,
};
