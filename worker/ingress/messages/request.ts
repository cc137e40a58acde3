/**
 * A Messages request as the chat body the serving path takes: `system` becomes a system message,
 * a user turn's `tool_result` blocks become `tool` messages (before the rest of the turn, as chat
 * wants them right after the assistant's calls), its text and images a user message, an assistant
 * turn's `tool_use` blocks its `tool_calls`; custom tools become chat tools, `tool_choice` its chat
 * form (`any` is `required`, `disable_parallel_tool_use` is `parallel_tool_calls: false`),
 * `stop_sequences` is `stop`, `metadata.user_id` is `user`. A streamed request asks for the usage
 * chunk, which the stream translator reports in `message_delta`.
 */
import type { ChatMessage } from '../../providers/types';
import type { ChatBody } from '../../schemas/chat';
import type {
  AssistantBlock,
  CustomTool,
  MessageParam,
  MessagesBody,
  TextBlock,
  ToolResultBlock,
  UserBlock,
} from './schema';

type ChatPart = { type: string; text?: string; [key: string]: unknown };

/** Chat has no error flag on a tool result: the model reads it in the text instead. */
export const TOOL_ERROR_PREFIX = 'Error: ';

function toolResultText(block: ToolResultBlock): string {
  const { content } = block;
  const text =
    content === undefined
      ? ''
      : typeof content === 'string'
        ? content
        : content.map((b) => b.text).join('\n');
  return block.is_error ? `${TOOL_ERROR_PREFIX}${text}` : text;
}

function userPart(block: Exclude<UserBlock, ToolResultBlock>): ChatPart {
  if (block.type === 'text') return { type: 'text', text: block.text };
  const { source } = block;
  const url =
    source.type === 'url' ? source.url : `data:${source.media_type};base64,${source.data}`;
  return { type: 'image_url', image_url: { url } };
}

/** A user turn: its tool results first (as `tool` messages), then its text and images. */
function addUser(messages: ChatMessage[], content: string | UserBlock[]): void {
  if (typeof content === 'string') {
    messages.push({ role: 'user', content });
    return;
  }
  const parts: ChatPart[] = [];
  for (const block of content) {
    if (block.type === 'tool_result')
      messages.push({
        role: 'tool',
        tool_call_id: block.tool_use_id,
        content: toolResultText(block),
      });
    else parts.push(userPart(block));
  }
  if (parts.length === 0) return;
  const only = parts.length === 1 ? parts[0] : undefined;
  messages.push({ role: 'user', content: only?.type === 'text' ? only.text! : parts });
}

/** An assistant turn: its text as content, its tool_use blocks as tool_calls. */
function addAssistant(messages: ChatMessage[], content: string | AssistantBlock[]): void {
  if (typeof content === 'string') {
    messages.push({ role: 'assistant', content });
    return;
  }
  const text = content
    .filter((b): b is TextBlock => b.type === 'text')
    .map((b) => b.text)
    .join('');
  const calls = content
    .filter((b) => b.type === 'tool_use')
    .map((b) => ({
      id: b.id,
      type: 'function',
      function: { name: b.name, arguments: JSON.stringify(b.input) },
    }));
  messages.push({
    role: 'assistant',
    content: text === '' && calls.length > 0 ? null : text,
    ...(calls.length > 0 ? { tool_calls: calls } : {}),
  });
}

/**
 * The chat messages of a Messages request: `system` first, then each turn.
 *
 * @example
 * chatMessages({ system: 'Be brief.', messages: [{ role: 'user', content: 'Hi' }] });
 * // [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }]
 */
export function chatMessages(body: Pick<MessagesBody, 'system' | 'messages'>): ChatMessage[] {
  const messages: ChatMessage[] = [];
  const system =
    typeof body.system === 'string'
      ? body.system
      : (body.system ?? []).map((b) => b.text).join('\n\n');
  if (system !== '') messages.push({ role: 'system', content: system });
  for (const turn of body.messages as MessageParam[]) {
    if (turn.role === 'user') addUser(messages, turn.content);
    else addAssistant(messages, turn.content);
  }
  return messages;
}

function chatTool(tool: CustomTool) {
  return {
    type: 'function',
    function: {
      name: tool.name,
      ...(tool.description !== undefined ? { description: tool.description } : {}),
      parameters: tool.input_schema,
      ...(tool.strict !== undefined ? { strict: tool.strict } : {}),
    },
  };
}

/** The chat fields of `tools` and `tool_choice` (none without tools). */
function chatTools(body: MessagesBody): Partial<ChatBody> {
  const tools = body.tools ?? [];
  if (tools.length === 0) return {};
  const choice = body.tool_choice;
  const out: Partial<ChatBody> = { tools: tools.map(chatTool) };
  if (!choice) return out;
  if (choice.type === 'tool')
    out.tool_choice = { type: 'function', function: { name: choice.name } };
  else out.tool_choice = choice.type === 'any' ? 'required' : choice.type;
  if ('disable_parallel_tool_use' in choice && choice.disable_parallel_tool_use)
    out.parallel_tool_calls = false;
  return out;
}

/**
 * The chat body the serving path routes and sends upstream for a Messages request.
 *
 * @example
 * toChatBody(messagesBodyOf({ model: 'router', max_tokens: 256, messages: [{ role: 'user', content: 'Hi' }] }));
 * // { model: 'router', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 256 }
 */
export function toChatBody(body: MessagesBody): ChatBody {
  const user = body.metadata?.user_id;
  return {
    model: body.model,
    messages: chatMessages(body) as ChatBody['messages'],
    max_tokens: body.max_tokens,
    ...(body.stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    ...(body.temperature !== undefined ? { temperature: body.temperature } : {}),
    ...(body.top_p !== undefined ? { top_p: body.top_p } : {}),
    ...(body.stop_sequences?.length ? { stop: body.stop_sequences } : {}),
    ...(typeof user === 'string' ? { user } : {}),
    ...chatTools(body),
    ...(body.router ? { router: body.router } : {}),
  };
}
