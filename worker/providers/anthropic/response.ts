import type { ApiError } from '../../errors';
import { UpstreamError } from '../errors';
import { upstreamError } from '../error-body';
import { nowSeconds, type ChatCompletion, type FinishReason, type ToolCall } from '../openai/types';

/**
 * Anthropic's stop_reason in OpenAI's finish_reason vocabulary.
 *
 * @example
 * finishReason('max_tokens'); // 'length'
 */
export function finishReason(stop: unknown): FinishReason {
  switch (stop) {
    case 'end_turn':
    case 'stop_sequence':
    case 'pause_turn':
      return 'stop';
    case 'max_tokens':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return stop == null ? null : 'stop';
  }
}

interface AnthropicMessage {
  id: string;
  model: string;
  content: Array<{ type: string; text?: string; id?: string; name?: string; input?: unknown }>;
  stop_reason?: string | null;
  usage?: { input_tokens?: number; output_tokens?: number };
}

function isMessage(v: unknown): v is AnthropicMessage {
  const m = v as Partial<AnthropicMessage> | null;
  return (
    typeof m === 'object' && m !== null && typeof m.id === 'string' && Array.isArray(m.content)
  );
}

/**
 * Translates an Anthropic Messages answer into an OpenAI `chat.completion` (text blocks joined,
 * tool_use blocks as tool_calls, usage renamed).
 *
 * @example
 * anthropicCompletion('{"id":"msg_1","type":"message","model":"claude-3-5-haiku-20241022",' +
 *   '"content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":1}}');
 */
export function anthropicCompletion(body: string): string {
  let msg: unknown;
  try {
    msg = JSON.parse(body);
  } catch {
    throw new UpstreamError('bad_response', 'Anthropic answered 200 with a body that is not JSON');
  }
  if (!isMessage(msg))
    throw new UpstreamError('bad_response', 'Anthropic answered 200 without a message');
  const text = msg.content
    .filter((b) => b.type === 'text')
    .map((b) => b.text ?? '')
    .join('');
  const toolCalls: ToolCall[] = msg.content
    .filter((b) => b.type === 'tool_use')
    .map((b) => ({
      id: b.id ?? '',
      type: 'function',
      function: { name: b.name ?? '', arguments: JSON.stringify(b.input ?? {}) },
    }));
  const prompt = msg.usage?.input_tokens ?? 0;
  const completion = msg.usage?.output_tokens ?? 0;
  const out: ChatCompletion = {
    id: msg.id,
    object: 'chat.completion',
    created: nowSeconds(),
    model: msg.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: text,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        finish_reason: finishReason(msg.stop_reason),
      },
    ],
    usage: {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
    },
  };
  return JSON.stringify(out);
}

/**
 * Maps Anthropic's error answer (`{"type":"error","error":{"type","message"}}`) to a clean OpenAI
 * error (see `upstreamError`): its message, cleaned and capped, and its error type as the code.
 *
 * @example
 * anthropicError(400, '{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: too big"}}');
 */
export function anthropicError(status: number, body: string): ApiError {
  return upstreamError(status, body);
}
