// Loopback fakes of the upstream providers (Node http on 127.0.0.1), speaking the real wire
// formats: OpenAI chat completions under /openai/v1 and Anthropic Messages under /anthropic/v1.
// They stand in for provider APIs that cannot be reached from here; the router's real fetch path
// calls them. Behaviour is picked by the upstream model id's prefix:
//   ok-...           an answer (JSON, or SSE when stream: true); "ok-gated-..." streams its first
//                    event, then waits for POST /__release?model=<id> before the rest
//   status-NNN-...   HTTP NNN with the provider's error body; a 429 carries `retry-after: S`, S from
//                    an `raS` tag in the id (e.g. status-429-ra7-x), else 1
//   leak-NNN-...     HTTP NNN whose body is not a provider error but a secret-looking payload
//                    (JSON credentials for ...-json-..., else an HTML page with a key)
//   noisy-NNN-...    OpenAI only: HTTP NNN, a provider error whose message is long and full of
//                    control characters, with extra fields that must not reach the caller
//   recover-...      HTTP 503 until POST /__release?model=<id>, then like ok-...
//   drop-...         the connection is destroyed before any byte of the answer (a reset)
//   hang-...         never answers
//   slow-MS-...      OpenAI only: answers after MS milliseconds (a long non-streamed completion)
//   garbage-...      OpenAI only: 200 with an HTML page instead of a completion
//   silent-...       status and headers, then nothing (no first byte) forever
//   stall-...        status, headers and the first event, then silence forever
//   reset-...        status, headers and the first event, then the connection is destroyed
//   cut-...          a stream that ends without its terminator ([DONE] / message_stop)
//   cutline-...      a stream reset in the middle of a line (`data: {"id":...,"choi`, then the
//                    connection is destroyed); cuteof-...: the same line, then a clean end
//   notsse-...       OpenAI only: 200 application/json with a whole completion to a stream request
//   htmlsse-...      OpenAI only: 200 text/event-stream whose body is an HTML page
//   error-event-...  a stream that carries an error event mid-way (Anthropic `event: error`;
//                    OpenAI-compatible `data: {"error":...}`, as OpenRouter sends), then ends;
//                    error-event-leak-...: OpenAI's event also carries fields that must not leak
//   tool-...         an answer that calls get_weather({"city":"Paris"}) (Anthropic: after "Let me
//                    check."); once the request carries the tool's result (a `tool` message, a
//                    `tool_result` block), an answer that quotes it: "The tool said: <result>"
//   redirect-NNN-... HTTP NNN (301, 302, 303, 307, 308) with `location` on the redirect sink, a
//                    second loopback server (another port: a host never granted) that answers
//                    every request with a completion; the router must never follow
// GET /__sink?model=<id> lists what the redirect sink received for that model (method, path, auth
// headers, body): it must stay empty.
// OpenAI streams end with a usage chunk when the request asks for it (stream_options.include_usage).
// GET /__requests?model=<id> lists what that model received (path, auth headers, body, and
// `closedEarly`: whether the router closed that connection before the answer was complete).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LEAKED_SECRET } from './leak';

interface Received {
  path: string;
  headers: Record<string, string | undefined>;
  body: Record<string, unknown>;
  /** True once the router closed the connection before the fake finished its answer. */
  closedEarly: boolean;
}

const GAP_MS = 20;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (c: Buffer) => {
      data += c.toString('utf8');
    });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

// --- OpenAI wire format -----------------------------------------------------------------------

const WORDS = ['Hello', ' from', ' the', ' fake'];

function openAIChunk(model: string, delta: Record<string, unknown>, finish: string | null): string {
  const c = {
    id: 'chatcmpl-fake1',
    object: 'chat.completion.chunk',
    created: 1700000000,
    model,
    choices: [{ index: 0, delta, finish_reason: finish }],
  };
  return `data: ${JSON.stringify(c)}\n\n`;
}

