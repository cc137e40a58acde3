/**
 * The request body of `/v1/chat/completions` and `/v1/route`: OpenAI chat-completions plus the
 * router's own `router` object. Unknown OpenAI fields pass through to the upstream untouched.
 */
import { z } from 'zod';
import { badRequest } from '../errors';
import { validJson, type JsonInput } from '../middleware/validate';

const contentPart = z
  .object({ type: z.string(), text: z.string().optional() })
  .catchall(z.unknown());

const message = z
  .object({
    role: z.enum(['system', 'user', 'assistant', 'tool', 'developer']),
    content: z.union([z.string(), z.array(contentPart), z.null()]).default(null),
    name: z.string().optional(),
  })
  .catchall(z.unknown());

/** Router options in the body (never sent upstream). */
export const routerOptionsSchema = z
  .object({
    /** Number in [0, 1] or a preset (`cheap`, `balanced`, `quality`; the bundle says which w each means). */
    preference: z.union([z.number(), z.string()]).optional(),
    /** A prompt embedding computed by the caller, in the named space. */
    embedding: z
      .object({ space: z.string().min(1), vector: z.array(z.number()).min(1) })
      .strict()
      .optional(),
  })
  .strict();

/** Longest `model` accepted: pool and model names are short; a longer one is an attack or a bug. */
export const MAX_MODEL_CHARS = 256;
/** Error messages quote at most this much of what the caller sent. */
const MAX_MESSAGE_CHARS = 240;

/** An optional integer >= 1 (OpenAI sends null for "unset" too). */
const countAtLeast1 = z.number().int().min(1).nullable().optional();
/** An optional number in [min, max], or null. */
const between = (min: number, max: number) => z.number().min(min).max(max).nullable().optional();

export const chatBodySchema = z
  .object({
    model: z.string().min(1).max(MAX_MODEL_CHARS),
    messages: z.array(message).min(1, 'messages must contain at least one message'),
    stream: z.boolean().optional(),
    user: z.string().optional(),
    // OpenAI's ranges: checked here so a bad value is our clear 400, not an upstream's error after
    // routing (and so the rate limiter's token estimate reads a sane max_tokens).
    max_tokens: countAtLeast1,
    max_completion_tokens: countAtLeast1,
    n: z.number().int().min(1).max(128).nullable().optional(),
    temperature: between(0, 2),
    top_p: between(0, 1),
    presence_penalty: between(-2, 2),
    frequency_penalty: between(-2, 2),
    router: routerOptionsSchema.optional(),
  })
  .catchall(z.unknown());

export type ChatBody = z.infer<typeof chatBodySchema>;

/**
 * The chat body of a parsed JSON value, or the 400 naming what is wrong: `invalid_body` for a value
 * that is not an object, `invalid_model` for an overlong `model` (quoted only in part),
 * `invalid_messages` for `messages`, else `invalid_body` naming the first offending field. Error
 * messages are clipped: zod names unknown keys, which a caller chooses.
 *
 * @example
 * chatBodyOf({ model: 'router', messages: [{ role: 'user', content: 'hi' }] }).model; // 'router'
 */
export function chatBodyOf(raw: unknown): ChatBody {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw badRequest('request body must be a JSON object', null, 'invalid_body');
  }
  const model = (raw as { model?: unknown }).model;
  if (typeof model === 'string' && model.length > MAX_MODEL_CHARS) {
    throw badRequest(
      `model must be at most ${MAX_MODEL_CHARS} characters; got ${model.length} (${clip(JSON.stringify(model), 40)})`,
      'model',
      'invalid_model',
    );
  }
  const parsed = chatBodySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param =
      issue && issue.path.length > 0 ? clip(issue.path.map(String).join('.'), 120) : null;
    const code = param === 'messages' ? 'invalid_messages' : 'invalid_body';
    throw badRequest(
      clip(`${param ?? 'body'}: ${issue?.message ?? 'invalid'}`, MAX_MESSAGE_CHARS),
      param,
      code,
    );
  }
  return parsed.data;
}

/** Hono's input type of the chat endpoints: `c.req.valid('json')` is the checked body. */
export type ChatInput = JsonInput<ChatBody>;

/**
 * Validates the chat body at the edge (the token limiter and the handler read `c.req.valid('json')`).
 *
 * @example
 * v1.post('/chat/completions', chatBody, tokenLimit(), chatCompletions);
 */
export const chatBody = validJson(chatBodyOf);

/**
 * `text` cut to `max` characters with an ellipsis, so an error never echoes a hostile value whole
 * (zod names unknown keys, which a caller chooses).
 *
 * @example
 * clip('x'.repeat(1000), 10); // 'xxxxxxxxx…'
 */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
