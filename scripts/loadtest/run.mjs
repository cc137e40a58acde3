// One fixed-rate load run with autocannon against one router endpoint: requests at `rate` per
// second for `seconds`, every prompt different (so every request embeds, as with real traffic),
// and the decision id of every 2xx answer kept, so the decision rows of exactly this run can be
// counted afterwards.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';

/** Characters kept of the first body of each kind of failed answer. */
const SAMPLE_CHARS = 300;

/**
 * The endpoints a load test can drive: path and request body for a prompt. No streamed chat: the
 * stand-in streams each answer over about a second (word by word, like a model), and autocannon
 * paces each connection in whole requests per second, so a streamed run would measure that pacing,
 * not the router.
 */
export const ENDPOINTS = {
  route: {
    path: '/v1/route',
    body: (prompt) => ({ model: 'router', messages: [{ role: 'user', content: prompt }] }),
  },
  chat: {
    path: '/v1/chat/completions',
    body: (prompt) => ({
      model: 'router',
      max_tokens: 64,
      messages: [{ role: 'user', content: prompt }],
    }),
  },
};

/** Used when ../shared/data has no alpaca-eval prompts: short, varied chat prompts. */
const FALLBACK_PROMPTS = [
  'What is 2+2?',
  'Prove that sqrt(2) is irrational.',
  'Write a haiku about autumn leaves.',
  'Explain how a hash map handles collisions.',
  'Translate "good morning" into French and Spanish.',
  'Summarise the causes of the French Revolution in three sentences.',
  'Write a Python function that reverses a linked list.',
  'What are the health benefits of green tea?',
  'How do I change a flat tyre?',
  'Compare TCP and UDP for a video call.',
];

/**
 * Real chat prompts for the load: the alpaca-eval instructions in `dataDir` (read at run time), or
 * a small built-in list when that file is missing.
 *
 * @example
 * loadPrompts('../shared/data').length; // 805
 */
export function loadPrompts(dataDir) {
  const file = path.join(dataDir, 'alpaca-eval', 'prompts.json');
  if (!existsSync(file)) return FALLBACK_PROMPTS;
  const rows = JSON.parse(readFileSync(file, 'utf8'));
  const prompts = rows
    .map((r) => r?.instruction)
    .filter((t) => typeof t === 'string' && t.trim() !== '');
  return prompts.length > 0 ? prompts : FALLBACK_PROMPTS;
}

/**
 * Connections for a target rate: enough that each carries at most 2 requests per second, so an
 * answer may take up to 500 ms before the connections, not the router, limit the rate; never more
 * than the rate (autocannon splits the rate over connections in whole requests per second, and a
 * connection given 0 would send without limit).
 *
 * @example
 * connectionsFor(100); // 50
 * connectionsFor(1);   // 1
 */
export function connectionsFor(rate) {
  return Math.max(1, Math.min(256, Math.floor(rate), Math.ceil(rate / 2)));
}

/**
 * Watches autocannon's clients for requests that got no answer at all. autocannon counts answers,
 * timeouts and socket errors, but when the server closes a connection cleanly in the middle of a
 * request it reconnects and sends the next one without counting anything. With one request in
 * flight per connection (no pipelining), a client that sends while its previous request is still
 * open has lost that one, unless a timeout ended it (autocannon emits the timeout just after the
 * resend, and counts it itself). Requests still open when the run stops are in flight, not lost.
 *
 * @example
 * const watch = unansweredWatch(); // autocannon({ ..., setupClient: watch.setupClient }); later watch.counts(result.timeouts)
 */
export function unansweredWatch() {
  const clients = [];
  let overwritten = 0;
  return {
    setupClient(client) {
      const state = { pending: false };
      clients.push(state);
      client.on('request', () => {
        if (state.pending) overwritten++;
        state.pending = true;
      });
      client.on('response', () => {
        state.pending = false;
      });
      client.on('connError', () => {
        state.pending = false;
      });
    },
    /** `lost`: requests that got no answer, no timeout and no socket error; `inFlight`: open at the end. */
    counts(timeouts) {
      return {
        lost: Math.max(0, overwritten - timeouts),
        inFlight: clients.filter((c) => c.pending).length,
      };
    },
  };
}

/** A header's value, whatever case the server used. */
function header(headers, name) {
  for (const [k, v] of Object.entries(headers ?? {}))
    if (k.toLowerCase() === name) return Array.isArray(v) ? v[0] : v;
  return undefined;
}

/**
 * The 503 wrangler dev's local proxy (its ProxyWorker, in front of the runtime) answers when its
 * connection to the runtime breaks mid-request; the router never saw the request. Production has
 * no such hop, so these are counted as errors and also apart.
 */
