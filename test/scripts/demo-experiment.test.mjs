// node --test: the pieces of `npm run demo:experiment` that run without a server: the split and
// stickiness checks, the cron expression from wrangler.toml, which identities moved, the bounded
// parallel runner, argument parsing, and the mmlu-pro questions with their recorded outcomes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  cronOf,
  identityMoves,
  inParallel,
  parseArgs,
  splitSummary,
  stickySummary,
} from '../../scripts/demo-experiment.mjs';
import { loadQuestions, parseOutcomes, promptText } from '../../scripts/demo/questions.mjs';

const arms = [
  { name: 'control', weight: 1 },
  { name: 'thrifty', weight: 1, preference: 0.02 },
];

test('splitSummary: 45-55% passes, 44% does not; an unequal split is judged against its weights', () => {
  const units = (a, b) => [...Array(a).fill('control'), ...Array(b).fill('thrifty')];
  assert.deepEqual(splitSummary(units(450, 550), arms), {
    counts: { control: 450, thrifty: 550 },
    shares: { control: 0.45, thrifty: 0.55 },
    unassigned: 0,
    ok: true,
  });
  assert.equal(splitSummary(units(440, 560), arms).ok, false);
  assert.equal(splitSummary(units(0, 0), arms).ok, false);
  // requests that got no arm (refused before routing) are counted apart, not in the shares
  const some = splitSummary([...units(400, 500), ...Array(100).fill(null)], arms);
  assert.equal(some.unassigned, 100);
  assert.equal(some.shares.control, 400 / 900);
  assert.equal(some.ok, false);
  const skew = [
    { name: 'a', weight: 9 },
    { name: 'b', weight: 1 },
  ];
  assert.equal(splitSummary([...Array(88).fill('a'), ...Array(12).fill('b')], skew).ok, true);
  assert.equal(splitSummary([...Array(50).fill('a'), ...Array(50).fill('b')], skew).ok, false);
});

test('stickySummary: every repeated unit must keep its arm', () => {
  const first = new Map([
    ['u1', 'a'],
    ['u2', 'b'],
    ['u3', 'a'],
  ]);
  assert.deepEqual(
    stickySummary(
      first,
      new Map([
        ['u1', 'a'],
        ['u2', 'b'],
      ]),
    ),
    { checked: 2, same: 2, ok: true },
  );
  assert.deepEqual(
    stickySummary(
      first,
      new Map([
        ['u1', 'a'],
        ['u3', 'b'],
      ]),
    ),
    { checked: 2, same: 1, ok: false },
  );
  assert.equal(stickySummary(first, new Map()).ok, false);
});

test('cronOf reads the first cron of [triggers], or null', () => {
  assert.equal(cronOf('[triggers]\ncrons = ["*/5 * * * *", "0 * * * *"]\n'), '*/5 * * * *');
  assert.equal(cronOf('name = "x"\n[vars]\nA = "1"\n'), null);
});

test('identityMoves: a quiz identity that became online, with its feedback count and L2 shift', () => {
  const before = {
    identities: [
      { bundle_version: 'v1', source: 'quiz', vector: [0, 0], updated_at: 't0' },
      { bundle_version: 'v0', source: 'training', vector: [1, 1], updated_at: 't0' },
    ],
  };
  const after = {
    identities: [
      { bundle_version: 'v1', source: 'online', vector: [3, 4], n_feedback: 12, updated_at: 't1' },
      { bundle_version: 'v0', source: 'training', vector: [1, 1], updated_at: 't0' },
    ],
  };
  assert.deepEqual(identityMoves(before, after), [
    { bundle_version: 'v1', from: 'quiz', to: 'online', feedback: 12, shift: 5 },
  ]);
  // an online identity listed apart from the stored ones, for a model that had only the manifest's
  assert.deepEqual(
    identityMoves(
      { identities: [] },
      {
        identities: [],
        online_identities: [
          { bundle_version: 'v1', source: 'online', vector: [1], feedback_count: 3 },
        ],
      },
    ),
    [{ bundle_version: 'v1', from: 'manifest', to: 'online', feedback: 3, shift: null }],
  );
  assert.deepEqual(identityMoves(before, before), []);
});

test('inParallel keeps the order and never runs more than the limit at once', async () => {
  let running = 0;
  let most = 0;
  const out = await inParallel([5, 1, 4, 2, 3, 0], 2, async (x, i) => {
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, x * 3));
    running--;
    return x * 10 + i;
  });
  assert.deepEqual(out, [50, 11, 42, 23, 34, 5]);
  assert.equal(most, 2);
});

test('parseArgs: defaults, values, and refusals', () => {
  assert.deepEqual(parseArgs([]), {
    pool: 'demo',
    requests: 1000,
    repeat: 100,
    png: null,
    keep: false,
    concurrency: 8,
  });
  assert.deepEqual(
    parseArgs(['--pool', 'p', '--requests', '50', '--repeat', '5', '--png', 'x.png', '--keep']),
    {
      pool: 'p',
      requests: 50,
      repeat: 5,
      png: 'x.png',
      keep: true,
      concurrency: 8,
    },
  );
  assert.throws(() => parseArgs(['--requests', '0']), /--requests must be a whole number >= 1/);
  assert.throws(
    () => parseArgs(['--requests', '5', '--repeat', '6']),
    /--repeat cannot exceed --requests/,
  );
  assert.throws(() => parseArgs(['--pool']), /--pool needs a value/);
  assert.throws(() => parseArgs(['--bogus']), /unknown argument --bogus/);
});

test('questions: the test split (question_id % 5 == 0), prompt text as the data README says, outcomes per model', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'demo-data-'));
  mkdirSync(path.join(dir, 'mmlu-pro'));
  const items = [3, 5, 10, 11, 15].map((id) => ({
    question_id: id,
    question: `Q${id}?`,
    options: ['yes', 'no'],
  }));
  writeFileSync(
    path.join(dir, 'mmlu-pro', 'mmlu_pro_questions.jsonl'),
    items.map((i) => JSON.stringify(i)).join('\n') + '\n',
  );
  writeFileSync(
    path.join(dir, 'mmlu-pro', 'mmlu_pro_correctness.csv'),
    'question_id,category,src,m1,m2\n3,c,s,1,0\n5,c,s,1,\n10,c,s,0,1\n11,c,s,1,1\n15,c,s,,\n',
  );
  const qs = loadQuestions(dir, 2);
  assert.deepEqual(qs, [
    { id: 5, prompt: 'Q5?\nA. yes\nB. no', outcomes: { m1: 1 } },
    { id: 10, prompt: 'Q10?\nA. yes\nB. no', outcomes: { m1: 0, m2: 1 } },
  ]);
  assert.equal(loadQuestions(dir, 10).length, 3);
  assert.throws(() => loadQuestions(path.join(dir, 'nope'), 1), /mmlu-pro data not found/);
  assert.equal(promptText({ question: 'Q', options: ['a', 'b', 'c'] }), 'Q\nA. a\nB. b\nC. c');
  assert.deepEqual(parseOutcomes('question_id,category,src,x\n7,c,s,1\n').get(7), { x: 1 });
});
