/**
 * What the translated ingress APIs read of a chat answer: the first choice of a `chat.completion`
 * (text, refusal, tool calls, finish reason) and its usage, whichever provider it came from (the
 * provider adapters all answer in OpenAI chat format).
 */
import { z } from 'zod';
import { ApiError } from '../errors';
import type { FinishReason } from '../providers/openai/types';

/** One tool call of the answer. */
export interface ChatToolCall {
  id: string;
  name: string;
  /** JSON text, as the model wrote it. */
  arguments: string;
}

/** Token counts, from the chat answer's `usage` (OpenAI names). */
export interface ChatUsage {
  inputTokens: number;
  outputTokens: number;
  /** Prompt tokens read from the provider's cache (`prompt_tokens_details.cached_tokens`), or 0. */
  cachedTokens: number;
  /** Output tokens spent reasoning (`completion_tokens_details.reasoning_tokens`), or 0. */
  reasoningTokens: number;
}

/** The first choice of a chat answer, flattened. */
export interface ChatAnswer {
  id: string;
  model: string;
  /** Null when the model wrote no text (only tool calls, or a refusal). */
  text: string | null;
  refusal: string | null;
  toolCalls: ChatToolCall[];
  finish: FinishReason;
  /** Null when the upstream reported none. */
  usage: ChatUsage | null;
}

const count = z.number().int().min(0).catch(0);

const usageSchema = z.object({
  prompt_tokens: z.number().int().min(0),
  completion_tokens: z.number().int().min(0),
  prompt_tokens_details: z.object({ cached_tokens: count.optional() }).nullish().catch(null),
  completion_tokens_details: z.object({ reasoning_tokens: count.optional() }).nullish().catch(null),
});

/**
 * The usage a chat answer or chunk carries, or null when it has none (or none that reads as counts).
 *
 * @example
 * usageOf({ prompt_tokens: 7, completion_tokens: 4, total_tokens: 11 });
 * // { inputTokens: 7, outputTokens: 4, cachedTokens: 0, reasoningTokens: 0 }
 */
export function usageOf(raw: unknown): ChatUsage | null {
  const parsed = usageSchema.safeParse(raw);
  if (!parsed.success) return null;
  const u = parsed.data;
  return {
    inputTokens: u.prompt_tokens,
    outputTokens: u.completion_tokens,
    cachedTokens: u.prompt_tokens_details?.cached_tokens ?? 0,
    reasoningTokens: u.completion_tokens_details?.reasoning_tokens ?? 0,
  };
}

const FINISH = ['stop', 'length', 'tool_calls', 'content_filter'] as const;

/**
 * A chat finish reason in the four values OpenAI documents (`function_call`, an old name for tool
 * calls, counts as `tool_calls`; anything else a provider invents as `stop`), or null.
 *
 * @example
 * finishOf('function_call'); // 'tool_calls'
 */
export function finishOf(raw: unknown): FinishReason {
  if (raw === null || raw === undefined) return null;
  if (raw === 'function_call') return 'tool_calls';
  return (FINISH as readonly unknown[]).includes(raw) ? (raw as FinishReason) : 'stop';
}

const answerSchema = z.object({
  id: z.string().catch(''),
  model: z.string().catch(''),
  choices: z
    .array(
      z.object({
        message: z.object({
          content: z.string().nullish(),
          refusal: z.string().nullish().catch(null),
          tool_calls: z
            .array(
              z.object({
                id: z.string(),
                function: z.object({ name: z.string(), arguments: z.string().catch('') }),
              }),
            )
            .nullish(),
        }),
        finish_reason: z.unknown().optional(),
      }),
    )
    .min(1),
  usage: z.unknown().optional(),
});

/**
 * Reads a `chat.completion` (JSON text, as the serving path answers) into its first choice; a
 * body that has none is the upstream's fault: 502 `upstream_bad_response`.
 *
 * @example
 * readChatAnswer('{"id":"c1","model":"m","choices":[{"message":{"content":"Hi"},"finish_reason":"stop"}]}').text; // 'Hi'
 */
export function readChatAnswer(json: string): ChatAnswer {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    raw = undefined;
  }
  const parsed = answerSchema.safeParse(raw);
  if (!parsed.success)
    throw new ApiError(502, 'upstream answer has no readable choice', {
      type: 'upstream_error',
      code: 'upstream_bad_response',
    });
  const { id, model, choices, usage } = parsed.data;
  const { message, finish_reason } = choices[0]!;
  return {
    id,
    model,
    text: message.content ?? null,
    refusal: message.refusal ?? null,
    toolCalls: (message.tool_calls ?? []).map((t) => ({
      id: t.id,
      name: t.function.name,
      arguments: t.function.arguments,
    })),
    finish: finishOf(finish_reason),
    usage: usageOf(usage),
  };
}

/**
 * A short random id with a prefix, as the APIs name their objects (`resp_...`, `msg_...`).
 *
 * @example
 * newId('resp'); // 'resp_3f9c0a...'
 */
export function newId(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().replaceAll('-', '')}`;
}