const USAGE = { prompt_tokens: 7, completion_tokens: 4, total_tokens: 11 };

/** The result a `tool-...` request carries back (its last message, a tool result), or null. */
function openAIToolResult(body: Record<string, unknown>): string | null {
  const messages = Array.isArray(body.messages) ? (body.messages as Record<string, unknown>[]) : [];
  const last = messages[messages.length - 1];
  return last?.role === 'tool' ? String(last.content) : null;
}

/** A streamed tool call: get_weather, its arguments in two pieces. */
function openAIToolCallChunks(model: string): string[] {
  const call = (fn: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    tool_calls: [{ index: 0, ...extra, function: fn }],
  });
  return [
    openAIChunk(
      model,
      {
        role: 'assistant',
        content: null,
        ...call({ name: 'get_weather', arguments: '' }, { id: 'call_fake1', type: 'function' }),
      },
      null,
    ),
    openAIChunk(model, call({ arguments: '{"city":' }), null),
    openAIChunk(model, call({ arguments: ' "Paris"}' }), null),
    openAIChunk(model, {}, 'tool_calls'),
  ];
}

/** `retry-after` for a 429: the id's `raS` tag, else 1 second. */
function retryAfter(model: string, code: number): Record<string, string> {
  return code === 429 ? { 'retry-after': /-ra(\d+)/.exec(model)?.[1] ?? '1' } : {};
}

/** What an SSRF target might answer: credentials or an internal page, not a provider error. */
function leak(res: ServerResponse, model: string, code: number): void {
  if (model.includes('-json-')) {
    json(res, code, {
      Code: 'Success',
      AccessKeyId: LEAKED_SECRET,
      SecretAccessKey: `${LEAKED_SECRET}/wJalrXUtnFEMI`,
      Token: 'x'.repeat(40),
    });
    return;
  }
  res.writeHead(code, { 'content-type': 'text/html' });
  res.end(
    `<html><body><h1>Internal admin</h1><pre>DATABASE_URL=postgres://admin:${LEAKED_SECRET}@10.0.0.5/prod</pre></body></html>`,
  );
}

/** Writes half of an SSE line, then resets the connection or ends the response cleanly. */
async function cutMidLine(res: ServerResponse, line: string, reset: boolean): Promise<void> {
  await sleep(GAP_MS);
  res.write(line.slice(0, Math.floor(line.length / 2)));
  await sleep(GAP_MS);
  if (reset) res.socket?.destroy();
  else res.end();
}

