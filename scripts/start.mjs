// `npm start`: a local, offline router on a fresh clone. Installs npm packages, applies the D1
// migrations locally, puts the shipped bundle into local R2 (and re-checks what is there against
// the manifest's sha256 on every start, writing back what differs), builds the default quiz bank (the
// mmlu-pro train split of ../shared/data, when present) into local R2 for the onboarding endpoints,
// applies the demo config (scripts/demo.config.yaml: tenant, grant, models, pool) and the demo key,
// starts the local stand-in upstream (NOT a real model; see scripts/standin-upstream.mjs), then
// serves the worker with `wrangler dev --local` on 127.0.0.1:${PORT:-8787}. Safe to re-run.
//
//   npm start                       # prepare everything, then serve
//   npm start -- --prepare-only     # prepare everything, do not serve
// Env: PORT (worker, default 8787), STANDIN_PORT (stand-in, default 8788), BUNDLES_DIR (where
// bundles and DEFAULT live, default model-assets/bundles; for trying a bundle built elsewhere),
// STANDIN_FAIL_MODELS (upstream ids the stand-in answers with 503, to watch fallback), STATE_DIR
// (local D1/R2 and the demo key, default .wrangler/state; `npm run loadtest` serves from its own).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { dataRoot, ensureNpm, ensureNumpy, python, root } from './setup.mjs';
import { syncLocalR2 } from './local-r2.mjs';
import { wranglerD1 } from './config/d1.mjs';
import { demoApiKey, demoWarnings, ensureDevVar, readDemoConfig, seedDemo } from './seed-demo.mjs';
import { DEFAULT_STANDIN_PORT } from './standin-upstream.mjs';

const STEPS = 8;
let step = 0;
const log = (msg) => console.log(`[start] ${msg}`);
const progress = (msg) => log(`${++step}/${STEPS} ${msg}`);
const fail = (msg) => {
  console.error(`[start] ERROR: ${msg}`);
  process.exit(1);
};

const port = Number(process.env.PORT || 8787);
const standinPort = Number(process.env.STANDIN_PORT || DEFAULT_STANDIN_PORT);
const prepareOnly = process.argv.includes('--prepare-only');
const stateDir = path.resolve(root, process.env.STATE_DIR || path.join('.wrangler', 'state'));
const bundlesDir = path.resolve(
  root,
  process.env.BUNDLES_DIR || path.join('model-assets', 'bundles'),
);
const wranglerBin = path.join(root, 'node_modules', '.bin', 'wrangler');
// Offline: no telemetry, and no fetch of the Request.cf placeholder (it fails offline, noisily).
const offlineEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
};
// Non-interactive for the preparation steps: no confirmation prompts.
const wranglerEnv = { ...offlineEnv, CI: 'true' };

/** Runs wrangler with its output shown only when it fails. */
function wrangler(args, what) {
  const local = args.includes('--local') ? ['--persist-to', stateDir] : [];
  const r = spawnSync(wranglerBin, [...args, ...local], {
    cwd: root,
    env: wranglerEnv,
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`);
    fail(`${what} failed (wrangler ${args.join(' ')})`);
  }
  return r.stdout;
}

/** One string value from wrangler.toml (first match of `key = "..."` after `section`). */
function tomlValue(section, key) {
  const toml = readFileSync(path.join(root, 'wrangler.toml'), 'utf8');
  const at = toml.indexOf(section);
  const m = new RegExp(`^\\s*${key}\\s*=\\s*"([^"]+)"`, 'm').exec(at === -1 ? '' : toml.slice(at));
  if (!m) fail(`wrangler.toml has no ${key} under ${section}`);
  return m[1];
}

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The DEFAULT bundle's folder, manifest and the files to upload (hashes checked). */
function readBundle() {
  const defaultFile = path.join(bundlesDir, 'DEFAULT');
  if (!existsSync(defaultFile)) {
    fail(
      `${path.relative(root, defaultFile)} is missing: there is no shipped bundle to serve yet. ` +
        'Build one with the training pipeline (model-assets/), which writes model-assets/bundles/<version>/ and DEFAULT.',
    );
  }
  const version = readFileSync(defaultFile, 'utf8').trim();
  const dir = path.join(bundlesDir, version);
  const manifestFile = path.join(dir, 'manifest.json');
  if (!version || !existsSync(manifestFile))
    fail(
      `${path.relative(root, defaultFile)} names "${version}", but ${path.relative(root, manifestFile)} does not exist`,
    );
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  if (manifest.version !== version)
    fail(`bundle ${version}: manifest.json says version "${manifest.version}"`);
  const uploads = [
    { key: `bundles/${version}/manifest.json`, file: manifestFile, sha256: sha256(manifestFile) },
  ];
  for (const [name, entry] of Object.entries(manifest.files ?? {})) {
    const file = path.join(dir, path.basename(entry.key));
    if (!existsSync(file))
      fail(`bundle ${version}: ${name} file ${path.relative(root, file)} is missing`);
    if (sha256(file) !== entry.sha256)
      fail(
        `bundle ${version}: ${path.relative(root, file)} does not match the sha256 in manifest.json`,
      );
    uploads.push({ key: entry.key, file, sha256: entry.sha256 });
  }
  const bank = path.join(dir, 'bank.json');
  if (existsSync(bank))
    uploads.push({ key: `bundles/${version}/bank.json`, file: bank, sha256: sha256(bank) });
  return { version, manifest, uploads };
}

