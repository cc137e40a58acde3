// Property: the chat body parser answers every input with either a valid body or a 400 in the
// OpenAI error shape, with a bounded message; never another exception.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../worker/errors';
import { chatBodySchema } from '../../../worker/schemas/chat';
import { parseChatBody } from '../support/chat-body';
import { hostileBody, hostileText, validBody } from '../support/hostile';

const request = (text: string) =>
  new Request('http://router.test/v1/chat/completions', { method: 'POST', body: text });

async function outcome(text: string): Promise<'ok' | ApiError> {
  try {
    const body = await parseChatBody(request(text));
    expect(chatBodySchema.safeParse(body).success).toBe(true);
    return 'ok';
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    expect(e.status).toBe(400);
    expect(Object.keys(e.toBody().error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(e.message.length).toBeLessThan(400);
    return e;
  }
}

describe('parseChatBody (fast-check)', () => {
  it('accepts every valid body', async () => {
    await fc.assert(
      fc.asyncProperty(validBody, async (b) => {
        expect(await outcome(JSON.stringify(b))).toBe('ok');
      }),
      { numRuns: 300 },
    );
  });

  it('refuses every body with a rule broken, as a 400 (or passes it on for routing to refuse)', async () => {
    await fc.assert(
      fc.asyncProperty(hostileBody, async (b) => {
        const r = await outcome(JSON.stringify(b));
        // Unknown pools and models, a "router/" without a name, a preference string and an embedding
        // in the wrong space are the router's to refuse (it needs the tenant and the bundle): the
        // parser lets them through, the endpoint tests below check the 4xx.
        if (r === 'ok') {
          const refusedLater =
            (typeof b.model === 'string' &&
              (b.model.startsWith('router/') || b.model === 'no-such-model')) ||
            typeof (b.router as { preference?: unknown } | undefined)?.preference === 'string' ||
            typeof (b.router as { preference?: unknown } | undefined)?.preference === 'number' ||
            (b.router as { embedding?: unknown } | undefined)?.embedding !== undefined;
          expect(refusedLater, JSON.stringify(b).slice(0, 200)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('refuses every text that is not a JSON object, and any JSON at all without throwing anything else', async () => {
    await fc.assert(
      fc.asyncProperty(hostileText, async (t) => {
        expect(await outcome(t)).toBeInstanceOf(ApiError);
      }),
      { numRuns: 300 },
    );
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 5 }), async (v) => {
        await outcome(JSON.stringify(v));
      }),
      { numRuns: 300 },
    );
  });
});
