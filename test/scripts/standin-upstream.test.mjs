// node --test: the stand-in speaks the OpenAI wire format (JSON and SSE), says it is a stand-in,
// checks its key, and answers errors as OpenAI-style JSON.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { demoUpstreamModels, startStandin } from '../../scripts/standin-upstream.mjs';

let s;
before(async () => {
  s = await startStandin({
    port: 0,
    apiKey: 'k1',
    models: demoUpstreamModels(),
    failModels: ['command-r-03-2024'],
    wordGapMs: 1,
  });
});
after(() => s.close());

const post = (body, key = 'k1') =>
  fetch(`${s.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

test('JSON answer names the stand-in and the model', async () => {
  const r = await post({
    model: 'gpt-4o-2024-05-13',
    messages: [{ role: 'user', content: 'What is 2+2?' }],
  });
  assert.equal(r.status, 200);
  const body = await r.json();
  assert.equal(body.object, 'chat.completion');
  assert.equal(body.model, 'gpt-4o-2024-05-13');
  assert.match(
    body.choices[0].message.content,
    /^\[local stand-in for gpt-4o-2024-05-13\] .*not from gpt-4o-2024-05-13.*"What is 2\+2\?"/,
  );
  assert.equal(body.usage.total_tokens, body.usage.prompt_tokens + body.usage.completion_tokens);
});

test('SSE answer: role chunk, word chunks, finish, usage when asked, [DONE]', async () => {
  const r = await post({
    model: 'deepseek-coder',
    stream: true,
    stream_options: { include_usage: true },
    messages: [{ role: 'user', content: 'hi' }],
  });
  assert.match(r.headers.get('content-type'), /^text\/event-stream/);
  const events = (await r.text())
    .split('\n\n')
    .filter(Boolean)
    .map((e) => e.replace(/^data: /, ''));
  assert.equal(events.at(-1), '[DONE]');
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
  assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '' });
  assert.ok(chunks.length > 10, 'many small chunks');
  const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
  assert.match(text, /^\[local stand-in for deepseek-coder\]/);
  assert.equal(chunks.at(-2).choices[0].finish_reason, 'stop');
  assert.deepEqual(chunks.at(-1).choices, []);
  assert.ok(chunks.at(-1).usage.completion_tokens > 0);
});

test('errors are OpenAI-style JSON: wrong key 401, bad JSON 400, unknown model 404', async () => {
  const wrongKey = await post(
    { model: 'deepseek-coder', messages: [{ role: 'user', content: 'hi' }] },
    'nope',
  );
  assert.equal(wrongKey.status, 401);
  assert.equal((await wrongKey.json()).error.type, 'authentication_error');
  const bad = await post('{"model":');
  assert.equal(bad.status, 400);
  assert.deepEqual(Object.keys((await bad.json()).error).sort(), [
    'code',
    'message',
    'param',
    'type',
  ]);
  const unknown = await post({ model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(unknown.status, 404);
});

test('models listed in failModels answer 503 (for watching fallback)', async () => {
  const r = await post({ model: 'command-r-03-2024', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(r.status, 503);
  assert.equal((await r.json()).error.code, 'standin_forced_failure');
});

test('/v1/models lists the demo pool', async () => {
  const body = await (await fetch(`${s.url}/v1/models`)).json();
  assert.deepEqual(
    body.data.map((m) => m.id),
    demoUpstreamModels(),
  );
});