/** Whether `stamp` records `want` and local R2 still exists, so the upload it stands for is done. */
function stampCurrent(stamp, want, bucket) {
  return (
    existsSync(stamp) &&
    existsSync(path.join(stateDir, 'v3', 'r2', bucket)) &&
    readFileSync(stamp, 'utf8') === want
  );
}

/**
 * Makes local R2 hold the shipped bundle: every object is read back and checked against the
 * manifest's sha256 (its own for manifest.json and bank.json) on every start, and what is missing
 * or differs is written again, so a damaged local store never serves 503s.
 */
async function uploadBundle(bucket, bundle) {
  const { checked, fixed } = await syncLocalR2({
    persistDir: path.join(stateDir, 'v3', 'r2'),
    bucket,
    files: bundle.uploads,
  });
  if (fixed.length === 0) {
    log(`    bundle ${bundle.version} already in local R2 (${checked} files, sha256 checked)`);
    return;
  }
  for (const f of fixed) log(`    r2 put ${bucket}/${f.key} (${f.reason})`);
  log(
    `    bundle ${bundle.version} in local R2 (${checked} files, ${fixed.length} written, sha256 checked)`,
  );
}

/** Bumped when `trainer.onboard.bank --mmlu-pro` writes a different bank for the same bundle. */
const BANK_RECIPE = 'bank-prior-1';

/**
 * Builds the bundle's default quiz bank from the mmlu-pro train split of ../shared/data (prompts,
 * reference answers, item parameters under this bundle) and puts it into local R2, so
 * `GET /admin/models/{id}/quiz` and the worker-run quiz work offline. Not fatal: without the data
 * the onboarding endpoints answer 404 for the bank, and the log says how to add one.
 */
function uploadQuizBank(bucket, bundle) {
  const stamp = path.join(stateDir, `start-bank-${bundle.version}.json`);
  // the bank's recipe is part of the stamp: a bank built before banks carried their prior is rebuilt
  const want = `${sha256(path.join(bundlesDir, bundle.version, 'manifest.json'))} ${BANK_RECIPE}`;
  if (stampCurrent(stamp, want, bucket)) {
    log(`    quiz bank banks/${bundle.version}/default.json already in local R2`);
    return;
  }
  ensureNumpy();
  const r = spawnSync(
    python,
    [
      '-m',
      'trainer.onboard.bank',
      '--mmlu-pro',
      '--bundle',
      path.join(bundlesDir, bundle.version),
      '--upload-local',
      '--persist-to',
      stateDir,
    ],
    {
      cwd: path.join(root, 'model-assets'),
      env: { ...wranglerEnv, PYTHONPATH: '.', ROUTER_DATA: dataRoot() },
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) {
    const why = `${r.stderr ?? ''}`.trim().split('\n').pop();
    log(
      `    warning: no quiz bank (${why}); onboarding needs one: npm run onboard -- --build-bank --prompts FILE --upload-local`,
    );
    return;
  }
  for (const line of `${r.stdout ?? ''}`.trim().split('\n').slice(-2)) log(`    ${line}`);
  writeFileSync(stamp, want);
}

/** Resolves when something answers GET url within ms, else rejects. */
async function waitFor(url, ms) {
  const until = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) return r.json();
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`nothing answered ${url} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts the stand-in (or reuses one already on the port); returns its child process or null. */
async function startStandin(apiKey) {
  const health = `http://127.0.0.1:${standinPort}/healthz`;
  const existing = await waitFor(health, 1).catch(() => null);
  if (existing?.service === 'standin-upstream') {
    log(`    a stand-in upstream already runs on 127.0.0.1:${standinPort}; reusing it`);
    return null;
  }
  const child = spawn(process.execPath, [path.join(root, 'scripts', 'standin-upstream.mjs')], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, STANDIN_PORT: String(standinPort), STANDIN_API_KEY: apiKey },
  });
  const exited = new Promise((_, reject) =>
    child.once('exit', (code) =>
      reject(new Error(`stand-in exited with code ${code} (port ${standinPort} in use?)`)),
    ),
  );
  await Promise.race([waitFor(health, 10_000), exited]).catch((err) => fail(err.message));
  return child;
}

