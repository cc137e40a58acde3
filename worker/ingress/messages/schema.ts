/**
 * The request body of `POST /v1/messages` (Anthropic Messages API) that the router takes: `system`
 * (a string or text blocks), `messages` with text, image (base64 or URL), `tool_use` and
 * `tool_result` blocks, custom tools with `input_schema`, `tool_choice`, `max_tokens` (required, as
 * Anthropic requires it), `temperature`, `top_p`, `stop_sequences`, `metadata.user_id`, `stream`,
 * plus the router's own `router` object. `cache_control` is accepted wherever Anthropic takes it
 * and has no effect (a caching hint: the answer is the same without it). Everything else is
 * refused with a 400 that names it: extended thinking, server tools, documents, `top_k`, ...
 */
import { z } from 'zod';
import { MAX_MODEL_CHARS, routerOptionsSchema } from '../../schemas/chat';
import { byType, parseIngress, refused, stringOr } from '../validate';

export const MESSAGES_ENDPOINT = '/v1/messages';

/** A caching hint: accepted, without effect (the router's upstreams are called through chat). */
const cacheControl = z
  .object({ type: z.literal('ephemeral'), ttl: z.enum(['5m', '1h']).optional() })
  .strict()
  .nullable()
  .optional();

const textBlock = z
  .object({
    type: z.literal('text'),
    text: z.string(),
    cache_control: cacheControl,
    citations: refused('citations are not supported by the router'),
  })
  .strict();

const FILES = 'file sources need the Files API, which the router does not have';
const imageSource = byType(
  {
    base64: z
      .object({
        type: z.literal('base64'),
        media_type: z.enum(['image/jpeg', 'image/png', 'image/gif', 'image/webp']),
        data: z.string().min(1),
      })
      .strict(),
    url: z.object({ type: z.literal('url'), url: z.string().min(1) }).strict(),
  },
  { what: 'image source', refusedTypes: { file: FILES } },
);
const imageBlock = z
  .object({ type: z.literal('image'), source: imageSource, cache_control: cacheControl })
  .strict();

const toolUseBlock = z
  .object({
    type: z.literal('tool_use'),
    id: z.string().min(1),
    name: z.string().min(1),
    input: z.record(z.string(), z.unknown()),
    cache_control: cacheControl,
  })
  .strict();

const toolResultText = byType(
  { text: textBlock },
  {
    what: 'tool_result content block',
    refusedTypes: { image: 'images in tool results are not supported by the router; send text' },
  },
);
const toolResultBlock = z
  .object({
    type: z.literal('tool_result'),
    tool_use_id: z.string().min(1),
    content: stringOr(
      z.array(toolResultText),
      'tool_result content must be a string or a list of text blocks',
    ).optional(),
    is_error: z.boolean().optional(),
    cache_control: cacheControl,
  })
  .strict();

const NO_THINKING =
  'thinking blocks are not supported: the router does not enable extended thinking';
const SERVER_TOOLS = 'server tools are not supported by the router; use custom tools';
const refusedBlocks = {
  document: 'documents are not supported by the router; send text or images',
  search_result: 'search results are not supported by the router',
  thinking: NO_THINKING,
  redacted_thinking: NO_THINKING,
  server_tool_use: SERVER_TOOLS,
  web_search_tool_result: SERVER_TOOLS,
};
const userBlock = byType(
  { text: textBlock, image: imageBlock, tool_result: toolResultBlock },
  { what: 'user content block', refusedTypes: refusedBlocks },
);
const assistantBlock = byType(
  { text: textBlock, tool_use: toolUseBlock },
  { what: 'assistant content block', refusedTypes: refusedBlocks },
);

const message = (role: 'user' | 'assistant', block: z.ZodType) =>
  z
    .object({
      role: z.literal(role),
      content: stringOr(z.array(block), 'content must be a string or a list of content blocks'),
    })
    .strict();
const messageSchema = byType(
  { user: message('user', userBlock), assistant: message('assistant', assistantBlock) },
  { what: 'message role', key: 'role' },
);

