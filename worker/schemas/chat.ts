/**
 * The request body of `/v1/chat/completions` and `/v1/route`: OpenAI chat-completions plus the
 * router's own `router` object. Unknown OpenAI fields pass through to the upstream untouched.
 */
import { z } from 'zod';
import { badRequest } from '../errors';

const contentPart = z.object({ type: z.string(), text: z.string().optional() }).catchall(z.unknown());

const message = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool', 'developer']),
  content: z.union([z.string(), z.array(contentPart), z.null()]).default(null),
  name: z.string().optional(),
}).catchall(z.unknown());

/** Router options in the body (never sent upstream). */
export const routerOptionsSchema = z.object({
  /** Number in [0, 1] or a preset (`cheap`, `balanced`, `quality`; the bundle says which w each means). */
  preference: z.union([z.number(), z.string()]).optional(),
  /** A prompt embedding computed by the caller, in the named space. */
  embedding: z.object({ space: z.string().min(1), vector: z.array(z.number()).min(1) }).strict().optional(),
}).strict();

export const chatBodySchema = z.object({
  model: z.string().min(1),
  messages: z.array(message).min(1, 'messages must contain at least one message'),
  stream: z.boolean().optional(),
  user: z.string().optional(),
  router: routerOptionsSchema.optional(),
}).catchall(z.unknown());

export type ChatBody = z.infer<typeof chatBodySchema>;

/**
 * Reads and validates a JSON chat body; malformed JSON or a schema violation is a 400 naming the
 * offending field.
 *
 * @example
 * const body = await parseChatBody(c.req.raw);
 */
export async function parseChatBody(request: Request): Promise<ChatBody> {
  let raw: unknown;
  try {
    raw = await request.json();
  } catch {
    throw badRequest('request body is not valid JSON', null, 'invalid_json');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw badRequest('request body must be a JSON object', null, 'invalid_body');
  }
  const parsed = chatBodySchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : null;
    const code = param === 'messages' ? 'invalid_messages' : 'invalid_body';
    throw badRequest(`${param ?? 'body'}: ${issue?.message ?? 'invalid'}`, param, code);
  }
  return parsed.data;
}
