import type { ProviderAdapter } from '../adapter';
import { openAIRequest } from './request';
import { openAICompletion, openAIUpstreamError } from './response';
import { openAIStream } from './stream';
import { clientWantsUsage } from '../usage';

/**
 * OpenAI-compatible chat completions: OpenAI, Together, Groq, OpenRouter, vLLM, Ollama and the
 * local stand-in all speak it, so requests and answers pass through with only the model id swapped
 * (and a stream asking for its usage chunk, which reaches the client only if it asked too).
 *
 * @example
 * const res = await openai.send(target, req, { signal, fetch });
 */
export const openai: ProviderAdapter = {
  async send(target, req, ctx) {
    const { url, init } = openAIRequest(target, req);
    return ctx.fetch(url, { ...init, signal: ctx.signal });
  },
  completion: (body) => openAICompletion(body),
  stream: (_target, req, onUsage) => openAIStream({ forwardUsage: clientWantsUsage(req), onUsage }),
  error: openAIUpstreamError,
};