async function openAI(
  res: ServerResponse,
  model: string,
  body: Record<string, unknown>,
  gate: () => Promise<void>,
  released: () => boolean,
): Promise<void> {
  const status = /^status-(\d{3})/.exec(model);
  if (status) {
    const code = Number(status[1]);
    json(
      res,
      code,
      {
        error: {
          message: `fake upstream says ${code}`,
          type: code === 429 ? 'rate_limit_error' : 'invalid_request_error',
          param: code === 400 ? 'max_tokens' : null,
          code: `fake_${code}`,
        },
      },
      retryAfter(model, code),
    );
    return;
  }
  const leaking = /^leak-(\d{3})/.exec(model);
  if (leaking) return leak(res, model, Number(leaking[1]));
  const noisy = /^noisy-(\d{3})/.exec(model);
  if (noisy) {
    const message = `context length exceeded:\u0000\u001b[31m ${'y'.repeat(600)}\r\nX-Injected: 1`;
    json(res, Number(noisy[1]), {
      error: {
        message,
        type: 'invalid_request_error',
        param: 'messages\nX',
        code: 'context_length_exceeded',
        internal_trace: LEAKED_SECRET,
      },
    });
    return;
  }
  if (model.startsWith('recover') && !released()) {
    json(res, 503, {
      error: { message: 'fake upstream is down', type: 'server_error', param: null, code: null },
    });
    return;
  }
  if (model.startsWith('drop')) {
    res.socket?.destroy();
    return;
  }
  if (model.startsWith('hang')) return;
  const slow = /^slow-(\d+)/.exec(model);
  if (slow) await new Promise((resolve) => setTimeout(resolve, Number(slow[1])));
  if (model.startsWith('garbage')) {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<html><body>502 Bad Gateway</body></html>');
    return;
  }
  const toolResult = model.startsWith('tool') ? openAIToolResult(body) : null;
  const callsTool = model.startsWith('tool') && toolResult === null;
  const words = toolResult === null ? WORDS : ['The tool said: ', toolResult];
  if (body.stream !== true || model.startsWith('notsse')) {
    const toolCall = {
      id: 'call_fake1',
      type: 'function',
      function: { name: 'get_weather', arguments: '{"city": "Paris"}' },
    };
    json(res, 200, {
      id: 'chatcmpl-fake1',
      object: 'chat.completion',
      created: 1700000000,
      model,
      choices: [
        {
          index: 0,
          message: callsTool
            ? { role: 'assistant', content: null, tool_calls: [toolCall] }
            : { role: 'assistant', content: words.join('') },
          finish_reason: callsTool ? 'tool_calls' : 'stop',
          logprobs: null,
        },
      ],
      usage: USAGE,
      system_fingerprint: 'fp_fake',
    });
    return;
  }
  const usageChunk = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage
    ? `data: ${JSON.stringify({ id: 'chatcmpl-fake1', object: 'chat.completion.chunk', created: 1700000000, model, choices: [], usage: USAGE })}\n\n`
    : '';
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  if (model.startsWith('silent')) {
    res.flushHeaders();
    return;
  }
  if (model.startsWith('htmlsse')) {
    res.end('<html><body>502 Bad Gateway</body></html>');
    return;
  }
  if (callsTool) {
    for (const c of openAIToolCallChunks(model)) {
      res.write(c);
      await sleep(GAP_MS);
    }
    res.end(`${usageChunk}data: [DONE]\n\n`);
    return;
  }
  res.write(openAIChunk(model, { role: 'assistant', content: words[0] }, null));
  if (model.startsWith('stall')) return;
  if (model.startsWith('reset')) {
    await sleep(GAP_MS);
    res.socket?.destroy();
    return;
  }
  if (model.startsWith('cutline') || model.startsWith('cuteof')) {
    return cutMidLine(
      res,
      openAIChunk(model, { content: WORDS[1] }, null),
      model.startsWith('cutline'),
    );
  }
  if (model.startsWith('error-event')) {
    const extra = model.startsWith('error-event-leak') ? { internal_trace: LEAKED_SECRET } : {};
    res.end(
      `data: ${JSON.stringify({ error: { message: 'provider overloaded', type: 'server_error', param: null, code: 'overloaded', ...extra } })}\n\n`,
    );
    return;
  }
  if (model.startsWith('ok-gated')) await gate();
  for (const w of words.slice(1)) {
    await sleep(GAP_MS);
    res.write(openAIChunk(model, { content: w }, null));
  }
  if (model.startsWith('cut')) {
    res.end();
    return;
  }
  res.write(openAIChunk(model, {}, 'stop'));
  res.end(`${usageChunk}data: [DONE]\n\n`);
}

// --- Anthropic wire format --------------------------------------------------------------------

