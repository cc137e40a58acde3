// Every field docs/worker.md lists as refused on /v1/responses and /v1/messages, sent through the
// worker: each is a 400 that names it (OpenAI's `param` and code `unsupported_parameter`; on
// /v1/messages, Anthropic's invalid_request_error whose message starts with the field), and none
// reaches the upstream. A field the router cannot honour must never be dropped in silence: the
// answer would then claim to have done something (stored a response, searched the web, thought
// with a budget) that it did not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../support/call';
import { seedBundle, seedTenant } from '../support/seed';
import { received } from '../upstream/support/helpers';
import { fakePool } from '../upstream/support/pools';

const upstreamModel = `ok-refused-${crypto.randomUUID().slice(0, 8)}`;
let key: string;

beforeAll(async () => {
  await seedBundle('test-v1');
  const t = await seedTenant('refused');
  key = t.key;
  await fakePool(t.tenantId, 'refused', { 'test-tiny': upstreamModel });
  await fakePool(t.tenantId, 'served', { 'test-tiny': `ok-served-${upstreamModel}` });
});

afterAll(async () => {
  expect(await received(upstreamModel)).toEqual([]);
});

const userSays = (content: unknown) => ({ input: [{ role: 'user', content }] });

/** [what, fields added to a valid body, the param the 400 names] */
const responsesRefused: Array<[string, Record<string, unknown>, string]> = [
  ['previous_response_id', { previous_response_id: 'resp_1' }, 'previous_response_id'],
  ['conversation', { conversation: 'conv_1' }, 'conversation'],
  ['store: true', { store: true }, 'store'],
  ['an item_reference item', { input: [{ type: 'item_reference', id: 'msg_1' }] }, 'input.0.type'],
  ['prompt', { prompt: { id: 'pmpt_1' } }, 'prompt'],
  ...[
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
  ].map((type): [string, Record<string, unknown>, string] => [
    `the built-in tool ${type}`,
    { tools: [{ type }] },
    'tools.0.type',
  ]),
  [
    'an input_file part',
    userSays([{ type: 'input_file', file_id: 'file_1' }]),
    'input.0.content.0.type',
  ],
  [
    'an image by file_id',
    userSays([{ type: 'input_image', image_url: 'https://x.test/a.png', file_id: 'file_1' }]),
    'input.0.content.0.file_id',
  ],
  ['reasoning', { reasoning: { effort: 'low' } }, 'reasoning'],
  ['a reasoning item', { input: [{ type: 'reasoning', summary: [] }] }, 'input.0.type'],
  ['a non-empty include', { include: ['message.output_text.logprobs'] }, 'include'],
  ['truncation: auto', { truncation: 'auto' }, 'truncation'],
  ['text.verbosity', { text: { verbosity: 'low' } }, 'text.verbosity'],
  ['background: true', { background: true }, 'background'],
  // fields of the API the router has no meaning for, refused as unknown
  ['service_tier', { service_tier: 'flex' }, 'service_tier'],
  ['top_logprobs', { top_logprobs: 2 }, 'top_logprobs'],
  ['max_tool_calls', { max_tool_calls: 3 }, 'max_tool_calls'],
  ['prompt_cache_key', { prompt_cache_key: 'k' }, 'prompt_cache_key'],
  ['stream_options', { stream_options: { include_obfuscation: false } }, 'stream_options'],
];

const userBlocks = (content: unknown[]) => ({ messages: [{ role: 'user', content }] });
const assistantBlocks = (content: unknown[]) => ({
  messages: [
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content },
  ],
});

const messagesRefused: Array<[string, Record<string, unknown>, string]> = [
  ['top_k', { top_k: 5 }, 'top_k'],
  ['thinking enabled', { thinking: { type: 'enabled', budget_tokens: 1024 } }, 'thinking'],
  [
    'a thinking block',
    assistantBlocks([{ type: 'thinking', thinking: 'hm', signature: 's' }]),
    'messages.1.content.0.type',
  ],
  [
    'a redacted_thinking block',
    assistantBlocks([{ type: 'redacted_thinking', data: 'x' }]),
    'messages.1.content.0.type',
  ],
  ...[
    'web_search_20250305',
    'web_fetch_20250910',
    'code_execution_20250825',
    'bash_20250124',
    'text_editor_20250728',
    'computer_20250124',
    'memory_20250818',
  ].map((type): [string, Record<string, unknown>, string] => [
    `Anthropic's tool ${type}`,
    { tools: [{ type, name: 'x' }] },
    'tools.0.type',
  ]),
  [
    'a server_tool_use block',
    assistantBlocks([{ type: 'server_tool_use', id: 's', name: 'web_search', input: {} }]),
    'messages.1.content.0.type',
  ],
  [
    'a document block',
    userBlocks([
      { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'x' } },
    ]),
    'messages.0.content.0.type',
  ],
  [
    'a search_result block',
    userBlocks([{ type: 'search_result', source: 's', title: 't', content: [] }]),
    'messages.0.content.0.type',
  ],
  [
    'an image in a tool result',
    userBlocks([
      {
        type: 'tool_result',
        tool_use_id: 't',
        content: [{ type: 'image', source: { type: 'url', url: 'https://x.test/a.png' } }],
      },
    ]),
    'messages.0.content.0.content.0.type',
  ],
  [
    'an image file source',
    userBlocks([{ type: 'image', source: { type: 'file', file_id: 'file_1' } }]),
    'messages.0.content.0.source.type',
  ],
  [
    'citations',
    userBlocks([{ type: 'text', text: 'x', citations: [{ type: 'char_location' }] }]),
    'messages.0.content.0.citations',
  ],
  ['service_tier', { service_tier: 'auto' }, 'service_tier'],
  ['container', { container: 'cont_1' }, 'container'],
  // fields of the API the router has no meaning for, refused as unknown
  ['mcp_servers', { mcp_servers: [] }, 'mcp_servers'],
  ['context_management', { context_management: {} }, 'context_management'],
];

describe('/v1/responses refuses, naming the field', () => {
  const valid = { model: 'router/refused', input: 'Hi' };
  it.each(responsesRefused)('%s', async (_, extra, param) => {
    const res = await call('/v1/responses', { key, body: { ...valid, ...extra } });
    expect(res.status).toBe(400);
    const { error } = await res.json<{ error: Record<string, unknown> }>();
    expect(error).toMatchObject({
      type: 'invalid_request_error',
      code: 'unsupported_parameter',
      param,
    });
    expect(error.message).toMatch(new RegExp(`^${param.replaceAll('.', '\\.')}[: ]`));
  });

  it('serves the body without them (the refusal is the field’s)', async () => {
    const res = await call('/v1/responses', { key, body: { ...valid, model: 'router/served' } });
    expect(res.status).toBe(200);
  });
});

describe('/v1/messages refuses, naming the field, in Anthropic’s shape', () => {
  const valid = {
    model: 'router/refused',
    max_tokens: 16,
    messages: [{ role: 'user', content: 'Hi' }],
  };
  it.each(messagesRefused)('%s', async (_, extra, param) => {
    const res = await call('/v1/messages', { key, body: { ...valid, ...extra } });
    expect(res.status).toBe(400);
    const body = await res.json<{ type: string; error: { type: string; message: string } }>();
    expect(body.type).toBe('error');
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toMatch(new RegExp(`^${param.replaceAll('.', '\\.')}[: ]`));
  });

  it('serves the body without them (the refusal is the field’s)', async () => {
    const res = await call('/v1/messages', { key, body: { ...valid, model: 'router/served' } });
    expect(res.status).toBe(200);
  });
});
