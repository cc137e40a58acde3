import type { ChatRequest, UpstreamTarget } from '../types';
import { UpstreamError } from '../errors';

/** A streamed request's `stream_options`, the caller's with `include_usage` on; none otherwise. */
function streamOptions(req: ChatRequest): { stream_options?: Record<string, unknown> } {
  if (!req.stream) return {};
  const own = req.stream_options;
  const kept = typeof own === 'object' && own !== null && !Array.isArray(own) ? own : {};
  return { stream_options: { ...kept, include_usage: true } };
}

/**
 * Builds the HTTP request for an OpenAI-compatible `/chat/completions` endpoint (OpenAI, Together,
 * Groq, OpenRouter, vLLM, Ollama, the local stand-in). The body is the caller's, with the model
 * swapped for the provider's own id; unknown fields pass through untouched. A stream always asks
 * for the usage chunk (`stream_options.include_usage: true`), so the router learns what the answer
 * cost; the stream pass-through drops that chunk again when the caller did not ask for it.
 * Redirects are not followed (`redirect: 'manual'`: a 3xx fails the try, see upstream/attempt.ts).
 *
 * @example
 * const r = openAIRequest({ name: 'gpt-4o', provider: 'openai', upstreamModel: 'gpt-4o-2024-05-13',
 *   baseUrl: 'https://api.openai.com/v1', apiKey: 'sk-...' }, { model: 'router', messages });
 * // r.url === 'https://api.openai.com/v1/chat/completions'
 */
export function openAIRequest(
  target: UpstreamTarget,
  req: ChatRequest,
): { url: string; init: RequestInit } {
  if (!target.baseUrl)
    throw new UpstreamError('no_base_url', `model ${target.name} has no base_url`);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (req.stream) headers.accept = 'text/event-stream';
  if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`;
  return {
    url: `${target.baseUrl.replace(/\/+$/, '')}/chat/completions`,
    init: {
      method: 'POST',
      headers,
      redirect: 'manual',
      body: JSON.stringify({ ...req, model: target.upstreamModel, ...streamOptions(req) }),
    },
  };
}
