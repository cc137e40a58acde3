// The rate search of `npm run loadtest`: the highest fixed rate at which the router answers every
// request, for the whole duration, without an error. Short probes find it (doubling until a rate
// fails, then bisecting), then full-length runs confirm it (stepping down when one fails). Pure
// logic: the run itself is injected, so the search is tested without a server.

/**
 * Whether a run passed: no error (non-2xx answer, timeout, socket error) and the router kept up,
 * i.e. answered at least `keepUp` of the target rate (otherwise the requests were only queued
 * behind slow answers and the rate was never really offered).
 *
 * @example
 * passed({ errors: 0, rps: 97, target_rate: 100 }); // true
 * passed({ errors: 0, rps: 60, target_rate: 100 }); // false
 */
export function passed(run, keepUp = 0.9) {
  return run.errors === 0 && run.rps >= keepUp * run.target_rate;
}

/**
 * Searches the highest passing rate. `runAt(rate, seconds, kind)` performs one run (`kind` is
 * 'probe' or 'confirm') and resolves with at least `{ errors, rps, target_rate }`; `timeLeft()` says
 * how many seconds of the search budget remain. A probe lasts `probeS`, a confirmation `durationS`;
 * no run starts that would not end within the budget, and no probe that would leave no time to
 * confirm. Rates are whole numbers from `minRate` to
 * `maxRate`; bisection stops when the bracket is within `precision` (a ratio).
 *
 * Returns `{ rate, run, runs }`: the highest rate confirmed for `durationS` and its run (both null
 * when none passed), and every run made, in order.
 *
 * @example
 * const { rate, run } = await searchRate({ runAt, startRate: 10, maxRate: 2000, probeS: 10, durationS: 60, timeLeft });
 */
export async function searchRate({
  runAt,
  startRate,
  minRate = 1,
  maxRate,
  probeS,
  durationS,
  timeLeft,
  precision = 1.15,
  keepUp = 0.9,
}) {
  const runs = [];
  const attempt = async (rate, seconds, kind) => {
    const run = await runAt(rate, seconds, kind);
    runs.push(run);
    return passed(run, keepUp);
  };
  const fits = (seconds) => timeLeft() >= seconds;
  // a probe leaves room for one confirmation after it
  const probeFits = () => fits(probeS + durationS);
  let lo = null; // highest rate that passed a probe
  let hi = null; // lowest rate that failed
  // 1. bracket: double up from the start rate until a rate fails, or halve down until one passes
  let rate = Math.min(Math.max(minRate, Math.round(startRate)), maxRate);
  while (probeFits()) {
    if (await attempt(rate, probeS, 'probe')) {
      lo = rate;
      if (rate >= maxRate || hi !== null) break;
      rate = Math.min(maxRate, rate * 2);
    } else {
      hi = rate;
      if (lo !== null || rate <= minRate) break;
      rate = Math.max(minRate, Math.floor(rate / 2));
    }
  }
  // 2. bisect the bracket (geometrically: rates span orders of magnitude)
  while (lo !== null && hi !== null && hi / lo > precision && hi - lo > 1 && probeFits()) {
    const mid = Math.round(Math.sqrt(lo * hi));
    if (mid <= lo || mid >= hi) break;
    if (await attempt(mid, probeS, 'probe')) lo = mid;
    else hi = mid;
  }
  // 3. confirm for the full duration, stepping down 20% (at least 1) after each failure
  let candidate = lo;
  while (candidate !== null && candidate >= minRate && fits(durationS)) {
    if (await attempt(candidate, durationS, 'confirm'))
      return { rate: candidate, run: runs.at(-1), runs };
    candidate = Math.min(candidate - 1, Math.floor(candidate * 0.8));
  }
  return { rate: null, run: null, runs };
}
