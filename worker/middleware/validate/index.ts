/**
 * Validation at the edge, with Hono's validator: a route names what it takes (`validJson`,
 * `validQuery`, `validParams`) and its handler reads the typed result with `c.req.valid(...)`.
 * Whatever fails is thrown as a domain error (400 naming the field) for the error handler to
 * render; a handler never sees invalid input.
 */
import { zValidator } from '@hono/zod-validator';
import type { Context, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { validator } from 'hono/validator';
import type { z } from 'zod';
import type { AppEnv } from '../../env';
import { badRequest, type ApiError } from '../../errors';

/** Hono's input type of a route whose JSON body was validated into `T`. */
export interface JsonInput<T> {
  in: { json: unknown };
  out: { json: T };
}

/** A zod failure as the validators see it (zod 4 paths may hold symbols). */
interface Issues {
  issues: ReadonlyArray<{ path: readonly PropertyKey[]; message: string }>;
}

/**
 * 400 `invalid_value` for the first zod issue, naming the offending field in `param`.
 *
 * @example
 * invalidValue(schema.safeParse(body).error).param; // e.g. 'run.n'
 */
export function invalidValue(error: Issues): ApiError {
  const issue = error.issues[0];
  const param = issue && issue.path.length ? issue.path.map(String).join('.') : null;
  return badRequest(
    issue ? `${param ?? 'body'}: ${issue.message}` : 'invalid request',
    param,
    'invalid_value',
  );
}

/** The zod validator hook every admin route shares: a failure is thrown as `invalidValue`. */
function throwInvalid(result: { success: true } | { success: false; error: Issues }): void {
  if (!result.success) throw invalidValue(result.error);
}

const notJson = (): ApiError => badRequest('request body is not valid JSON', null, 'invalid_json');

/** Hono parses a body only when its content type says JSON (the same test as hono/validator's). */
const JSON_MEDIA = /^application\/([\w.-]+\+)?json$/i;

/** The body as JSON, whatever the content type says (callers often send none, or text/plain). */
async function readJson(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    throw notJson();
  }
}

/**
 * A JSON body checked by `check`, which returns the typed value or throws the domain error. The
 * body is read as JSON whatever its content type; malformed JSON is a 400 `invalid_json`.
 *
 * @example
 * v1.post('/route', validJson(chatBodyOf), routeOnly); // routeOnly reads c.req.valid('json')
 */
export function validJson<T>(
  check: (raw: unknown) => T,
): MiddlewareHandler<AppEnv, string, JsonInput<T>> {
  // `check` never answers with a Response, which the validator's generic result type cannot see.
  const validate = validator('json', async (value: unknown, c) => {
    const mediaType = (c.req.header('content-type') ?? '').split(';')[0]!.trim();
    return check(JSON_MEDIA.test(mediaType) ? value : await readJson(c));
  }) as MiddlewareHandler<AppEnv, string, JsonInput<T>>;
  return async (c, next) => {
    let inner = false;
    try {
      return await validate(c, async () => {
        inner = true;
        await next();
      });
    } catch (e) {
      // hono/validator's own answer to malformed JSON, in the router's error shape
      if (!inner && e instanceof HTTPException && e.status === 400) throw notJson();
      throw e;
    }
  };
}

/**
 * A JSON body validated by a zod schema; the first issue is a 400 `invalid_value` naming its field.
 *
 * @example
 * admin.post('/models', validBody(newModelSchema), createModel);
 */
export function validBody<S extends z.ZodType>(
  schema: S,
): MiddlewareHandler<AppEnv, string, JsonInput<z.output<S>>> {
  return validJson((raw) => {
    const r = schema.safeParse(raw);
    if (!r.success) throw invalidValue(r.error);
    return r.data;
  });
}

/**
 * The query string validated by a zod schema (`c.req.valid('query')`); 400 `invalid_value` else.
 *
 * @example
 * admin.get('/models/:id/quiz', validQuery(quizQuerySchema), getQuiz);
 */
export function validQuery<S extends z.ZodType>(schema: S) {
  return zValidator('query', schema, throwInvalid);
}

/**
 * The path parameters validated by a zod schema (`c.req.valid('param')`); 400 `invalid_value` else.
 *
 * @example
 * admin.put('/pools/:pool/members/:model', validParams(memberParams), poolMember);
 */
export function validParams<S extends z.ZodType>(schema: S) {
  return zValidator('param', schema, throwInvalid);
}
