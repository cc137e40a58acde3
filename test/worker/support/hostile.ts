// fast-check generators of chat bodies: valid ones, and hostile ones that break exactly one rule
// (so every hostile body must get a 4xx), plus raw texts that are not a JSON object at all.
import fc from 'fast-check';

const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 40,
});
const anyText = fc.string({ unit: 'binary', maxLength: 60 });

const message = fc.record({
  role: fc.constantFrom('system', 'user', 'assistant', 'developer'),
  content: fc.oneof(
    anyText,
    fc.array(fc.record({ type: fc.constant('text'), text: anyText }), {
      minLength: 1,
      maxLength: 3,
    }),
  ),
});

/** Bodies the parser accepts (OpenAI fields in range, a known pool, a valid preference). */
export const validBody = fc.record(
  {
    model: fc.constant('router'),
    messages: fc.array(message, { minLength: 1, maxLength: 4 }),
    max_tokens: fc.option(fc.integer({ min: 1, max: 64 }), { nil: undefined }),
    temperature: fc.option(fc.double({ min: 0, max: 2, noNaN: true }), { nil: undefined }),
    top_p: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
    n: fc.option(fc.integer({ min: 1, max: 2 }), { nil: undefined }),
    router: fc.option(
      fc.record({
        preference: fc.oneof(
          fc.double({ min: 0, max: 1, noNaN: true }),
          fc.constantFrom('cheap', 'balanced', 'quality', '0.3', '.5'),
        ),
      }),
      { nil: undefined },
    ),
  },
  { requiredKeys: ['model', 'messages'] },
);

/** A JSON value of any shape, for fields that must not take just anything. */
const junk = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  anyText,
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
);

/** One way of breaking a valid body; each must be refused with a 4xx. */
const breakers: fc.Arbitrary<(b: Record<string, unknown>) => Record<string, unknown>>[] = [
  fc.constant((b) => {
    const { messages: _m, ...rest } = b;
    return rest;
  }),
  fc.constant((b) => ({ ...b, messages: [] })),
  junk
    .filter((v) => !Array.isArray(v) || v.length === 0)
    .map((v) => (b) => ({ ...b, messages: v })),
  printable
    .filter((r) => !['system', 'user', 'assistant', 'tool', 'developer'].includes(r))
    .map((role) => (b) => ({ ...b, messages: [{ role, content: 'x' }] })),
  junk.filter((v) => typeof v !== 'string').map((model) => (b) => ({ ...b, model })),
  fc
    .integer({ min: 257, max: 120_000 })
    .map((n) => (b) => ({ ...b, model: `router/${'m'.repeat(n)}` })),
  fc.constant((b) => ({ ...b, model: '' })),
  fc
    .oneof(fc.integer({ max: 0 }), fc.double({ min: 0.01, max: 0.99, noNaN: true }), printable)
    .map((v) => (b) => ({ ...b, max_tokens: v })),
  fc
    .oneof(fc.integer({ min: 129, max: 1e9 }), fc.integer({ max: 0 }))
    .map((n) => (b) => ({ ...b, n })),
  fc
    .oneof(
      fc.double({ min: 2.000001, max: 1e308, noNaN: true }),
      fc.double({ max: -0.000001, min: -1e308, noNaN: true }),
    )
    .map((t) => (b) => ({ ...b, temperature: t })),
  fc.double({ min: 1.000001, max: 1e9, noNaN: true }).map((p) => (b) => ({ ...b, top_p: p })),
  fc
    .double({ min: 2.000001, max: 1e9, noNaN: true })
    .map((p) => (b) => ({ ...b, presence_penalty: -p })),
  fc
    .constantFrom(
      '0x1',
      '1e999',
      ' ',
      'Infinity',
      '0b1',
      '1e-1',
      'NaN',
      '-1',
      '2',
      '1.5',
      'fast',
      '--1',
    )
    .map((p) => (b) => ({ ...b, router: { preference: p } })),
  fc
    .oneof(
      fc.double({ min: 1.000001, max: 1e308, noNaN: true }),
      fc.double({ max: -0.000001, min: -1e308, noNaN: true }),
    )
    .map((p) => (b) => ({ ...b, router: { preference: p } })),
  printable
    .filter((k) => k !== 'preference' && k !== 'embedding' && k.length > 0)
    .map((k) => (b) => ({ ...b, router: { [k]: 1 } })),
  fc.constant((b) => ({ ...b, router: { embedding: { space: 'nope', vector: [1, 2, 3] } } })),
  junk
    .filter((v) => typeof v !== 'boolean' && v !== undefined)
    .map((stream) => (b) => ({ ...b, stream })),
  fc
    .constantFrom('router/no-such-pool', 'no-such-model', 'router/')
    .map((model) => (b) => ({ ...b, model })),
];

/** A valid body with one rule broken. */
export const hostileBody = fc
  .tuple(validBody, fc.oneof(...breakers))
  .map(([b, breakIt]) => breakIt(b as Record<string, unknown>));

/** Raw request texts that are not a JSON object. */
export const hostileText = fc.oneof(
  anyText,
  fc
    .jsonValue()
    .filter((v) => typeof v !== 'object' || v === null || Array.isArray(v))
    .map((v) => JSON.stringify(v)),
  fc.constantFrom(
    '',
    '{',
    '{"model":',
    '\uFEFF{}',
    '{"model":"router","messages":[{"role":"user","content":"\\ud800"}]',
    'null',
    '[]',
    '{"__proto__":{"model":"router"}}',
    '{"constructor":{"prototype":{"x":1}}}',
    '[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]',
    `{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`,
  ),
);

/** Header values a client could send (printable ASCII: what a Request accepts). */
export const headerValue = printable;
