import { UpstreamError } from '../errors';
import { nowSeconds, type ChatCompletion } from '../openai/types';

/**
 * Converts the binding's `usage` (already in OpenAI's names) when it is there.
 *
 * @example
 * usageOf({ prompt_tokens: 9, completion_tokens: 3 }); // { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 }
 */
export function usageOf(v: unknown): ChatCompletion['usage'] | undefined {
  const u = v as { prompt_tokens?: unknown; completion_tokens?: unknown } | undefined;
  if (typeof u?.prompt_tokens !== 'number' || typeof u.completion_tokens !== 'number')
    return undefined;
  return {
    prompt_tokens: u.prompt_tokens,
    completion_tokens: u.completion_tokens,
    total_tokens: u.prompt_tokens + u.completion_tokens,
  };
}

/**
 * Translates a non-streamed Workers AI result (`{ response, usage? }`) into an OpenAI completion.
 *
 * @example
 * workersAiCompletion('{"response":"Hello!"}', '@cf/meta/llama-3.1-8b-instruct');
 */
export function workersAiCompletion(body: string, model: string): string {
  let out: { response?: unknown; usage?: unknown };
  try {
    out = JSON.parse(body) as typeof out;
  } catch {
    throw new UpstreamError('bad_response', 'Workers AI returned something that is not JSON');
  }
  if (typeof out !== 'object' || out === null || typeof out.response !== 'string') {
    throw new UpstreamError('bad_response', 'Workers AI returned no text response');
  }
  const usage = usageOf(out.usage);
  const completion: ChatCompletion = {
    id: `chatcmpl-${crypto.randomUUID()}`,
    object: 'chat.completion',
    created: nowSeconds(),
    model,
    choices: [
      { index: 0, message: { role: 'assistant', content: out.response }, finish_reason: 'stop' },
    ],
    ...(usage ? { usage } : {}),
  };
  return JSON.stringify(completion);
}
