import type { ProviderAdapter } from '../adapter';
import { openAIRequest } from './request';
import { openAICompletion, openAIUpstreamError } from './response';
import { openAIStream } from './stream';

/**
 * OpenAI-compatible chat completions: OpenAI, Together, Groq, OpenRouter, vLLM, Ollama and the
 * local stand-in all speak it, so requests and answers pass through with only the model id swapped.
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
  stream: () => openAIStream(),
  error: openAIUpstreamError,
};