const customTool = z
  .object({
    type: z.literal('custom'),
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,128}$/, 'name: 1-128 letters, digits, _ or -'),
    description: z.string().optional(),
    input_schema: z.record(z.string(), z.unknown()),
    strict: z.boolean().optional(),
    cache_control: cacheControl,
  })
  .strict();
/** A tool: custom (with or without `type`); Anthropic's server and client tools are refused. */
const tool = z.preprocess(
  (v) =>
    typeof v === 'object' && v !== null && (v as { type?: unknown }).type == null
      ? { ...v, type: 'custom' }
      : v,
  byType(
    { custom: customTool },
    {
      what: 'tool type',
      refusedTypes: Object.fromEntries(
        ['bash_20250124', 'text_editor_20250124', 'text_editor_20250429', 'text_editor_20250728']
          .concat(['web_search_20250305', 'web_fetch_20250910', 'code_execution_20250522'])
          .concat(['code_execution_20250825', 'computer_20250124', 'memory_20250818'])
          .map((t) => [t, `${SERVER_TOOLS} (${t} is one of Anthropic's own tools)`]),
      ),
    },
  ),
);

const parallel = { disable_parallel_tool_use: z.boolean().optional() };
const toolChoice = byType(
  {
    auto: z.object({ type: z.literal('auto'), ...parallel }).strict(),
    any: z.object({ type: z.literal('any'), ...parallel }).strict(),
    tool: z.object({ type: z.literal('tool'), name: z.string().min(1), ...parallel }).strict(),
    none: z.object({ type: z.literal('none') }).strict(),
  },
  { what: 'tool_choice type' },
);

/** `thinking` may only say that it is off. */
const thinking = z
  .unknown()
  .superRefine((v, ctx) => {
    const off = v == null || (v as { type?: unknown }).type === 'disabled';
    if (!off)
      ctx.addIssue({
        code: 'custom',
        message: 'extended thinking is not supported by the router',
        params: { unsupported: true },
      });
  })
  .optional();

export const messagesBodySchema = z
  .object({
    model: z.string().min(1).max(MAX_MODEL_CHARS),
    max_tokens: z.number().int().min(1),
    messages: z.array(messageSchema).min(1, 'messages must contain at least one message'),
    system: stringOr(z.array(textBlock), 'system must be a string or a list of text blocks')
      .nullable()
      .optional(),
    tools: z.array(tool).optional(),
    tool_choice: toolChoice.optional(),
    temperature: z.number().min(0).max(1).optional(),
    top_p: z.number().min(0).max(1).optional(),
    top_k: refused("top_k is not supported: the router's upstreams are called through OpenAI chat"),
    stop_sequences: z.array(z.string().min(1)).optional(),
    stream: z.boolean().optional(),
    metadata: z
      .object({ user_id: z.string().max(256).nullable().optional() })
      .strict()
      .nullable()
      .optional(),
    cache_control: cacheControl,
    thinking,
    service_tier: refused('service_tier is not supported by the router'),
    router: routerOptionsSchema.optional(),
  })
  .strict();

export type MessagesBody = z.output<typeof messagesBodySchema>;
export type TextBlock = z.output<typeof textBlock>;
export type ToolResultBlock = z.output<typeof toolResultBlock>;
export type UserBlock = TextBlock | z.output<typeof imageBlock> | ToolResultBlock;
export type AssistantBlock = TextBlock | z.output<typeof toolUseBlock>;
export type MessageParam =
  | { role: 'user'; content: string | UserBlock[] }
  | { role: 'assistant'; content: string | AssistantBlock[] };
export type CustomTool = z.output<typeof customTool>;

/**
 * The checked Messages body, or the 400 naming the first field the router cannot take.
 *
 * @example
 * messagesBodyOf({ model: 'router', max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }] });
 */
export function messagesBodyOf(raw: unknown): MessagesBody {
  return parseIngress(MESSAGES_ENDPOINT, messagesBodySchema, raw);
}
