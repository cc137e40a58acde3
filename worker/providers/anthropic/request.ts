import type { ChatMessage, ChatRequest, UpstreamTarget } from '../types';
import { UpstreamError } from '../errors';

/** Anthropic requires max_tokens; OpenAI callers often leave it out. */
export const DEFAULT_MAX_TOKENS = 4096;
export const ANTHROPIC_VERSION = '2023-06-01';
/** Where a model row without base_url is sent (the grants check this host too). */
export const DEFAULT_BASE_URL = 'https://api.anthropic.com/v1';

type Block =
  | { type: 'text'; text: string }
  | {
      type: 'image';
      source: { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string };
    }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'tool_result'; tool_use_id: string; content: string };

interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

/** The Anthropic Messages request body this adapter sends. */
export interface AnthropicRequestBody {
  model: string;
  messages: AnthropicMessage[];
  max_tokens: number;
  system?: string;
  stream?: boolean;
  temperature?: number;
  top_p?: number;
  stop_sequences?: string[];
  metadata?: { user_id: string };
  tools?: Array<{ name: string; description?: string; input_schema: unknown }>;
  tool_choice?: { type: 'auto' | 'any' | 'none' } | { type: 'tool'; name: string };
}

/**
 * Plain text of a message's content (system prompts and tool results are text-only in Anthropic's API).
 *
 * @example
 * textOf([{ type: 'text', text: 'a' }, { type: 'image_url', image_url: { url: '...' } }, { type: 'text', text: 'b' }]); // 'a\nb'
 */
export function textOf(content: ChatMessage['content']): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content
    .map((p) => (typeof p.text === 'string' ? p.text : ''))
    .filter((t) => t !== '')
    .join('\n');
}

function imageBlock(part: Record<string, unknown>): Block {
  const image = part.image_url;
  const url = typeof image === 'string' ? image : (image as { url?: unknown } | undefined)?.url;
  if (typeof url !== 'string')
    throw new UpstreamError('bad_request', 'image_url part without a url', 400);
  const m = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (m)
    return {
      type: 'image',
      source: { type: 'base64', media_type: m[1] ?? 'image/png', data: m[2] ?? '' },
    };
  return { type: 'image', source: { type: 'url', url } };
}

function blocksOf(content: ChatMessage['content']): Block[] {
  if (content == null) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  const out: Block[] = [];
  for (const part of content) {
    if (part.type === 'text' && typeof part.text === 'string')
      out.push({ type: 'text', text: part.text });
    else if (part.type === 'image_url') out.push(imageBlock(part));
    else if (typeof part.text === 'string') out.push({ type: 'text', text: part.text });
  }
  return out;
}

function toolUseBlocks(msg: ChatMessage): Block[] {
  const calls = msg.tool_calls;
  if (!Array.isArray(calls)) return [];
  return calls.map((c: { id?: unknown; function?: { name?: unknown; arguments?: unknown } }) => {
    let input: unknown = {};
    const args = c.function?.arguments;
    if (typeof args === 'string' && args !== '') {
      try {
        input = JSON.parse(args);
      } catch {
        throw new UpstreamError('bad_request', 'tool_calls[].function.arguments is not JSON', 400);
      }
    }
    return {
      type: 'tool_use',
      id: String(c.id ?? ''),
      name: String(c.function?.name ?? ''),
      input,
    };
  });
}

/**
 * Translates OpenAI chat messages into Anthropic's: system/developer messages become the `system`
 * string, tool results become `tool_result` blocks in a user turn, assistant tool calls become
 * `tool_use` blocks, and consecutive turns of one role are merged (Anthropic wants alternation).
 *
 * @example
 * toAnthropicMessages([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }]);
 * // { system: 'Be brief.', messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }] }
 */
