/**
 * Validation of the translated ingress APIs (`/v1/responses`, `/v1/messages`): their zod schemas are
 * strict, so a field the router does not know, or knows and cannot honour, is a 400 that names it
 * (code `unsupported_parameter`, as OpenAI calls it) instead of a silent drop; any other bad value
 * is a 400 `invalid_value` naming its field.
 */
import { z } from 'zod';
import { badRequest, type ApiError } from '../errors';
import { clip } from '../schemas/chat';

/** Most characters of a caller-chosen name (a field path) quoted in an error. */
const MAX_PARAM_CHARS = 120;
const MAX_MESSAGE_CHARS = 300;

/** What zod reports of one issue (zod 4 paths may hold symbols). */
interface Issue {
  code: string;
  path: readonly PropertyKey[];
  message: string;
  keys?: readonly string[];
  params?: Record<string, unknown>;
}

/** `a.b.0.c` of a zod path (what `param` holds, as `/v1/chat/completions` reports it). */
function pathOf(path: readonly PropertyKey[]): string {
  return clip(path.map(String).join('.'), MAX_PARAM_CHARS);
}

/** Issues about a field the router refuses come first: they say the most. */
function rank(issue: Issue): number {
  return issue.code === 'unrecognized_keys' || issue.params?.unsupported === true ? 0 : 1;
}

/**
 * The 400 for the first zod issue of an ingress body: `unsupported_parameter` for a field the
 * endpoint does not take (unknown, or refused with a reason), else `invalid_value`.
 *
 * @example
 * ingressError('/v1/responses', schema.safeParse(raw).error.issues).param; // e.g. 'previous_response_id'
 */
export function ingressError(endpoint: string, issues: readonly Issue[]): ApiError {
  const issue = [...issues].sort((a, b) => rank(a) - rank(b))[0];
  if (!issue) return badRequest('invalid request body', null, 'invalid_value');
  if (issue.code === 'unrecognized_keys') {
    const param = pathOf([...issue.path, issue.keys?.[0] ?? '']);
    return badRequest(
      clip(`${param} is not supported by ${endpoint}`, MAX_MESSAGE_CHARS),
      param,
      'unsupported_parameter',
    );
  }
  const param = issue.path.length > 0 ? pathOf(issue.path) : null;
  const unsupported = issue.params?.unsupported === true;
  return badRequest(
    clip(`${param ?? 'body'}: ${issue.message}`, MAX_MESSAGE_CHARS),
    param,
    unsupported ? 'unsupported_parameter' : 'invalid_value',
  );
}

/**
 * Parses `raw` with `schema` or throws the 400 of `ingressError`; a body that is no JSON object is
 * a 400 `invalid_body`.
 *
 * @example
 * const body = parseIngress('/v1/messages', messagesSchema, await c.req.json());
 */
export function parseIngress<S extends z.ZodType>(
  endpoint: string,
  schema: S,
  raw: unknown,
): z.output<S> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw badRequest('request body must be a JSON object', null, 'invalid_body');
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw ingressError(endpoint, parsed.error.issues as readonly Issue[]);
  return parsed.data;
}

/**
 * A field the endpoint knows but cannot honour: absent or null passes, anything else is a 400
 * `unsupported_parameter` with `reason` as its message.
 *
 * @example
 * z.object({ previous_response_id: refused('the router keeps no stored responses') });
 */
export function refused(reason: string) {
  return z
    .unknown()
    .superRefine((value, ctx) => {
      if (value !== null && value !== undefined)
        ctx.addIssue({ code: 'custom', message: reason, params: { unsupported: true } });
    })
    .optional();
}

/**
 * A field that takes only some values: those pass, any other is a 400 `unsupported_parameter` with
 * `reason` as its message (e.g. `store` may be false, never true).
 *
 * @example
 * z.object({ store: onlyValues([false, null], 'the router stores no responses') });
 */
export function onlyValues(allowed: readonly unknown[], reason: string) {
  return z
    .unknown()
    .superRefine((value, ctx) => {
      if (value !== undefined && !allowed.includes(value))
        ctx.addIssue({ code: 'custom', message: reason, params: { unsupported: true } });
    })
    .optional();
}

/** How `byType` treats the `type` values it has no schema for. */
export interface ByTypeOptions {
  /** What the values are, for the error message (e.g. `input item`). */
  what: string;
  /** Types the router knows and refuses, each with its reason. */
  refusedTypes?: Record<string, string>;
  /** The field that picks the variant (default `type`; a message picks its schema by `role`). */
  key?: string;
}

/**
 * A value picked by its `type` field (or `opts.key`) among `variants` (each a strict object schema):
 * a known but refused type is a 400 `unsupported_parameter` with its reason, any other type one
 * that lists the supported ones; a variant's own issues keep their paths.
 *
 * @example
 * const tool = byType({ function: functionTool }, { what: 'tool', refusedTypes: { web_search: 'a built-in tool' } });
 */
export function byType<V extends Record<string, z.ZodType>>(variants: V, opts: ByTypeOptions) {
  return z.unknown().transform((value, ctx): z.output<V[keyof V]> => {
    const key = opts.key ?? 'type';
    const raw =
      typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
    const type = raw?.[key];
    const schema =
      typeof type === 'string' && Object.hasOwn(variants, type) ? variants[type] : null;
    if (!raw || !schema) {
      const known = Object.keys(variants).join(', ');
      const reason =
        typeof type === 'string' && opts.refusedTypes && Object.hasOwn(opts.refusedTypes, type)
          ? opts.refusedTypes[type]!
          : `${opts.what} ${clip(JSON.stringify(type ?? null), 60)} is not supported (supported: ${known})`;
      ctx.addIssue({ code: 'custom', message: reason, path: [key], params: { unsupported: true } });
      return z.NEVER;
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ ...issue });
      return z.NEVER;
    }
    return parsed.data as z.output<V[keyof V]>;
  });
}

/**
 * A string, or a list checked by `list`: unlike `z.union`, a bad list reports its own first issue
 * (the item and field at fault), not just that neither form matched.
 *
 * @example
 * z.object({ content: stringOr(z.array(part), 'content must be a string or a list of parts') });
 */
export function stringOr<S extends z.ZodType>(list: S, message: string) {
  return z.unknown().transform((value, ctx): string | z.output<S> => {
    if (typeof value === 'string') return value;
    if (!Array.isArray(value)) {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
    const parsed = list.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ ...issue });
      return z.NEVER;
    }
    return parsed.data;
  });
}
