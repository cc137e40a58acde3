/** The OpenAI chat-completions response shapes every provider translates into. */

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | null;

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens: number };
}

/** A non-streamed answer (`object: "chat.completion"`). */
export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: { role: 'assistant'; content: string | null; tool_calls?: ToolCall[] };
    finish_reason: FinishReason;
  }>;
  usage?: Usage;
}

/** A tool-call fragment inside a streamed delta. */
export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
}

/** One streamed piece (`object: "chat.completion.chunk"`). */
export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: { role?: 'assistant'; content?: string; tool_calls?: ToolCallDelta[] };
    finish_reason: FinishReason;
  }>;
  usage?: Usage | null;
}

/**
 * A chunk with one choice, for translators.
 *
 * @example
 * chunk({ id: 'msg_1', created: 1700000000, model: 'claude-3-5-haiku' }, { content: 'Hi' });
 */
export function chunk(
  meta: { id: string; created: number; model: string },
  delta: ChatCompletionChunk['choices'][number]['delta'],
  finishReason: FinishReason = null,
): ChatCompletionChunk {
  return {
    id: meta.id,
    object: 'chat.completion.chunk',
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  };
}

/**
 * Seconds since the epoch, as OpenAI's `created` field.
 *
 * @example
 * chunk({ id, created: nowSeconds(), model }, { content: 'Hi' });
 */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
