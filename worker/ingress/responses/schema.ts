/**
 * The request body of `POST /v1/responses` (OpenAI Responses API) that the router takes: text or
 * message input (`input_text`, `input_image`, `output_text` parts), function tools and their round
 * trip (`function_call`, `function_call_output` items), `instructions`, `tool_choice`, JSON output
 * (`text.format`), sampling and length limits, `metadata`, `user`, `stream`, plus the router's own
 * `router` object. Everything else is refused with a 400 that names it: the router keeps no stored
 * responses (`previous_response_id`, `conversation`, `item_reference`, `store: true`, `background`)
 * and runs no built-in tools (web search, file search, ...).
 */
import { z } from 'zod';
import { MAX_MODEL_CHARS, routerOptionsSchema } from '../../schemas/chat';
import { byType, onlyValues, parseIngress, refused, stringOr } from '../validate';

export const RESPONSES_ENDPOINT = '/v1/responses';

const NO_STORED_STATE =
  'the router keeps no stored responses or conversations; send the whole conversation in input';

const inputText = z.object({ type: z.literal('input_text'), text: z.string() }).strict();
const inputImage = z
  .object({
    type: z.literal('input_image'),
    image_url: z.string().min(1, 'input_image needs an image_url (a URL or a data: URL)'),
    detail: z.enum(['low', 'high', 'auto']).nullable().optional(),
    file_id: refused('file ids need the Files API, which the router does not have; send image_url'),
  })
  .strict();
const outputText = z
  .object({
    type: z.literal('output_text'),
    text: z.string(),
    // replayed output: citations and logprobs describe an earlier answer, they do not shape the next
    annotations: z.array(z.unknown()).optional(),
    logprobs: z.array(z.unknown()).nullable().optional(),
    // what the openai SDK's parsing helpers add to an answer it hands back
    parsed: z.unknown().optional(),
  })
  .strict();
const refusalPart = z.object({ type: z.literal('refusal'), refusal: z.string() }).strict();

const FILE_INPUT = 'file inputs are not supported by the router; send text or images';
const userPart = byType(
  { input_text: inputText, input_image: inputImage },
  { what: 'content part', refusedTypes: { input_file: FILE_INPUT, input_audio: FILE_INPUT } },
);
const textPart = byType({ input_text: inputText }, { what: 'instruction content part' });
const assistantPart = byType(
  { output_text: outputText, refusal: refusalPart, input_text: inputText },
  { what: 'assistant content part' },
);

const itemStatus = z.enum(['in_progress', 'completed', 'incomplete']).optional();
/** Fields a replayed output item carries that do not shape the next answer. */
const replayed = { id: z.string().optional(), status: itemStatus };

const message = (role: z.ZodType, part: z.ZodType) =>
  z
    .object({
      type: z.literal('message').optional(),
      role,
      content: stringOr(z.array(part), 'content must be a string or a list of content parts'),
      phase: z.enum(['commentary', 'final_answer']).nullable().optional(),
      ...replayed,
    })
    .strict();

const messageItem = byType(
  {
    user: message(z.literal('user'), userPart),
    system: message(z.literal('system'), textPart),
    developer: message(z.literal('developer'), textPart),
    assistant: message(z.literal('assistant'), assistantPart),
  },
  { what: 'message role', key: 'role' },
);

const functionCall = z
  .object({
    type: z.literal('function_call'),
    call_id: z.string().min(1),
    name: z.string().min(1),
    arguments: z.string(),
    // what the openai SDK's parsing helpers add to an answer it hands back (derived from arguments)
    parsed_arguments: z.unknown().optional(),
    namespace: refused('tool namespaces are not supported by the router'),
    ...replayed,
  })
  .strict();

const functionCallOutput = z
  .object({
    type: z.literal('function_call_output'),
    call_id: z.string().min(1),
    output: stringOr(z.array(textPart), 'output must be a string or a list of input_text parts'),
    ...replayed,
  })
  .strict();

const nonMessageItem = byType(
  { function_call: functionCall, function_call_output: functionCallOutput },
  {
    what: 'input item',
    refusedTypes: {
      item_reference: `item_reference: ${NO_STORED_STATE} (AI SDK: providerOptions.openai.store = false sends the items themselves)`,
      reasoning: 'reasoning items are not supported by the router',
    },
  },
);

/** An input item: a message (with or without `type: "message"`), a function call or its output. */
const inputItem = z.unknown().transform((value, ctx): InputItem => {
  const type = (value as { type?: unknown } | null)?.type;
  const schema = type === undefined || type === 'message' ? messageItem : nonMessageItem;
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ ...issue });
    return z.NEVER;
  }
  return parsed.data as InputItem;
});

