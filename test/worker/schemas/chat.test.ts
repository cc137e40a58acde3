// The chat body parser: OpenAI's ranges for sampling and length fields, a bounded `model`, and
// error messages that never echo a hostile value whole.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../worker/errors';
import { MAX_MODEL_CHARS } from '../../../worker/schemas/chat';
import { parseChatBody } from '../support/chat-body';

const messages = [{ role: 'user', content: 'hi' }];

function request(body: unknown): Request {
  return new Request('http://router.test/v1/chat/completions', {
    method: 'POST',
    body: JSON.stringify(body),
  });
}

async function rejection(body: unknown): Promise<ApiError> {
  try {
    await parseChatBody(request(body));
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    return e as ApiError;
  }
  throw new Error(`accepted ${JSON.stringify(body).slice(0, 100)}`);
}

describe('parseChatBody ranges (OpenAI)', () => {
  const cases: [string, unknown[], unknown[]][] = [
    // field, accepted values, rejected values
    ['max_tokens', [1, 4096, null], [0, -1, 1.5, '10', Number.MAX_SAFE_INTEGER + 2, true]],
    ['max_completion_tokens', [1, 100_000, null], [0, -5, 2.5, 'x']],
    ['n', [1, 128, null], [0, 129, 1.5, '2']],
    ['temperature', [0, 0.7, 2, null], [-0.1, 2.01, '1']],
    ['top_p', [0, 0.5, 1, null], [-0.01, 1.01, '0.5']],
    ['presence_penalty', [-2, 0, 2, null], [-2.5, 2.1, 'high']],
    ['frequency_penalty', [-2, 1.5, 2, null], [-3, 2.0001, []]],
  ];
  for (const [field, ok, bad] of cases) {
    it(`${field}: ${ok.join(', ')} pass, ${bad.map((b) => JSON.stringify(b)).join(', ')} are 400s naming it`, async () => {
      for (const v of ok) {
        const body = await parseChatBody(request({ model: 'router', messages, [field]: v }));
        expect(body[field]).toBe(v);
      }
      for (const v of bad) {
        const err = await rejection({ model: 'router', messages, [field]: v });
        expect(err.status, `${field}=${JSON.stringify(v)}`).toBe(400);
        expect(err.param).toBe(field);
        expect(err.code).toBe('invalid_body');
      }
    });
  }

  it('leaves fields it does not know to the upstream', async () => {
    const body = await parseChatBody(
      request({ model: 'router', messages, seed: 7, logit_bias: { 1: 2 } }),
    );
    expect(body).toMatchObject({ seed: 7, logit_bias: { 1: 2 } });
  });
});

describe('parseChatBody model', () => {
  it(`accepts ${MAX_MODEL_CHARS} characters and rejects more without echoing the name whole`, async () => {
    await expect(
      parseChatBody(request({ model: 'm'.repeat(MAX_MODEL_CHARS), messages })),
    ).resolves.toBeTruthy();
    const huge = `router/${'A'.repeat(100_000)}`;
    const err = await rejection({ model: huge, messages });
    expect(err.status).toBe(400);
    expect(err.param).toBe('model');
    expect(err.code).toBe('invalid_model');
    expect(err.message.length).toBeLessThan(400);
    expect(err.message).toContain(String(huge.length));
  });
});

describe('parseChatBody messages stay short', () => {
  it('an unknown router option with a 100 KB name is named in a bounded message', async () => {
    const err = await rejection({
      model: 'router',
      messages,
      router: { ['k'.repeat(100_000)]: 1 },
    });
    expect(err.status).toBe(400);
    expect(err.param).toBe('router');
    expect(err.message.length).toBeLessThan(400);
  });

  it('a deep path into a bad message is named, and short', async () => {
    const err = await rejection({
      model: 'router',
      messages: [{ role: 'user', content: [{ type: 7 }] }],
    });
    expect(err.param).toBe('messages.0.content');
    expect(err.message.length).toBeLessThan(400);
  });
});
