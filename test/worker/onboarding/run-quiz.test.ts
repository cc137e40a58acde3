import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { runQuiz } from '../../../worker/onboarding/run-quiz';
import type { Bank } from '../../../worker/onboarding/bank';
import type { ModelRecord as ModelRow } from '../../../worker/data/models';
import type { Env } from '../../../worker/env';
import { seedGrant, seedTenant, testEnv } from '../support/seed';

// workerd's global fetch throws "Illegal invocation" when called with a `this` other than the
// global scope (e.g. as `opts.fetch(...)`); the test pool's fetch is lenient, so the test makes it
// strict the same way to catch a detached fetch handed to the provider adapters.
const lenient = globalThis.fetch;
function strictFetch(
  this: unknown,
  input: RequestInfo | URL,
  init?: RequestInit,
): Promise<Response> {
  if (this !== undefined && this !== globalThis)
    throw new TypeError('Illegal invocation: fetch called with a foreign this');
  return lenient(input, init);
}
afterEach(() => {
  globalThis.fetch = lenient;
});

const bank: Bank = {
  name: 'default',
  bundleVersion: 'v-test',
  key: 'banks/v-test/default.json',
  params: { dim: 2, count: 2, a: new Float64Array([1, 0, 0, 1]), c: new Float64Array([0, 0]) },
  items: [
    { id: 'q0', prompt: 'Say hello.', reference: 'Hello' },
    { id: 'q1', prompt: 'Pick a letter.', reference: 'A' },
  ],
  rowOf: new Map([
    ['q0', 0],
    ['q1', 1],
  ]),
};

// The model is a tenant's own, so its host must be granted (security/grants.ts).
let tenantId = '';
beforeAll(async () => {
  ({ tenantId } = await seedTenant(null));
  await seedGrant(tenantId, new URL(inject('upstreamUrl')).host, '', {
    allowHttp: true,
    allowPrivate: true,
  });
});

function model(upstream: string): ModelRow {
  return {
    id: 'mdl_test',
    tenant_id: tenantId,
    name: 'quiz-run-model',
    provider: 'openai',
    upstream_model: upstream,
    base_url: `${inject('upstreamUrl')}/v1`,
    secret_name: null,
    input_usd_per_mtok: 1,
    output_usd_per_mtok: 1,
    expected_output_tokens: 100,
    bundle_model: null,
    created_at: '2026-11-22T00:00:00Z',
  };
}

describe('runQuiz with the platform fetch', () => {
  it('calls the upstream through an unbound fetch and grades each answer', async () => {
    globalThis.fetch = strictFetch as typeof fetch;
    const answers = await runQuiz(
      model('quiz-run-taker'),
      { ...testEnv, UPSTREAM_TIMEOUT_MS: '5000' } as Env,
      bank,
      [0, 1],
    );
    // the loopback upstream answers "Hello from quiz-run-taker": right for "Hello", wrong for "A"
    expect(answers.map((a) => [a.id, a.outcome])).toEqual([
      ['q0', 1],
      ['q1', 0],
    ]);
  });
});
