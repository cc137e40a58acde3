// node --test: the rate search of `npm run loadtest` (scripts/loadtest/search.mjs) against a
// simulated router with a known capacity: it brackets, bisects, confirms for the full duration,
// steps down when a confirmation fails, and never starts a run the budget cannot hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { passed, searchRate } from '../../scripts/loadtest/search.mjs';

/**
 * A simulated router: up to `capacity` req/s it answers everything; above it, it answers only
 * `capacity` (and errors when `errorsAbove`). `longCapacity` is what it holds for a long run.
 * Time advances by each run's length; `timeLeft` reads the same clock.
 */
function simulated({
  capacity,
  longCapacity = capacity,
  errorsAbove = false,
  budget = 1000,
  longS = 60,
}) {
  let clock = 0;
  const calls = [];
  const runAt = async (rate, seconds, kind) => {
    calls.push({ rate, seconds, kind });
    clock += seconds;
    const cap = seconds >= longS ? longCapacity : capacity;
    const over = rate > cap;
    return { target_rate: rate, rps: over ? cap : rate, errors: over && errorsAbove ? 3 : 0 };
  };
  return { runAt, calls, timeLeft: () => budget - clock };
}

test('passed: zero errors and at least 90% of the target rate answered', () => {
  assert.equal(passed({ errors: 0, rps: 90, target_rate: 100 }), true);
  assert.equal(passed({ errors: 0, rps: 89.9, target_rate: 100 }), false);
  assert.equal(passed({ errors: 1, rps: 100, target_rate: 100 }), false);
});

test('finds the capacity within the precision: doubling, bisecting, then one full-length confirmation', async () => {
  const sim = simulated({ capacity: 70, errorsAbove: true });
  const r = await searchRate({
    runAt: sim.runAt,
    startRate: 10,
    maxRate: 2000,
    probeS: 10,
    durationS: 60,
    timeLeft: sim.timeLeft,
  });
  assert.ok(r.rate <= 70 && r.rate >= 70 / 1.15, `found ${r.rate}`);
  assert.deepEqual(
    sim.calls.slice(0, 4).map((c) => c.rate),
    [10, 20, 40, 80],
  );
  assert.ok(sim.calls.slice(0, -1).every((c) => c.kind === 'probe' && c.seconds === 10));
  assert.deepEqual(sim.calls.at(-1), { rate: r.rate, seconds: 60, kind: 'confirm' });
  assert.equal(r.run, r.runs.at(-1));
  assert.equal(r.runs.length, sim.calls.length);
});

test('a router that only falls behind (no errors) is caught by the keep-up rule', async () => {
  const sim = simulated({ capacity: 30 });
  const r = await searchRate({
    runAt: sim.runAt,
    startRate: 10,
    maxRate: 2000,
    probeS: 5,
    durationS: 20,
    timeLeft: sim.timeLeft,
  });
  assert.ok(r.rate <= 33 && r.rate >= 30 / 1.15, `found ${r.rate}`);
});

test('steps down when the full-length run fails where the short probe passed', async () => {
  const sim = simulated({ capacity: 100, longCapacity: 60, errorsAbove: true });
  const r = await searchRate({
    runAt: sim.runAt,
    startRate: 10,
    maxRate: 2000,
    probeS: 10,
    durationS: 60,
    timeLeft: sim.timeLeft,
  });
  const confirms = sim.calls.filter((c) => c.kind === 'confirm');
  assert.ok(confirms.length >= 2);
  assert.ok(
    confirms.every((c, i) => i === 0 || c.rate < confirms[i - 1].rate),
    'each confirmation is lower',
  );
  assert.ok(r.rate <= 60 && r.rate > 0);
});

test('halves down from a start rate that already fails', async () => {
  const sim = simulated({ capacity: 3, errorsAbove: true });
  const r = await searchRate({
    runAt: sim.runAt,
    startRate: 20,
    maxRate: 2000,
    probeS: 2,
    durationS: 5,
    timeLeft: sim.timeLeft,
  });
  assert.deepEqual(
    sim.calls.slice(0, 3).map((c) => c.rate),
    [20, 10, 5],
  );
  assert.equal(r.rate, 3);
});

test('stops at the maximum rate, and returns none when even the minimum fails', async () => {
  const fast = simulated({ capacity: 10_000 });
  const top = await searchRate({
    runAt: fast.runAt,
    startRate: 10,
    maxRate: 50,
    probeS: 2,
    durationS: 5,
    timeLeft: fast.timeLeft,
  });
  assert.equal(top.rate, 50);
  assert.ok(fast.calls.every((c) => c.rate <= 50));

  const dead = simulated({ capacity: 0, errorsAbove: true });
  const none = await searchRate({
    runAt: dead.runAt,
    startRate: 4,
    maxRate: 50,
    probeS: 2,
    durationS: 5,
    timeLeft: dead.timeLeft,
  });
  assert.equal(none.rate, null);
  assert.equal(none.run, null);
  assert.deepEqual(
    dead.calls.map((c) => c.rate),
    [4, 2, 1],
  );
});

test('never starts a run that does not fit the budget, and keeps room to confirm what it found', async () => {
  const sim = simulated({ capacity: 500, budget: 95 });
  const r = await searchRate({
    runAt: sim.runAt,
    startRate: 10,
    maxRate: 2000,
    probeS: 10,
    durationS: 60,
    timeLeft: sim.timeLeft,
  });
  const used = sim.calls.reduce((s, c) => s + c.seconds, 0);
  assert.ok(used <= 95, `used ${used} s of 95`);
  // three probes leave 65 s: a fourth would leave 55, too little to confirm; then the confirmation
  assert.deepEqual(
    sim.calls.map((c) => [c.rate, c.kind]),
    [
      [10, 'probe'],
      [20, 'probe'],
      [40, 'probe'],
      [40, 'confirm'],
    ],
  );
  assert.equal(r.rate, 40);

  const tight = simulated({ capacity: 500, budget: 50 });
  const none = await searchRate({
    runAt: tight.runAt,
    startRate: 10,
    maxRate: 2000,
    probeS: 10,
    durationS: 60,
    timeLeft: tight.timeLeft,
  });
  assert.deepEqual(tight.calls, []);
  assert.equal(none.rate, null);
});
