// The worker's online update and exploration sampler against their Python twin
// (model-assets/trainer/onboard/online.py), on the numbers its tests pinned in
// test/worker/onboarding/fixtures/online.json.
import { describe, expect, it } from 'vitest';
import fixture from '../onboarding/fixtures/online.json';
import {
  explore,
  explorationMask,
  MAX_TEMPERATURE,
  MIN_TEMPERATURE,
  tempered,
} from '../../../worker/routing/explore';
import { decayedPenalty, logitStd, meanItem, servingPenalty } from '../../../worker/online/decay';
import {
  diagonalCov,
  MAX_UPDATE_BATCH,
  updateIdentity,
  updateInBatches,
  type FeedbackEvent,
} from '../../../worker/online/update';

/** The fixture's events in rows [from, to). */
function events(from: number, to: number): FeedbackEvent[] {
  return fixture.a
    .slice(from, to)
    .map((a, k) => ({ item: { a, c: fixture.c[from + k]! }, y: fixture.y[from + k]! }));
}

/** Matrices equal to `digits` decimals, entry by entry. */
function expectClose(got: number[][] | number[], want: number[][] | number[], digits: number) {
  expect(got.flat().length).toBe(want.flat().length);
  got.flat().forEach((x, i) => expect(x).toBeCloseTo(want.flat()[i]!, digits));
}

describe('online update (parity with online.py)', () => {
  it('shares the batch bound and temperature range', () => {
    expect(MAX_UPDATE_BATCH).toBe(fixture.max_update_batch);
    expect(MIN_TEMPERATURE).toBe(fixture.min_temperature);
    expect(MAX_TEMPERATURE).toBe(fixture.max_temperature);
  });

  it('one update from the start posterior matches update_identity', () => {
    const [from, to] = fixture.update.rows as [number, number];
    const post = updateIdentity(fixture.start, events(from, to));
    expectClose(post.mean, fixture.update.mean, 9);
    expectClose(post.cov, fixture.update.cov, 9);
    expect(post.nItems).toBe(to - from);
    expect(post.converged).toBe(true);
  });

  it('updates in a row, each from the last posterior, match the sequence', () => {
    let current = fixture.start;
    for (const step of fixture.sequence) {
      const [from, to] = step.rows as [number, number];
      const post = updateIdentity(current, events(from, to));
      expectClose(post.mean, step.mean, 9);
      expectClose(post.cov, step.cov, 9);
      current = { mean: post.mean, cov: post.cov };
    }
  });

  it('moves the mean towards the outcomes and narrows the posterior', () => {
    const post = updateIdentity(fixture.start, events(20, 45));
    const trace = (m: number[][]) => m.reduce((s, row, i) => s + row[i]!, 0);
    expect(trace(post.cov)).toBeLessThan(trace(fixture.start.cov));
    expect(post.mean).not.toEqual(fixture.start.mean);
  });

  it('refuses more than MAX_UPDATE_BATCH events in one update; updateInBatches splits them', () => {
    const many = [...events(0, 80), ...events(0, 80)];
    expect(() => updateIdentity(fixture.start, many)).toThrow(RangeError);
    const post = updateInBatches(fixture.start, many);
    expect(post.nItems).toBe(160);
    // batches of 64 from the last posterior: the same as three updateIdentity calls in a row
    let current = fixture.start;
    for (let s = 0; s < many.length; s += MAX_UPDATE_BATCH) {
      const p = updateIdentity(current, many.slice(s, s + MAX_UPDATE_BATCH));
      current = { mean: p.mean, cov: p.cov };
    }
    expectClose(post.mean, current.mean, 12);
  });

  it('updateInBatches matches update_in_batches at every fixture batch size', () => {
    for (const k of fixture.in_batches) {
      const [from, to] = k.rows as [number, number];
      const post = updateInBatches(fixture.start, events(from, to), k.batch);
      expectClose(post.mean, k.mean, 9);
      expectClose(post.cov, k.cov, 9);
    }
  });

  it("a manifest identity's stds make the diagonal covariance training_posterior makes", () => {
    const t = fixture.training_posterior;
    expectClose(diagonalCov(t.identity_std), t.cov, 15);
  });

  it('an empty batch leaves the posterior as it is', () => {
    const post = updateIdentity(fixture.start, []);
    expect(post.mean).toEqual(fixture.start.mean);
    expect(post.cov).toEqual(fixture.start.cov);
  });
});