async function main() {
  progress('npm packages');
  ensureNpm();

  progress('bundle');
  const bundle = readBundle();
  log(
    `    ${path.relative(root, bundlesDir)}/${bundle.version}: ${bundle.manifest.models?.length ?? 0} models, ${bundle.uploads.length} files`,
  );

  progress('D1 migrations (local)');
  const dbName = tomlValue('[[d1_databases]]', 'binding');
  wrangler(['d1', 'migrations', 'apply', dbName, '--local'], 'D1 migrations');

  const bucket = tomlValue('[[r2_buckets]]', 'bucket_name');
  progress('bundle -> local R2 (sha256 checked)');
  await uploadBundle(bucket, bundle);

  progress('quiz bank -> local R2 (onboarding)');
  uploadQuizBank(bucket, bundle);

  progress('demo tenant, key, models and pool (scripts/demo.config.yaml)');
  const demo = readDemoConfig().tenants[0];
  const devVars = path.join(root, '.dev.vars');
  const standinKey = ensureDevVar(devVars, demo.grants[0].secret_name);
  // the operator API's token (64 hex digits), a local secret like the stand-in's key
  const operatorToken = ensureDevVar(devVars, 'OPERATOR_TOKEN', 32);
  const { key, keyHash } = demoApiKey(stateDir);
  for (const w of demoWarnings(readDemoConfig(), bundle.manifest)) log(`    warning: ${w}`);
  await seedDemo({
    d1: wranglerD1({ root, stateDir, db: dbName }),
    standinPort,
    bundleVersion: bundle.version,
    key,
    keyHash,
    log: (line) => {
      for (const l of line.split('\n').filter((x) => !x.startsWith('    '))) log(`    ${l}`);
    },
  });
  const prices = demo.models.map((m) => m.output_usd_per_mtok);
  log(
    `    pool "${demo.pools[0].name}": ${demo.models.length} models, $${Math.min(...prices)}-$${Math.max(...prices)} per M output tokens`,
  );

  if (prepareOnly) {
    log(`prepared (--prepare-only). Demo API key: ${key}  Operator token: ${operatorToken}`);
    return;
  }

  progress(`stand-in upstream on 127.0.0.1:${standinPort} (local stand-in, not real models)`);
  const standin = await startStandin(standinKey);

  progress(`wrangler dev --local on 127.0.0.1:${port}`);
  const base = `http://127.0.0.1:${port}`;
  console.log(`
  Demo API key: ${key}
  Operator token (OPERATOR_TOKEN in .dev.vars, for /operator/*): ${operatorToken}
  Try (once wrangler says Ready):
    curl -N ${base}/v1/chat/completions -H "authorization: Bearer ${key}" -H 'content-type: application/json' \\
      -d '{"model":"router","stream":true,"messages":[{"role":"user","content":"Prove that sqrt(2) is irrational."}]}' -D -
    curl ${base}/v1/route -H "authorization: Bearer ${key}" -H 'content-type: application/json' \\
      -d '{"model":"router","messages":[{"role":"user","content":"What is 2+2?"}]}'
  Answers come from the local stand-in upstream, which says so; see docs/providers.md for real providers.
  Feedback on an answer, then the online update (a cron trigger; locally it runs on this request only):
    curl ${base}/v1/feedback -H "authorization: Bearer ${key}" -H 'content-type: application/json' \\
      -d '{"decision_id":"<x-router-decision-id>","score":1}'
    curl ${base}/__scheduled
`);
  const dev = spawn(
    wranglerBin,
    [
      'dev',
      '--local',
      '--persist-to',
      stateDir,
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--var',
      `DEFAULT_BUNDLE:${bundle.version}`,
      // GET /__scheduled runs the cron trigger (the online update) once, on demand
      '--test-scheduled',
    ],
    {
      cwd: root,
      stdio: 'inherit',
      env: offlineEnv,
    },
  );
  const stop = (signal) => {
    dev.kill(signal);
    standin?.kill(signal);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  dev.on('exit', (code) => {
    standin?.kill('SIGTERM');
    process.exit(code ?? 0);
  });
}

main().catch((err) => fail(err.stack ?? String(err)));
