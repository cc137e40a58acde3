/**
 * Rate limits per API key and per tenant, from D1 (`rpm_limit`, `tpm_limit` on `tenants` and
 * `api_keys`, migration 0009; NULL = none at that level). Mounted after auth.
 *
 * - `rateLimit()` counts requests on every authenticated endpoint, before the body is read, and
 *   consults the optional `TENANT_RATE_LIMITER` binding keyed by tenant (a ceiling shared by the
 *   isolates of one Cloudflare location, the same for every tenant).
 * - `tokenLimit()` counts the tokens a chat completion may use (estimate.ts) before it is routed;
 *   `tokenLimitOf()` does the same for the Responses and Messages APIs, on the chat body each is
 *   served as.
 *
 * The per-isolate buckets are exact within an isolate; a tenant spread over many isolates can get
 * up to its limit in each, which the binding caps per location. A refused request gets 429 with
 * `Retry-After` and OpenAI's `x-ratelimit-*` headers, and costs no embedding, ORT run or D1 write;
 * an admitted one carries the same headers.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../env';
import type { ChatBody, ChatInput } from '../../schemas/chat';
import type { JsonInput } from '../validate';
import { setResponseHeaders } from '../response-headers';
import { TokenBuckets, type Demand } from './buckets';
import { estimateTokens } from './estimate';
import { ceilingReached, limitHeaders, rateLimited, type LimitKind } from './headers';

const buckets = new TokenBuckets();

/** The binding's window is 10 or 60 seconds (wrangler.toml); asking for the longer never undershoots. */
const BINDING_RETRY_AFTER_MS = 60_000;

/** One demand per level (key, tenant) that has a limit of this kind. */
function demands(c: Context<AppEnv>, kind: LimitKind, cost: number): Demand[] {
  const key = c.get('apiKey');
  const field = kind === 'requests' ? 'rpm' : 'tpm';
  const out: Demand[] = [];
  const keyLimit = key.limits[field];
  const tenantLimit = key.tenant.limits[field];
  if (keyLimit !== null) out.push({ key: `key:${key.hash}:${kind}`, limit: keyLimit, cost });
  if (tenantLimit !== null)
    out.push({ key: `tenant:${key.tenant.id}:${kind}`, limit: tenantLimit, cost });
  return out;
}

/** Takes `wanted` from the buckets or throws the 429; returns the headers to answer with. */
function take(kind: LimitKind, wanted: Demand[]): Record<string, string> {
  if (wanted.length === 0) return {};
  const result = buckets.take(wanted);
  const headers = limitHeaders(kind, result.states);
  if (!result.ok) throw rateLimited(kind, result.blocking, result.retryAfterMs, headers);
  return headers;
}

/** The binding's verdict for this tenant; a binding that fails lets the request through (logged). */
async function bindingAllows(c: Context<AppEnv>): Promise<boolean> {
  const binding = c.env.TENANT_RATE_LIMITER;
  if (!binding) return true;
  try {
    return (await binding.limit({ key: c.get('tenant').id })).success;
  } catch (e) {
    console.error('rate-limit binding failed; request let through', e);
    return true;
  }
}

/**
 * Requests per minute per key and tenant (and the binding's per-location ceiling).
 *
 * @example
 * v1.use(auth(), rateLimit());
 */
export function rateLimit(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const wanted = demands(c, 'requests', 1);
    const headers = take('requests', wanted);
    if (!(await bindingAllows(c))) {
      buckets.refund(wanted);
      throw ceilingReached(BINDING_RETRY_AFTER_MS, headers);
    }
    await next();
    setResponseHeaders(c, headers);
  };
}

/**
 * Tokens per minute per key and tenant, for the chat completion about to be routed (after the
 * body's validation: the estimate reads it).
 *
 * @example
 * v1.post('/chat/completions', chatBody, tokenLimit(), chatCompletions);
 */
export function tokenLimit(): MiddlewareHandler<AppEnv, string, ChatInput> {
  return tokenLimitOf((body: ChatBody) => body);
}

/**
 * `tokenLimit` for an endpoint whose validated body is not a chat body but is served as one
 * (`/v1/responses`, `/v1/messages`): `chatOf` picks the chat body it is served as, so the estimate
 * counts what the upstream will be asked for.
 *
 * @example
 * v1.post('/messages', messagesBody, tokenLimitOf((b: MessagesInputBody) => b.chat), messages);
 */
export function tokenLimitOf<T>(
  chatOf: (body: T) => ChatBody,
): MiddlewareHandler<AppEnv, string, JsonInput<T>> {
  return async (c, next) => {
    const key = c.get('apiKey');
    if (key.limits.tpm === null && key.tenant.limits.tpm === null) return next();
    const body = chatOf(c.req.valid('json'));
    const headers = take('tokens', demands(c, 'tokens', await estimateTokens(c, body)));
    await next();
    setResponseHeaders(c, headers);
  };
}
