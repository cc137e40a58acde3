/**
 * A Responses request as the chat body the serving path takes: `instructions` and input items
 * become chat messages (function calls join the assistant turn they belong to, their outputs become
 * `tool` messages), function tools become chat tools, `text.format` becomes `response_format`,
 * `max_output_tokens` becomes `max_tokens`. A streamed request asks for the usage chunk, which the
 * stream translator turns into the final response's `usage`.
 */
import type { ChatMessage } from '../../providers/types';
import type { ChatBody } from '../../schemas/chat';
import type { ContentPart, FunctionTool, InputItem, ResponsesBody } from './schema';

type ChatPart = { type: string; text?: string; [key: string]: unknown };

/** The text of parts (instructions, tool output, an assistant turn), joined. */
function textOf(content: string | ContentPart[], joiner: string): string {
  if (typeof content === 'string') return content;
  return content
    .map((p) => (p.type === 'refusal' ? p.refusal : 'text' in p ? p.text : ''))
    .join(joiner);
}

/** A user message's parts in chat form (text and image_url parts). */
function userContent(content: string | ContentPart[]): string | ChatPart[] {
  if (typeof content === 'string') return content;
  return content.map((p): ChatPart => {
    if (p.type === 'input_image')
      return {
        type: 'image_url',
        image_url: { url: p.image_url, ...(p.detail ? { detail: p.detail } : {}) },
      };
    return { type: 'text', text: 'text' in p ? p.text : '' };
  });
}

/** Appends one input item to the chat messages. */
function addItem(messages: ChatMessage[], item: InputItem): void {
  if ('role' in item) {
    const { role, content } = item;
    if (role === 'user') messages.push({ role, content: userContent(content) });
    else if (role === 'assistant') messages.push({ role, content: textOf(content, '') });
    else messages.push({ role, content: textOf(content, '\n') });
    return;
  }
  if (item.type === 'function_call') {
    const call = {
      id: item.call_id,
      type: 'function',
      function: { name: item.name, arguments: item.arguments },
    };
    // calls right after an assistant turn belong to it (chat keeps text and calls in one message)
    const last = messages[messages.length - 1];
    if (last?.role === 'assistant') {
      last.tool_calls = [...((last.tool_calls as unknown[] | undefined) ?? []), call];
      return;
    }
    messages.push({ role: 'assistant', content: null, tool_calls: [call] });
    return;
  }
  messages.push({ role: 'tool', tool_call_id: item.call_id, content: textOf(item.output, '') });
}

/**
 * The chat messages of a Responses request: `instructions` first (as a system message), then the
 * input items in order.
 *
 * @example
 * chatMessages({ model: 'router', input: 'Hi', instructions: 'Be brief.' });
 * // [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }]
 */
export function chatMessages(body: Pick<ResponsesBody, 'input' | 'instructions'>): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (body.instructions) messages.push({ role: 'system', content: body.instructions });
  if (typeof body.input === 'string') messages.push({ role: 'user', content: body.input });
  else for (const item of body.input) addItem(messages, item);
  return messages;
}

function chatTool(tool: FunctionTool) {
  return {
    type: 'function',
    function: {
      name: tool.name,
      ...(tool.description != null ? { description: tool.description } : {}),
      ...(tool.parameters != null ? { parameters: tool.parameters } : {}),
      ...(tool.strict != null ? { strict: tool.strict } : {}),
    },
  };
}

/** The chat fields of `tools`, `tool_choice` and `parallel_tool_calls` (none without tools). */
function chatTools(body: ResponsesBody): Partial<ChatBody> {
  const tools = body.tools ?? [];
  if (tools.length === 0) return {};
  const choice = body.tool_choice;
  return {
    tools: tools.map(chatTool),
    ...(choice === undefined
      ? {}
      : {
          tool_choice:
            typeof choice === 'string'
              ? choice
              : { type: 'function', function: { name: choice.name } },
        }),
    ...(body.parallel_tool_calls != null ? { parallel_tool_calls: body.parallel_tool_calls } : {}),
  };
}

/** `text.format` as chat's `response_format` (none for plain text). */
function responseFormat(body: ResponsesBody): Partial<ChatBody> {
  const format = body.text?.format;
  if (!format || format.type === 'text') return {};
  if (format.type === 'json_object') return { response_format: { type: 'json_object' } };
  const { name, schema, description, strict } = format;
  const jsonSchema = {
    name,
    schema,
    ...(description !== undefined ? { description } : {}),
    ...(strict != null ? { strict } : {}),
  };
  return { response_format: { type: 'json_schema', json_schema: jsonSchema } };
}

/**
 * The chat body the serving path routes and sends upstream for a Responses request.
 *
 * @example
 * toChatBody(responsesBodyOf({ model: 'router/fast', input: 'Hi', max_output_tokens: 50 }));
 * // { model: 'router/fast', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 50 }
 */
export function toChatBody(body: ResponsesBody): ChatBody {
  return {
    model: body.model,
    messages: chatMessages(body) as ChatBody['messages'],
    ...(body.stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    ...(body.max_output_tokens != null ? { max_tokens: body.max_output_tokens } : {}),
    ...(body.temperature != null ? { temperature: body.temperature } : {}),
    ...(body.top_p != null ? { top_p: body.top_p } : {}),
    ...(body.user !== undefined ? { user: body.user } : {}),
    ...chatTools(body),
    ...responseFormat(body),
    ...(body.router ? { router: body.router } : {}),
  };
}