describe('exploration (parity with online.py)', () => {
  it(`tempered and explore match every fixture case (${fixture.explore.length})`, () => {
    for (const k of fixture.explore) {
      const eligible = 'eligible' in k ? (k.eligible as boolean[]) : undefined;
      const q = tempered(k.probs, k.temperature, eligible);
      q.forEach((x, i) => expect(x).toBeCloseTo(k.tempered[i]!, 12));
      const draw = explore(k.probs, k.temperature, k.u, eligible);
      expect(draw.index).toBe(k.served);
      expect(draw.propensity).toBeCloseTo(k.propensity, 12);
    }
  });

  it('never serves a candidate the policy was not shown or that is not eligible', () => {
    for (let u = 0; u < 1; u += 0.01) {
      expect(explore([0.5, 0, 0.5], 10, u).index).not.toBe(1);
      expect(
        explore([0.5, 0.2, 0.3], 1, u, explorationMask(0, [false, false, true])).index,
      ).not.toBe(1);
    }
  });

  it('refuses a temperature outside the pool setting range and u outside [0, 1)', () => {
    expect(() => tempered([1], 0.01)).toThrow(RangeError);
    expect(() => tempered([1], 11)).toThrow(RangeError);
    expect(() => explore([1], 1, 1)).toThrow(RangeError);
  });

  it('exploration mask: the top choice and the candidates still being learned', () => {
    expect(explorationMask(0, [false, false, true, false])).toEqual([true, false, true, false]);
  });
});

describe('the pool setting the replay recommends (parity with online.py)', () => {
  const { levers } = fixture;
  it('is gate + explore-mean + decay at temperature 1', () => {
    expect(levers.defaults).toEqual({
      temperature: 1,
      uncertainty_penalty: 1,
      levers: ['gate', 'explore-mean', 'decay'],
    });
  });

  it("logit std over the bank's mean item along the fixture's posteriors", () => {
    const abar = meanItem(Float64Array.from(fixture.a.flat()), fixture.a[0]!.length);
    expect(logitStd(abar, fixture.start.cov)).toBeCloseTo(levers.logit_std.start, 12);
    const covs = [fixture.update.cov, ...fixture.sequence.map((s) => s.cov)];
    covs.forEach((cov, i) =>
      expect(logitStd(abar, cov)).toBeCloseTo(levers.logit_std.after[i]!, 12),
    );
  });

  it('decayed and serving penalties', () => {
    for (const [penalty, now, start, want] of fixture.decayed_penalty)
      expect(decayedPenalty(penalty!, now!, start!)).toBeCloseTo(want!, 12);
    for (const [penalty, now, start, exploring, want] of levers.penalties as [
      number,
      number,
      number,
      boolean,
      number,
    ][])
      expect(servingPenalty(penalty, now, start, exploring)).toBeCloseTo(want, 12);
  });

  it('exploration masks and exploring requests', () => {
    for (const [top, uncertain, want] of levers.exploration_mask as [
      number,
      boolean[],
      boolean[],
    ][])
      expect(explorationMask(top, uncertain)).toEqual(want);
    for (const r of levers.requests) {
      const eligible = explorationMask(r.top, r.uncertain);
      expect(eligible).toEqual(r.eligible);
      tempered(r.probs, r.temperature, eligible).forEach((x, i) =>
        expect(x).toBeCloseTo(r.tempered[i]!, 12),
      );
      const draw = explore(r.probs, r.temperature, r.u, eligible);
      expect(draw.index).toBe(r.served);
      expect(draw.propensity).toBeCloseTo(r.propensity, 12);
    }
  });
});
