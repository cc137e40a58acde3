import type { ApiError } from '../../errors';
import { UpstreamError } from '../errors';
import { upstreamError } from '../error-body';
import { nowSeconds, type ChatCompletion, type FinishReason, type ToolCall } from '../openai/types';
import { toOpenAIUsage, type TokenUsage } from '../usage';

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
  usage?: unknown;
}

/** Anthropic's usage fields: `input_tokens` leaves out the tokens read from or written to its prompt cache. */
interface AnthropicUsage {
  input_tokens?: unknown;
  output_tokens?: unknown;
  cache_creation_input_tokens?: unknown;
  cache_read_input_tokens?: unknown;
}

const tokens = (v: unknown): number =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0;

/**
 * Prompt tokens of an Anthropic usage object, in OpenAI's sense (cached tokens included), or null
 * when it carries no `input_tokens`.
 *
 * @example
 * anthropicPromptTokens({ input_tokens: 20, cache_read_input_tokens: 80 }); // 100
 */
export function anthropicPromptTokens(raw: unknown): number | null {
  const u = raw as AnthropicUsage | null | undefined;
  if (typeof u?.input_tokens !== 'number') return null;
  return (
    tokens(u.input_tokens) +
    tokens(u.cache_creation_input_tokens) +
    tokens(u.cache_read_input_tokens)
  );
}

/**
 * The usage of a whole Anthropic message (a JSON answer), or null when it reports none.
 *
 * @example
 * anthropicUsage({ input_tokens: 12, output_tokens: 5 }); // { promptTokens: 12, completionTokens: 5 }
 */
export function anthropicUsage(raw: unknown): TokenUsage | null {
  const prompt = anthropicPromptTokens(raw);
  const u = raw as AnthropicUsage | null | undefined;
  if (prompt === null || typeof u?.output_tokens !== 'number') return null;
  const cached = tokens(u.cache_read_input_tokens);
  return {
    promptTokens: prompt,
    completionTokens: tokens(u.output_tokens),
    ...(cached > 0 ? { cachedTokens: cached } : {}),
  };
}

/**
 * Tokens an Anthropic usage object says were read from the prompt cache (0 when it says none).
 *
 * @example
 * anthropicCachedTokens({ input_tokens: 20, cache_read_input_tokens: 80 }); // 80
 */
export function anthropicCachedTokens(raw: unknown): number {
  return tokens((raw as AnthropicUsage | null | undefined)?.cache_read_input_tokens);
}

function isMessage(v: unknown): v is AnthropicMessage {
  const m = v as Partial<AnthropicMessage> | null;
  return (
    typeof m === 'object' && m !== null && typeof m.id === 'string' && Array.isArray(m.content)
  );
}

/**
 * Translates an Anthropic Messages answer into an OpenAI `chat.completion` (text blocks joined,
 * tool_use blocks as tool_calls, usage renamed, cached prompt tokens counted as prompt tokens), and
 * reads its usage (null, and no `usage` in the completion, when Anthropic reported none).
 *
 * @example
 * anthropicCompletion('{"id":"msg_1","type":"message","model":"claude-3-5-haiku-20241022",' +
 *   '"content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":1}}');
 */
export function anthropicCompletion(body: string): { body: string; usage: TokenUsage | null } {
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
  const usage = anthropicUsage(msg.usage);
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
    ...(usage ? { usage: toOpenAIUsage(usage) } : {}),
  };
  return { body: JSON.stringify(out), usage };
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
