// `npm run demo:experiment`: an A/B test end to end against a running `npm start` (offline: the
// stand-in upstream answers). It creates a 50/50 experiment on the demo pool through the admin API
// (`control`, the pool's default preference, against `thrifty`, preference 0.02), sends 1,000
// routed chat requests (one unit each, mmlu-pro test-split questions from ../shared/data), sends
// each answer's feedback (the dataset's true outcome of the model that answered), checks the split
// (45-55%) and that repeated units keep their arm, prints the report (and --png draws it), runs the
// online update and shows an identity that moved, then stops the experiment (unless --keep).
// A step whose endpoint the server lacks (POST /v1/feedback, the cron trigger) is reported as
// unavailable and the rest still runs. docs/experiments.md.
//
//   npm run demo:experiment -- [--pool demo] [--requests 1000] [--repeat 100] [--png FILE] [--keep]
// Env: ROUTER_URL (default http://127.0.0.1:8787), ROUTER_KEY (default: npm start's demo key),
// ROUTER_DATA (the shared data folder).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadQuestions } from './demo/questions.mjs';
import { client, routerKey, routerUrl } from './report/client.mjs';
import { drawPng, formatReport } from './report/experiment.mjs';
import { dataRoot, root } from './setup.mjs';

const log = (msg = '') => console.log(msg);

/**
 * Per-arm counts and shares of the units' arms (over the units that got an arm; `unassigned`
 * counts the others, e.g. a request refused before routing); `ok` when every arm's share is
 * within `tolerance` of its weight share (0.05: 45-55% for a 50/50 split).
 *
 * @example
 * splitSummary(['a', 'b', 'a', 'b'], [{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }]);
 * // { counts: { a: 2, b: 2 }, shares: { a: 0.5, b: 0.5 }, unassigned: 0, ok: true }
 */
export function splitSummary(assigned, arms, tolerance = 0.05) {
  const total = arms.reduce((s, a) => s + a.weight, 0);
  const counts = Object.fromEntries(arms.map((a) => [a.name, 0]));
  for (const arm of assigned) if (arm in counts) counts[arm]++;
  const n = Object.values(counts).reduce((a, b) => a + b, 0);
  const shares = Object.fromEntries(arms.map((a) => [a.name, n ? counts[a.name] / n : 0]));
  const ok =
    n > 0 && arms.every((a) => Math.abs(shares[a.name] - a.weight / total) <= tolerance + 1e-12);
  return { counts, shares, unassigned: assigned.length - n, ok };
}

/**
 * How many repeated units landed on the arm they had the first time.
 *
 * @example
 * stickySummary(new Map([['u1', 'a']]), new Map([['u1', 'a']])); // { checked: 1, same: 1, ok: true }
 */
export function stickySummary(first, again) {
  let same = 0;
  for (const [unit, arm] of again) if (first.get(unit) === arm) same++;
  return { checked: again.size, same, ok: again.size > 0 && same === again.size };
}

/**
 * The first cron expression of wrangler.toml's `[triggers] crons`, or null when there is none.
 *
 * @example
 * cronOf('[triggers]\ncrons = ["*\/5 * * * *"]'); // '*\/5 * * * *'
 */
export function cronOf(toml) {
  const m = /^\s*crons\s*=\s*\[\s*"([^"]+)"/m.exec(toml);
  return m ? m[1] : null;
}

/**
 * The identities (per bundle version) of one model that changed between two
 * `GET /admin/models/{id}` answers: source, feedback count and how far the vector moved (L2).
 *
 * @example
 * identityMoves({ identities: [{ bundle_version: 'v1', source: 'quiz', vector: [0, 0] }] },
 *               { identities: [{ bundle_version: 'v1', source: 'online', vector: [3, 4], n_feedback: 9 }] });
 * // [{ bundle_version: 'v1', from: 'quiz', to: 'online', feedback: 9, shift: 5 }]
 */