function event(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

/** The text of the tool result a `tool-...` request carries back (its last user turn), or null. */
function anthropicToolResult(body: Record<string, unknown>): string | null {
  const messages = Array.isArray(body.messages) ? (body.messages as Record<string, unknown>[]) : [];
  const last = messages[messages.length - 1];
  const blocks = Array.isArray(last?.content) ? (last.content as Record<string, unknown>[]) : [];
  const result = blocks.find((b) => b.type === 'tool_result');
  if (!result) return null;
  const content = result.content;
  if (typeof content === 'string') return content;
  return Array.isArray(content)
    ? (content as Array<{ text?: unknown }>).map((b) => String(b.text ?? '')).join('')
    : '';
}

async function anthropic(
  res: ServerResponse,
  model: string,
  body: Record<string, unknown>,
): Promise<void> {
  const status = /^status-(\d{3})/.exec(model);
  if (status) {
    const code = Number(status[1]);
    const type =
      code === 529
        ? 'overloaded_error'
        : code === 429
          ? 'rate_limit_error'
          : 'invalid_request_error';
    json(
      res,
      code,
      {
        type: 'error',
        error: { type, message: code === 529 ? 'Overloaded' : `fake anthropic says ${code}` },
      },
      retryAfter(model, code),
    );
    return;
  }
  const leaking = /^leak-(\d{3})/.exec(model);
  if (leaking) return leak(res, model, Number(leaking[1]));
  if (model.startsWith('drop')) {
    res.socket?.destroy();
    return;
  }
  if (model.startsWith('hang')) return;
  const toolResult = model.startsWith('tool') ? anthropicToolResult(body) : null;
  const tool = model.startsWith('tool') && toolResult === null;
  const texts = toolResult === null ? ['Hello', ' from Claude'] : ['The tool said: ', toolResult];
  if (body.stream !== true) {
    json(res, 200, {
      id: 'msg_fake1',
      type: 'message',
      role: 'assistant',
      model,
      content: tool
        ? [
            { type: 'text', text: 'Let me check.' },
            { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } },
          ]
        : toolResult === null
          ? [
              { type: 'text', text: 'Hello from' },
              { type: 'text', text: ' Claude' },
            ]
          : [{ type: 'text', text: texts.join('') }],
      stop_reason: tool ? 'tool_use' : 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 12, output_tokens: 5 },
    });
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const parts = [
    event('message_start', {
      message: {
        id: 'msg_fake1',
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 12, output_tokens: 1 },
      },
    }),
    event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    event('ping', {}),
    event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: texts[0] } }),
  ];
  if (model.startsWith('error-event')) {
    parts.push(event('error', { error: { type: 'overloaded_error', message: 'Overloaded' } }));
  } else if (model.startsWith('cutline') || model.startsWith('cuteof')) {
    for (const p of parts) {
      res.write(p);
      await sleep(2);
    }
    return cutMidLine(
      res,
      event('content_block_delta', {
        index: 0,
        delta: { type: 'text_delta', text: ' from Claude' },
      }),
      model.startsWith('cutline'),
    );
  } else if (!model.startsWith('cut')) {
    parts.push(
      event('content_block_delta', {
        index: 0,
        delta: { type: 'text_delta', text: texts[1] },
      }),
    );
    parts.push(event('content_block_stop', { index: 0 }));
    if (tool) {
      parts.push(
        event('content_block_start', {
          index: 1,
          content_block: { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: {} },
        }),
      );
      parts.push(
        event('content_block_delta', {
          index: 1,
          delta: { type: 'input_json_delta', partial_json: '{"city": ' },
        }),
      );
      parts.push(
        event('content_block_delta', {
          index: 1,
          delta: { type: 'input_json_delta', partial_json: '"Paris"}' },
        }),
      );
      parts.push(event('content_block_stop', { index: 1 }));
    }
    parts.push(
      event('message_delta', {
        delta: { stop_reason: tool ? 'tool_use' : 'end_turn', stop_sequence: null },
        usage: { output_tokens: 6 },
      }),
    );
    parts.push(event('message_stop', {}));
  }
  for (const p of parts) {
    // Split every event across two writes so the router's decoder must join partial lines.
    const cut = Math.floor(p.length / 2);
    res.write(p.slice(0, cut));
    await sleep(2);
    res.write(p.slice(cut));
    await sleep(GAP_MS);
  }
  res.end();
}

// --- redirects --------------------------------------------------------------------------------

interface SinkHit {
  method: string;
  path: string;
  headers: Record<string, string | undefined>;
  body: string;
}