const DEV_PROXY_503 = 'Your worker restarted mid-request';

/** What kind of failure a non-2xx answer is: `status code`, or the dev proxy's 503. */
function failureKind(status, body) {
  if (status === 503 && `${body ?? ''}`.startsWith(DEV_PROXY_503))
    return '503 wrangler dev proxy lost the runtime';
  try {
    return `${status} ${JSON.parse(body)?.error?.code ?? ''}`.trim();
  } catch {
    return `${status}`;
  }
}

/**
 * Runs autocannon at `rate` requests per second for `seconds` against `endpoint`; request i is
 * sent with `keys[i % keys.length]` (several tenants share the load when a per-tenant ceiling would
 * otherwise answer 429). Returns what it measured: `requests` (every request that ended: answered,
 * timed out, failed on the socket or lost), `in_flight_at_end` (still open when the run stopped,
 * not counted), `ok` (2xx), `non2xx`, `timeouts`, `socket_errors`, `no_answer` (lost, see
 * `unansweredWatch`), `rate_limited` (429s), `dev_proxy_errors` (503s of wrangler dev's proxy, see
 * `failureKind`), `errors` (non-2xx + timeouts + socket errors + lost), `rps` (answers per second),
 * `p50_ms`/`p99_ms` (latency of the 2xx answers, corrected for coordinated omission),
 * `decisionIds` (of the 2xx answers), `failures` (count per kind) and `failure_samples` (the first
 * body of each kind).
 *
 * @example
 * const r = await runAt({ url: 'http://127.0.0.1:18787', keys: [key], endpoint: 'route', rate: 20, seconds: 10, prompts, nextIndex });
 */
export async function runAt({
  url,
  keys,
  endpoint,
  rate,
  seconds,
  prompts,
  nextIndex,
  connections = connectionsFor(rate),
  timeoutS = 10,
  onTick,
}) {
  const ep = ENDPOINTS[endpoint];
  if (!ep) throw new Error(`unknown endpoint ${endpoint}`);
  const decisionIds = [];
  const failures = {};
  const samples = {};
  const headers = { authorization: `Bearer ${keys[0]}`, 'content-type': 'application/json' };
  const watch = unansweredWatch();
  const instance = autocannon({
    url: `${url}${ep.path}`,
    connections,
    setupClient: watch.setupClient,
    overallRate: rate,
    duration: seconds,
    timeout: timeoutS,
    requests: [
      {
        method: 'POST',
        path: ep.path,
        headers,
        // a new prompt text every request: the embedding cache (per tenant and text) never hits
        setupRequest: (req) => {
          const i = nextIndex();
          const authorization = `Bearer ${keys[i % keys.length]}`;
          return {
            ...req,
            headers: { ...headers, authorization },
            body: JSON.stringify(ep.body(`${prompts[i % prompts.length]} [load ${i}]`)),
          };
        },
        onResponse: (status, body, _context, resHeaders) => {
          if (status >= 200 && status < 300) {
            const id = header(resHeaders, 'x-router-decision-id');
            if (id) decisionIds.push(id);
            return;
          }
          const what = failureKind(status, body);
          failures[what] = (failures[what] ?? 0) + 1;
          // the first body of each kind, to tell the router's own errors from the local proxy's
          samples[what] ??= `${body ?? ''}`.slice(0, SAMPLE_CHARS);
        },
      },
    ],
  });
  if (onTick) instance.on('tick', onTick);
  const result = await new Promise((resolve, reject) => {
    instance.on('done', resolve);
    instance.on('error', reject);
  });
  const ok = result['2xx'];
  const socketErrors = result.errors - result.timeouts;
  const { lost, inFlight } = watch.counts(result.timeouts);
  if (result.timeouts > 0) failures.timeout = result.timeouts;
  if (socketErrors > 0) failures['socket error'] = socketErrors;
  if (lost > 0) failures['no answer (connection closed)'] = lost;
  return {
    endpoint,
    target_rate: rate,
    connections,
    tenants: keys.length,
    duration_s: result.duration,
    requests: ok + result.non2xx + result.errors + lost,
    in_flight_at_end: inFlight,
    ok,
    non2xx: result.non2xx,
    timeouts: result.timeouts,
    socket_errors: socketErrors,
    no_answer: lost,
    rate_limited: result.statusCodeStats['429']?.count ?? 0,
    dev_proxy_errors: failures['503 wrangler dev proxy lost the runtime'] ?? 0,
    errors: result.non2xx + result.errors + lost,
    rps: Math.round(((ok + result.non2xx) / result.duration) * 10) / 10,
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    decisionIds,
    failures,
    failure_samples: samples,
  };
}