export function toAnthropicMessages(messages: ChatMessage[]): {
  system?: string;
  messages: AnthropicMessage[];
} {
  const system: string[] = [];
  const out: AnthropicMessage[] = [];
  const push = (role: AnthropicMessage['role'], blocks: Block[]): void => {
    if (blocks.length === 0) return;
    const last = out[out.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  };
  for (const msg of messages) {
    if (msg.role === 'system' || msg.role === 'developer') system.push(textOf(msg.content));
    else if (msg.role === 'tool') {
      push('user', [
        {
          type: 'tool_result',
          tool_use_id: String(msg.tool_call_id ?? ''),
          content: textOf(msg.content),
        },
      ]);
    } else if (msg.role === 'assistant')
      push('assistant', [...blocksOf(msg.content), ...toolUseBlocks(msg)]);
    else push('user', blocksOf(msg.content));
  }
  const joined = system.filter((s) => s !== '').join('\n\n');
  return joined === '' ? { messages: out } : { system: joined, messages: out };
}

function tools(req: ChatRequest): Pick<AnthropicRequestBody, 'tools' | 'tool_choice'> {
  if (!Array.isArray(req.tools)) return {};
  const defs = (
    req.tools as Array<{
      function?: { name?: unknown; description?: unknown; parameters?: unknown };
    }>
  ).map((t) => ({
    name: String(t.function?.name ?? ''),
    ...(typeof t.function?.description === 'string' ? { description: t.function.description } : {}),
    input_schema: t.function?.parameters ?? { type: 'object', properties: {} },
  }));
  const choice = req.tool_choice;
  if (choice === 'required') return { tools: defs, tool_choice: { type: 'any' } };
  if (choice === 'none') return { tools: defs, tool_choice: { type: 'none' } };
  if (typeof choice === 'object' && choice !== null) {
    const name = (choice as { function?: { name?: unknown } }).function?.name;
    if (typeof name === 'string') return { tools: defs, tool_choice: { type: 'tool', name } };
  }
  return { tools: defs };
}

/**
 * Builds the Anthropic Messages request body from an OpenAI chat request.
 *
 * @example
 * anthropicBody({ name: 'claude', provider: 'anthropic', upstreamModel: 'claude-3-5-haiku-20241022' },
 *   { model: 'router', messages: [{ role: 'user', content: 'Hi' }], stop: 'END' });
 * // { model: 'claude-3-5-haiku-20241022', max_tokens: 4096, stop_sequences: ['END'], messages: [...] }
 */
export function anthropicBody(target: UpstreamTarget, req: ChatRequest): AnthropicRequestBody {
  const { system, messages } = toAnthropicMessages(req.messages);
  const body: AnthropicRequestBody = {
    model: target.upstreamModel,
    messages,
    max_tokens: req.max_completion_tokens ?? req.max_tokens ?? DEFAULT_MAX_TOKENS,
    ...(system !== undefined ? { system } : {}),
    ...tools(req),
  };
  if (req.stream) body.stream = true;
  // Anthropic's temperature range is [0, 1]; OpenAI's is [0, 2].
  if (typeof req.temperature === 'number')
    body.temperature = Math.min(1, Math.max(0, req.temperature));
  if (typeof req.top_p === 'number') body.top_p = req.top_p;
  if (req.stop !== undefined) body.stop_sequences = Array.isArray(req.stop) ? req.stop : [req.stop];
  if (typeof req.user === 'string') body.metadata = { user_id: req.user };
  return body;
}

/**
 * The HTTP request for `POST {baseUrl}/messages` (base URL defaults to Anthropic's public API).
 * Redirects are not followed (`redirect: 'manual'`: a 3xx fails the try, see upstream/attempt.ts).
 *
 * @example
 * const { url, init } = anthropicRequest(target, req);
 */
export function anthropicRequest(
  target: UpstreamTarget,
  req: ChatRequest,
): { url: string; init: RequestInit } {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'anthropic-version': ANTHROPIC_VERSION,
  };
  if (target.apiKey) headers['x-api-key'] = target.apiKey;
  if (req.stream) headers.accept = 'text/event-stream';
  return {
    url: `${(target.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '')}/messages`,
    init: {
      method: 'POST',
      headers,
      redirect: 'manual',
      body: JSON.stringify(anthropicBody(target, req)),
    },
  };
}