export function identityMoves(before, after) {
  const list = (m) => [...(m?.identities ?? []), ...(m?.online_identities ?? [])];
  const old = new Map(list(before).map((i) => [`${i.bundle_version}\u0000${i.source}`, i]));
  const byBundle = new Map(list(before).map((i) => [i.bundle_version, i]));
  const moves = [];
  for (const now of list(after)) {
    const was =
      old.get(`${now.bundle_version}\u0000${now.source}`) ?? byBundle.get(now.bundle_version);
    if (was && JSON.stringify(was) === JSON.stringify(now)) continue;
    const shift =
      Array.isArray(was?.vector) &&
      Array.isArray(now.vector) &&
      was.vector.length === now.vector.length
        ? Math.hypot(...now.vector.map((v, i) => v - was.vector[i]))
        : null;
    moves.push({
      bundle_version: now.bundle_version,
      from: was?.source ?? 'manifest',
      to: now.source,
      feedback: now.n_feedback ?? now.feedback_count ?? now.feedback ?? null,
      shift,
    });
  }
  return moves;
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results in input order. */
export async function inParallel(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Parses the command line. */
export function parseArgs(argv) {
  const args = {
    pool: 'demo',
    requests: 1000,
    repeat: 100,
    png: null,
    keep: false,
    concurrency: 8,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--pool') args.pool = value();
    else if (a === '--requests') args.requests = Number(value());
    else if (a === '--repeat') args.repeat = Number(value());
    else if (a === '--concurrency') args.concurrency = Number(value());
    else if (a === '--png') args.png = value();
    else if (a === '--keep') args.keep = true;
    else throw new Error(`unknown argument ${a}`);
  }
  for (const k of ['requests', 'repeat', 'concurrency'])
    if (!Number.isInteger(args[k]) || args[k] < 1)
      throw new Error(`--${k} must be a whole number >= 1`);
  if (args.repeat > args.requests) throw new Error('--repeat cannot exceed --requests');
  return args;
}

const ARMS = [
  { name: 'control', weight: 1 },
  { name: 'thrifty', weight: 1, preference: 0.02 },
];

/** Creates the demo experiment; an active one left by an earlier demo run is stopped first. */
async function createExperiment(api, pool) {
  const body = {
    pool,
    name: 'demo: pool default vs preference 0.02',
    arms: ARMS,
  };
  let r = await api.call('POST', '/admin/experiments', body);
  if (r.status === 409 && r.json?.error?.code === 'experiment_active') {
    const { data } = await api.request(
      'GET',
      `/admin/experiments?pool=${encodeURIComponent(pool)}&active=true`,
    );
    const mine = data.filter((e) => e.name.startsWith('demo:'));
    if (mine.length !== data.length)
      throw new Error(
        `pool ${pool} runs an experiment this demo did not start (${data[0].id}); stop it first`,
      );
    for (const e of mine) {
      await api.request('POST', `/admin/experiments/${e.id}/stop`);
      log(`  stopped ${e.id}, left running by an earlier demo run`);
    }
    r = await api.call('POST', '/admin/experiments', body);
  }
  if (r.status !== 201)
    throw new Error(`POST /admin/experiments: ${r.status} ${r.json?.error?.message}`);
  return r.json;
}

/** One routed chat request for one unit; what the answer says about its arm and model. */
async function send(api, pool, q, unit) {
  const r = await api.call('POST', '/v1/chat/completions', {
    model: `router/${pool}`,
    messages: [{ role: 'user', content: q.prompt }],
    user: unit,
    max_tokens: 64,
  });
  const h = (name) => r.headers.get(name);
  return {
    unit,
    question: q,
    status: r.status,
    arm: h('x-router-arm'),
    model: h('x-router-model'),
    decisionId: h('x-router-decision-id'),
  };
}

/** The model rows (by name) behind the served models, from GET /admin/models/{name}. */
async function modelRows(api, names) {
  const rows = new Map();
  for (const name of names) {
    const r = await api.call('GET', `/admin/models/${encodeURIComponent(name)}`);
    if (r.status === 200) rows.set(name, r.json);
  }
  return rows;
}

/**
 * Sends each answered request's feedback (the dataset's outcome of the model that answered).
 * Returns { available: false } when the server has no POST /v1/feedback.
 */
async function sendFeedback(api, sent, rows, concurrency) {
  const scored = sent.filter((s) => {
    const column = rows.get(s.model)?.bundle_model;
    return s.status === 200 && s.decisionId && column && s.question.outcomes[column] !== undefined;
  });
  if (scored.length === 0) return { available: true, sent: 0, failed: 0, scored: 0 };
  const post = (s) =>
    api.call('POST', '/v1/feedback', {
      decision_id: s.decisionId,
      score: s.question.outcomes[rows.get(s.model).bundle_model],
    });
  const probe = await post(scored[0]);
  if (probe.status === 404 && probe.json?.error?.code === 'unknown_route')
    return { available: false, reason: 'POST /v1/feedback: no such route on this server' };
  const results = await inParallel(scored.slice(1), concurrency, async (s) => {
    let r = await post(s);
    // the decision row is written after the answer: give a just-answered request a moment
    if (r.status === 404) r = await new Promise((ok) => setTimeout(ok, 500)).then(() => post(s));
    return r.status;
  });
  const statuses = [probe.status, ...results];
  const ok = statuses.filter((s) => s >= 200 && s < 300).length;
  return { available: true, sent: ok, failed: statuses.length - ok, scored: scored.length };
}

/** Triggers the worker's cron handler under wrangler dev; null when it could not. */
async function runScheduled(url) {
  const toml = readFileSync(path.join(root, 'wrangler.toml'), 'utf8');
  const cron = cronOf(toml);
  if (!cron) return { ok: false, reason: 'wrangler.toml has no cron trigger' };
  const res = await fetch(`${url}/__scheduled?cron=${encodeURIComponent(cron)}`);
  await res.text();
  if (!res.ok)
    return {
      ok: false,
      reason: `GET /__scheduled answered ${res.status} (is the server started with the cron trigger?)`,
    };
  return { ok: true, cron };
}

/** The whole demo; returns true when the split and stickiness checks passed. */
export async function main(argv = process.argv.slice(2), env = process.env) {
  const args = parseArgs(argv);
  const url = routerUrl(env);
  const api = client({ url, key: routerKey(env) });
  const health = await fetch(`${url}/healthz`).catch(() => null);
  if (!health?.ok) throw new Error(`no router at ${url}: start it with npm start`);

  const questions = loadQuestions(dataRoot(), args.requests);
  if (questions.length < args.requests)
    throw new Error(`only ${questions.length} mmlu-pro test questions found`);

  log(`1. experiment on pool ${args.pool}`);
  const exp = await createExperiment(api, args.pool);
  log(
    `   created ${exp.id}: ${exp.arms.map((a) => `${a.name} (weight ${a.weight}${a.preference !== undefined ? `, preference ${a.preference}` : ''})`).join(' vs ')}`,
  );

  log(`2. ${args.requests} routed chat requests, one unit each`);
  const t0 = Date.now();
  const sent = await inParallel(questions, args.concurrency, (q, i) =>
    send(api, args.pool, q, `demo-unit-${i}`),
  );
  const answered = sent.filter((s) => s.status === 200).length;
  log(
    `   ${answered} answered 200 in ${((Date.now() - t0) / 1000).toFixed(1)} s` +
      (answered < sent.length
        ? `; others: ${[...new Set(sent.filter((s) => s.status !== 200).map((s) => s.status))].join(', ')}`
        : ''),
  );

  const split = splitSummary(
    sent.map((s) => s.arm),
    exp.arms,
  );
  log(
    `3. split: ${Object.entries(split.counts)
      .map(([a, n]) => `${a} ${n} (${(100 * split.shares[a]).toFixed(1)}%)`)
      .join(', ')} -> ${split.ok ? 'within 45-55%' : 'OUTSIDE 45-55%'}`,
  );

  const repeats = sent.slice(0, args.repeat);
  const again = await inParallel(repeats, args.concurrency, async (s) => {
    const r = await api.call('POST', '/v1/route', {
      model: `router/${args.pool}`,
      messages: [{ role: 'user', content: s.question.prompt }],
      user: s.unit,
    });
    return [s.unit, r.headers.get('x-router-arm')];
  });
  const sticky = stickySummary(new Map(sent.map((s) => [s.unit, s.arm])), new Map(again));
  log(
    `   sticky: ${sticky.same} of ${sticky.checked} repeated units (POST /v1/route) landed on their first arm -> ${sticky.ok ? 'ok' : 'NOT STICKY'}`,
  );

  log('4. feedback: the true mmlu-pro outcome of the model that answered');
  const served = [...new Set(sent.map((s) => s.model).filter(Boolean))];
  const rows = await modelRows(api, served);
  const before = new Map([...rows].map(([n, r]) => [n, r]));
  const fb = await sendFeedback(api, sent, rows, args.concurrency);
  if (!fb.available) log(`   unavailable: ${fb.reason}`);
  else
    log(
      `   ${fb.sent} of ${fb.scored} feedback events accepted${fb.failed ? ` (${fb.failed} refused)` : ''}`,
    );

  log('5. report');
  const report = await api.request('GET', `/admin/experiments/${exp.id}/report`);
  log(formatReport(report).replace(/^/gm, '   '));
  if (args.png) {
    drawPng(report, args.png);
    log(`   plot: ${args.png}`);
  }

  log('6. online identity update');
  if (!fb.available) log('   unavailable: no feedback was stored');
  else {
    const run = await runScheduled(url);
    if (!run.ok) log(`   unavailable: ${run.reason}`);
    else {
      const after = await modelRows(api, served);
      const moved = served.flatMap((name) =>
        identityMoves(before.get(name), after.get(name)).map((m) => ({ name, ...m })),
      );
      if (moved.length === 0) log(`   cron ${run.cron} ran; no identity changed`);
      for (const m of moved)
        log(
          `   ${m.name} (${m.bundle_version}): ${m.from} -> ${m.to}` +
            `${m.feedback !== null ? `, ${m.feedback} feedback` : ''}${m.shift !== null ? `, moved ${m.shift.toFixed(4)} (L2)` : ''}`,
        );
    }
  }

  if (args.keep) log(`7. experiment ${exp.id} left running (--keep)`);
  else {
    await api.request('POST', `/admin/experiments/${exp.id}/stop`);
    log(`7. stopped ${exp.id}; its report stays: npm run report -- --experiment ${exp.id}`);
  }
  return split.ok && sticky.ok;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (ok) => process.exit(ok ? 0 : 1),
    (e) => {
      console.error(`demo:experiment: ${e.message}`);
      process.exit(1);
    },
  );
}