/** The 3xx of a `redirect-NNN-...` model, pointing at the sink with the same path and the model as tag. */
function redirect(res: ServerResponse, model: string, path: string, sinkUrl: string): void {
  const code = Number(/^redirect-(\d{3})/.exec(model)?.[1] ?? 302);
  res.writeHead(code, {
    location: `${sinkUrl}${path}?model=${encodeURIComponent(model)}`,
    'content-type': 'text/plain',
  });
  res.end(`moved to ${sinkUrl}`);
}

/**
 * The host a redirect points at: records every request and answers it with an OpenAI completion,
 * so a router that followed the redirect would get a "successful" answer from a host never granted.
 */
async function startSink(): Promise<{
  url: string;
  hits: Map<string, SinkHit[]>;
  close: () => Promise<void>;
}> {
  const hits = new Map<string, SinkHit[]>();
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const model = url.searchParams.get('model') ?? '';
      const body = await readBody(req);
      const list = hits.get(model) ?? [];
      list.push({
        method: req.method ?? '',
        path: url.pathname,
        headers: {
          authorization: req.headers.authorization,
          'x-api-key': req.headers['x-api-key'] as string | undefined,
        },
        body,
      });
      hits.set(model, list);
      json(res, 200, {
        id: 'chatcmpl-sink',
        object: 'chat.completion',
        created: 1700000000,
        model,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: 'Hello from the redirect sink' },
            finish_reason: 'stop',
          },
        ],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// --- server -----------------------------------------------------------------------------------

/**
 * Starts the fakes on an ephemeral loopback port.
 *
 * @example
 * const fakes = await startFakeProviders(); // fakes.url === 'http://127.0.0.1:PORT'
 */
export async function startFakeProviders(): Promise<{ url: string; close: () => Promise<void> }> {
  const sink = await startSink();
  const received = new Map<string, Received[]>();
  const gates = new Map<string, () => void>();
  const released = new Set<string>();
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const key = url.searchParams.get('model') ?? '';
      if (req.method === 'GET' && url.pathname === '/__requests')
        return json(res, 200, received.get(key) ?? []);
      if (req.method === 'GET' && url.pathname === '/__sink')
        return json(res, 200, sink.hits.get(key) ?? []);
      if (req.method === 'POST' && url.pathname === '/__release') {
        released.add(key);
        gates.get(key)?.();
        return json(res, 200, { released: key });
      }
      const text = await readBody(req);
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return json(res, 400, {
          error: {
            message: 'body is not JSON',
            type: 'invalid_request_error',
            param: null,
            code: null,
          },
        });
      }
      const model = typeof body.model === 'string' ? body.model : '';
      const list = received.get(model) ?? [];
      const entry: Received = {
        path: url.pathname,
        headers: {
          authorization: req.headers.authorization,
          'x-api-key': req.headers['x-api-key'] as string | undefined,
          'anthropic-version': req.headers['anthropic-version'] as string | undefined,
        },
        body,
        closedEarly: false,
      };
      list.push(entry);
      received.set(model, list);
      res.on('close', () => {
        if (!res.writableFinished) entry.closedEarly = true;
      });
      if (model.startsWith('redirect-')) return redirect(res, model, url.pathname, sink.url);
      const gate = (): Promise<void> =>
        released.has(model) ? Promise.resolve() : new Promise<void>((r) => gates.set(model, r));
      if (url.pathname === '/openai/v1/chat/completions')
        return openAI(res, model, body, gate, () => released.has(model));
      if (url.pathname === '/anthropic/v1/messages') return anthropic(res, model, body);
      return json(res, 404, {
        error: { message: `no route ${url.pathname}`, type: 'not_found', param: null, code: null },
      });
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await sink.close();
    },
  };
}

/**
 * A loopback URL where nothing listens (a port opened, then closed): connections are refused.
 *
 * @example
 * const dead = await refusedUrl(); // 'http://127.0.0.1:PORT'
 */
export async function refusedUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