const BUILT_IN_TOOL =
  'only function tools are supported: the router runs no built-in tools (web search, file search, code interpreter, ...)';
const functionTool = z
  .object({
    type: z.literal('function'),
    name: z.string().min(1).max(64),
    description: z.string().nullable().optional(),
    parameters: z.record(z.string(), z.unknown()).nullable().optional(),
    strict: z.boolean().nullable().optional(),
  })
  .strict();
const tool = byType(
  { function: functionTool },
  {
    what: 'tool',
    refusedTypes: Object.fromEntries(
      [
        'web_search',
        'web_search_preview',
        'file_search',
        'code_interpreter',
        'computer_use_preview',
        'image_generation',
        'mcp',
        'local_shell',
        'shell',
        'custom',
        'apply_patch',
      ].map((t) => [t, BUILT_IN_TOOL]),
    ),
  },
);

const toolChoice = z.union(
  [
    z.enum(['auto', 'none', 'required']),
    z.object({ type: z.literal('function'), name: z.string().min(1) }).strict(),
  ],
  { error: 'tool_choice must be "auto", "none", "required" or {"type": "function", "name": ...}' },
);

const format = byType(
  {
    text: z.object({ type: z.literal('text') }).strict(),
    json_object: z.object({ type: z.literal('json_object') }).strict(),
    json_schema: z
      .object({
        type: z.literal('json_schema'),
        name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'name: 1-64 letters, digits, _ or -'),
        schema: z.record(z.string(), z.unknown()),
        description: z.string().optional(),
        strict: z.boolean().nullable().optional(),
      })
      .strict(),
  },
  { what: 'text format' },
);

const metadata = z
  .record(z.string().max(64), z.string().max(512))
  .refine((m) => Object.keys(m).length <= 16, 'metadata holds at most 16 keys');

export const responsesBodySchema = z
  .object({
    model: z.string().min(1).max(MAX_MODEL_CHARS),
    input: stringOr(
      z.array(inputItem).min(1, 'input must not be empty'),
      'input must be a string or a list of input items',
    ),
    instructions: z.string().nullable().optional(),
    tools: z.array(tool).optional(),
    tool_choice: toolChoice.optional(),
    parallel_tool_calls: z.boolean().nullable().optional(),
    text: z
      .object({
        format: format.optional(),
        verbosity: refused('text.verbosity is not supported by the router'),
      })
      .strict()
      .optional(),
    max_output_tokens: z.number().int().min(1).nullable().optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    top_p: z.number().min(0).max(1).nullable().optional(),
    stream: z.boolean().nullable().optional(),
    metadata: metadata.nullable().optional(),
    user: z.string().optional(),
    store: onlyValues(
      [false, null],
      'store: the router stores no responses; send store: false or leave it out',
    ),
    include: z
      .array(z.string())
      .nullable()
      .optional()
      .superRefine((v, ctx) => {
        if (v?.length)
          ctx.addIssue({
            code: 'custom',
            message: 'include: the router adds nothing to its answers on request',
            params: { unsupported: true },
          });
      }),
    truncation: onlyValues(
      ['disabled', null],
      'truncation: the router never truncates input; leave it out or send "disabled"',
    ),
    previous_response_id: refused(NO_STORED_STATE),
    conversation: refused(NO_STORED_STATE),
    background: onlyValues([false, null], 'background responses are not supported by the router'),
    prompt: refused('stored prompts are not supported by the router; send instructions and input'),
    reasoning: refused('reasoning options are not supported by the router'),
    router: routerOptionsSchema.optional(),
  })
  .strict();

export type ResponsesBody = z.output<typeof responsesBodySchema>;
export type InputMessage = {
  type?: 'message';
  role: 'user' | 'system' | 'developer' | 'assistant';
  content: string | ContentPart[];
};
export type ContentPart =
  | z.output<typeof inputText>
  | z.output<typeof inputImage>
  | z.output<typeof outputText>
  | z.output<typeof refusalPart>;
export type FunctionCallItem = z.output<typeof functionCall>;
export type FunctionCallOutputItem = z.output<typeof functionCallOutput>;
export type InputItem = InputMessage | FunctionCallItem | FunctionCallOutputItem;
export type FunctionTool = z.output<typeof functionTool>;

/**
 * The checked Responses body, or the 400 naming the first field the router cannot take.
 *
 * @example
 * responsesBodyOf({ model: 'router', input: 'Hi' }).input; // 'Hi'
 */
export function responsesBodyOf(raw: unknown): ResponsesBody {
  return parseIngress(RESPONSES_ENDPOINT, responsesBodySchema, raw);
}
