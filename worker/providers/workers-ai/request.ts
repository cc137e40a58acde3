import type { ChatRequest } from '../types';
import { textOf } from '../anthropic/request';

/** The text-generation input Workers AI chat models take (`messages` with plain string content). */
export interface WorkersAiInput {
  messages: Array<{ role: string; content: string }>;
  stream?: boolean;
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  [key: string]: unknown;
}

/**
 * Builds the `env.AI.run(model, input)` input from an OpenAI chat request. Content parts are
 * flattened to text; `developer` becomes `system`, which Workers AI models understand.
 *
 * @example
 * workersAiInput({ model: 'router', messages: [{ role: 'user', content: 'Hi' }], stream: true });
 * // { messages: [{ role: 'user', content: 'Hi' }], stream: true }
 */
export function workersAiInput(req: ChatRequest): WorkersAiInput {
  const input: WorkersAiInput = {
    messages: req.messages.map((m) => ({
      role: m.role === 'developer' ? 'system' : m.role,
      content: textOf(m.content),
    })),
  };
  if (req.stream) input.stream = true;
  const maxTokens = req.max_completion_tokens ?? req.max_tokens;
  if (typeof maxTokens === 'number') input.max_tokens = maxTokens;
  if (typeof req.temperature === 'number') input.temperature = req.temperature;
  if (typeof req.top_p === 'number') input.top_p = req.top_p;
  return input;
}
