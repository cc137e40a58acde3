/**
 * Token usage as the upstreams report it: read from their answers (OpenAI's `usage`, Anthropic's
 * message events, the Workers AI binding's `usage`), handed to the upstream phase for the decision
 * log, and shown to the client in OpenAI's shape only where the client asked for it.
 */
import { z } from 'zod';
import type { ChatRequest } from './types';
import type { ChatCompletionChunk, Usage } from './openai/types';

/** Tokens one answer used, as the upstream counted them (never an estimate). */
export interface TokenUsage {
  /** Prompt tokens, those read from a prompt cache included (OpenAI's sense). */
  promptTokens: number;
  completionTokens: number;
  /** Of the prompt tokens, those read from the provider's prompt cache, where it says so. */
  cachedTokens?: number;
}

/** Takes the usage a stream translator read; a later call replaces an earlier one. */
export type UsageSink = (usage: TokenUsage) => void;

const count = z.number().finite().nonnegative();
const openAIUsageSchema = z.object({ prompt_tokens: count, completion_tokens: count });

/**
 * The usage in OpenAI's names (`prompt_tokens`, `completion_tokens`), or null when `raw` has none
 * that reads as counts (absent, null, negative, not numbers).
 *
 * @example
 * readOpenAIUsage({ prompt_tokens: 7, completion_tokens: 4, total_tokens: 11 }); // { promptTokens: 7, completionTokens: 4 }
 * readOpenAIUsage(null); // null
 */
export function readOpenAIUsage(raw: unknown): TokenUsage | null {
  const parsed = openAIUsageSchema.safeParse(raw);
  if (!parsed.success) return null;
  return {
    promptTokens: parsed.data.prompt_tokens,
    completionTokens: parsed.data.completion_tokens,
  };
}

/**
 * OpenAI's `usage` object for a usage the router read.
 *
 * @example
 * toOpenAIUsage({ promptTokens: 12, completionTokens: 6 }); // { prompt_tokens: 12, completion_tokens: 6, total_tokens: 18 }
 */
export function toOpenAIUsage(usage: TokenUsage): Usage {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    ...(usage.cachedTokens ? { prompt_tokens_details: { cached_tokens: usage.cachedTokens } } : {}),
  };
}

/**
 * Whether the client asked for the usage chunk at the end of its stream
 * (`stream_options.include_usage: true`, as OpenAI's API takes it).
 *
 * @example
 * clientWantsUsage({ model: 'router', messages, stream: true, stream_options: { include_usage: true } }); // true
 */
export function clientWantsUsage(req: ChatRequest): boolean {
  return (req.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
}

/**
 * The last chunk of an OpenAI stream that asked for usage: no choices, only `usage`.
 *
 * @example
 * out.enqueue(sseData(usageChunk({ id: 'msg_1', created: 1700000000, model: 'claude' }, usage)));
 */
export function usageChunk(
  meta: { id: string; created: number; model: string },
  usage: TokenUsage,
): ChatCompletionChunk {
  return {
    id: meta.id,
    object: 'chat.completion.chunk',
    created: meta.created,
    model: meta.model,
    choices: [],
    usage: toOpenAIUsage(usage),
  };
}
