// A local STAND-IN for real LLM providers, for `npm start` offline: an OpenAI-compatible server on
// 127.0.0.1 that answers /v1/chat/completions (JSON and SSE) and /v1/models for the demo pool.
// Every answer says plainly that it comes from this stand-in for the requested model: it is not the
// model. Real providers are configured as model rows plus secrets (docs/providers.md).
//
//   node scripts/standin-upstream.mjs            # port from STANDIN_PORT, default 8788
//   STANDIN_API_KEY=... requires `Authorization: Bearer <key>` (npm start sets it from .dev.vars)
//   STANDIN_FAIL_MODELS=id1,id2 answers those upstream model ids with 503, to watch fallback work
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { parse } from 'yaml';

const here = path.dirname(fileURLToPath(import.meta.url));
export const DEFAULT_STANDIN_PORT = 8788;
const WORD_GAP_MS = 25;

/**
 * Upstream model ids the demo pool uses (what /v1/models lists), from scripts/demo.config.yaml.
 *
 * @example
 * demoUpstreamModels(); // ['gpt-4o-2024-05-13', 'gemini-3.1-pro-preview', ...]
 */
export function demoUpstreamModels() {
  const demo = parse(readFileSync(path.join(here, 'demo.config.yaml'), 'utf8'));
  return demo.tenants[0].models.map((m) => m.upstream_model);
}

const tokens = (text) => Math.ceil(text.length / 4);

function sendJson(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function error(res, status, message, type, code = null, param = null) {
  sendJson(res, status, { error: { message, type, param, code } });
}

function messageText(content) {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content.map((p) => (typeof p?.text === 'string' ? p.text : '')).join(' ');
  return '';
}

/**
 * The stand-in's answer: it names itself and the model it stands in for.
 *
 * @example
 * standinAnswer('gpt-4o-2024-05-13', [{ role: 'user', content: 'Hi' }]); // '[local stand-in for gpt-4o-2024-05-13] ...'
 */
export function standinAnswer(model, messages) {
  const last = [...messages].reverse().find((m) => m?.role === 'user');
  const asked = messageText(last?.content).replace(/\s+/g, ' ').trim();
  const quote = asked.length > 80 ? `${asked.slice(0, 77)}...` : asked;
  return (
    `[local stand-in for ${model}] This answer comes from the local stand-in upstream, not from ${model}. ` +
    `It received your message "${quote}" (${asked.length} characters). Configure a real provider for ${model} to get a real answer.`
  );
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

async function chat(req, res, opts) {
  if (opts.apiKey && req.headers.authorization !== `Bearer ${opts.apiKey}`) {
    return error(
      res,
      401,
      'stand-in upstream: missing or wrong API key',
      'authentication_error',
      'invalid_api_key',
    );
  }
  let body;
  try {
    body = JSON.parse(await readBody(req));
  } catch {
    return error(res, 400, 'stand-in upstream: body is not JSON', 'invalid_request_error');
  }
  if (
    typeof body?.model !== 'string' ||
    !Array.isArray(body.messages) ||
    body.messages.length === 0
  ) {
    return error(
      res,
      400,
      'stand-in upstream: `model` and a non-empty `messages` array are required',
      'invalid_request_error',
      null,
      'messages',
    );
  }
  if (opts.failModels?.includes(body.model)) {
    return error(
      res,
      503,
      `stand-in upstream: ${body.model} is set to fail (STANDIN_FAIL_MODELS)`,
      'server_error',
      'standin_forced_failure',
    );
  }
  if (opts.models && !opts.models.includes(body.model)) {
    return error(
      res,
      404,
      `stand-in upstream: model "${body.model}" is not in the demo pool`,
      'invalid_request_error',
      'model_not_found',
      'model',
    );
  }
  const text = standinAnswer(body.model, body.messages);
  const id = `chatcmpl-standin-${Math.random().toString(36).slice(2, 10)}`;
  const created = Math.floor(Date.now() / 1000);
  const prompt = tokens(body.messages.map((m) => messageText(m?.content)).join(''));
  const usage = {
    prompt_tokens: prompt,
    completion_tokens: tokens(text),
    total_tokens: prompt + tokens(text),
  };
  if (body.stream !== true) {
    return sendJson(res, 200, {
      id,
      object: 'chat.completion',
      created,
      model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
      usage,
    });
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const send = (delta, finish = null) =>
    res.write(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`,
    );
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  send({ role: 'assistant', content: '' });
  // Word by word with a small gap, like a real model, so streaming is visible end to end.
  for (const word of text.match(/\S+\s*/g) ?? []) {
    if (closed) return;
    send({ content: word });
    await new Promise((r) => setTimeout(r, opts.wordGapMs));
  }
  send({}, 'stop');
  if (body.stream_options?.include_usage === true) {
    res.write(
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: body.model, choices: [], usage })}\n\n`,
    );
  }
  res.end('data: [DONE]\n\n');
}

/**
 * Starts the stand-in. `models` limits which model ids it answers (undefined = any); `failModels`
 * are answered with 503 (to demonstrate fallback).
 *
 * @example
 * const s = await startStandin({ port: 0, apiKey: 'k' }); // s.url === 'http://127.0.0.1:PORT'
 * await s.close();
 */
export async function startStandin({
  port = DEFAULT_STANDIN_PORT,
  apiKey,
  models,
  failModels = [],
  wordGapMs = WORD_GAP_MS,
} = {}) {
  const opts = { apiKey, models, failModels, wordGapMs };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = `${req.method} ${url.pathname.replace(/\/+$/, '')}`;
    if (route === 'POST /v1/chat/completions') {
      chat(req, res, opts).catch((err) =>
        error(res, 500, `stand-in upstream: ${err.message}`, 'server_error'),
      );
    } else if (route === 'GET /v1/models') {
      const ids = models ?? demoUpstreamModels();
      sendJson(res, 200, {
        object: 'list',
        data: ids.map((id) => ({ id, object: 'model', created: 0, owned_by: 'local-stand-in' })),
      });
    } else if (route === 'GET /healthz') {
      sendJson(res, 200, { ok: true, service: 'standin-upstream' });
    } else {
      error(res, 404, `stand-in upstream: no route ${route}`, 'invalid_request_error', 'not_found');
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const actual = server.address().port;
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.env.STANDIN_PORT ?? DEFAULT_STANDIN_PORT);
  const failModels = (process.env.STANDIN_FAIL_MODELS ?? '')
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  const s = await startStandin({
    port,
    apiKey: process.env.STANDIN_API_KEY || undefined,
    models: demoUpstreamModels(),
    failModels,
  });
  console.log(
    `[standin] local stand-in upstream (not a real model) on ${s.url}/v1 for ${demoUpstreamModels().length} demo models` +
      (failModels.length ? `; answering 503 for ${failModels.join(', ')}` : ''),
  );
  const stop = () => s.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
