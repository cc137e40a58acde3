import { UpstreamError } from '../errors';
import { nowSeconds, type ChatCompletion } from '../openai/types';
import { readOpenAIUsage, toOpenAIUsage, type TokenUsage } from '../usage';

/**
 * Translates a non-streamed Workers AI result (`{ response, usage? }`, usage in OpenAI's names)
 * into an OpenAI completion, and reads its usage (null when the binding reported none).
 *
 * @example
 * workersAiCompletion('{"response":"Hello!"}', '@cf/meta/llama-3.1-8b-instruct');
 */
export function workersAiCompletion(
  body: string,
  model: string,
): { body: string; usage: TokenUsage | null } {
  let out: { response?: unknown; usage?: unknown };
  try {
    out = JSON.parse(body) as typeof out;
  } catch {
    throw new UpstreamError('bad_response', 'Workers AI returned something that is not JSON');
  }
  if (typeof out !== 'object' || out === null || typeof out.response !== 'string') {
    throw new UpstreamError('bad_response', 'Workers AI returned no text response');
  }
  const usage = readOpenAIUsage(out.usage);
  const completion: ChatCompletion = {
    id: `chatcmpl-${crypto.randomUUID()}`,
    object: 'chat.completion',
    created: nowSeconds(),
    model,
    choices: [
      { index: 0, message: { role: 'assistant', content: out.response }, finish_reason: 'stop' },
    ],
    ...(usage ? { usage: toOpenAIUsage(usage) } : {}),
  };
  return { body: JSON.stringify(completion), usage };
}
