/**
 * The Messages API's answer (`type: "message"`), built from a chat answer: a text block, one
 * `tool_use` block per tool call (its arguments parsed into `input`), `stop_reason` from the
 * finish reason and `usage` from the chat usage.
 */
import { ApiError } from '../../errors';
import type { FinishReason } from '../../providers/openai/types';
import { newId, type ChatAnswer, type ChatUsage } from '../chat-answer';

export type StopReason = 'end_turn' | 'max_tokens' | 'tool_use' | 'refusal';

/**
 * A chat finish reason as Anthropic's stop_reason (a stop sequence shows as `end_turn`: chat does
 * not say which way the model stopped).
 *
 * @example
 * stopReason('tool_calls'); // 'tool_use'
 */
export function stopReason(finish: FinishReason, refused = false): StopReason {
  if (refused || finish === 'content_filter') return 'refusal';
  if (finish === 'length') return 'max_tokens';
  if (finish === 'tool_calls') return 'tool_use';
  return 'end_turn';
}

/** Anthropic's usage object. */
export interface MessageUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number | null;
  cache_read_input_tokens: number | null;
}

/**
 * The Messages usage of a chat usage: Anthropic counts cached prompt tokens apart from
 * `input_tokens`. Without a chat usage (the upstream reported none) every count is 0: Anthropic's
 * clients expect the numbers.
 *
 * @example
 * messageUsage({ inputTokens: 100, outputTokens: 5, cachedTokens: 80, reasoningTokens: 0 });
 * // { input_tokens: 20, output_tokens: 5, cache_creation_input_tokens: null, cache_read_input_tokens: 80 }
 */
export function messageUsage(usage: ChatUsage | null): MessageUsage {
  return {
    input_tokens: usage ? usage.inputTokens - usage.cachedTokens : 0,
    output_tokens: usage?.outputTokens ?? 0,
    cache_creation_input_tokens: null,
    cache_read_input_tokens: usage ? usage.cachedTokens : null,
  };
}

/**
 * A tool call's arguments as the `input` object Anthropic's clients read; arguments that are no
 * JSON object are the upstream's fault (502), not something to pass on as `{}`.
 *
 * @example
 * toolInput('{"city":"Paris"}'); // { city: 'Paris' }
 */
export function toolInput(args: string): Record<string, unknown> {
  if (args.trim() === '') return {};
  let input: unknown;
  try {
    input = JSON.parse(args);
  } catch {
    input = undefined;
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new ApiError(502, 'upstream tool call arguments are not a JSON object', {
      type: 'upstream_error',
      code: 'upstream_bad_response',
    });
  return input as Record<string, unknown>;
}

/**
 * The Messages answer for a whole chat answer.
 *
 * @example
 * toMessage(readChatAnswer(json)).content; // [{ type: 'text', text: 'Hello' }]
 */
export function toMessage(answer: ChatAnswer, model: string) {
  const text = (answer.text ?? '') + (answer.refusal ?? '');
  const content: Array<Record<string, unknown>> = [];
  if (text !== '') content.push({ type: 'text', text });
  for (const call of answer.toolCalls)
    content.push({
      type: 'tool_use',
      id: call.id,
      name: call.name,
      input: toolInput(call.arguments),
    });
  return {
    id: newId('msg'),
    type: 'message',
    role: 'assistant',
    model: answer.model || model,
    content,
    stop_reason: stopReason(answer.finish, answer.refusal !== null && answer.refusal !== ''),
    stop_sequence: null,
    usage: messageUsage(answer.usage),
  };
}
