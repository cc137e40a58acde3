// `node bench/rate-limit-flood.mjs [--root DIR] [--rpm-a N] [--seconds 20] [--port 8797] [--floor]`: one
// tenant (A) floods POST /v1/route with 64 concurrent clients while another (B) sends one request
// at a time; prints B's latency and A's answers. Runs against `wrangler dev --local` of the checkout
// in --root (default: this one), after `npm start -- --prepare-only` there (local D1 with the demo
// pool, the bundle in local R2). Seeds two tenants, each with a copy of the demo pool; --rpm-a sets
// A's rpm_limit (migration 0009; leave it out on code without rate limits). --floor floods
// GET /healthz instead (no key, no routing): what any flood costs B on this machine. docs/worker.md,
// "Rate limits", has what it measured.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { parse } from 'yaml';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
};
const root = path.resolve(arg('root', path.join(here, '..')));
const rpmA = arg('rpm-a', null);
const seconds = Number(arg('seconds', '20'));
const port = Number(arg('port', '8797'));
const floor = process.argv.includes('--floor');
const wranglerBin = path.join(root, 'node_modules', '.bin', 'wrangler');
const env = {
  ...process.env,
  WRANGLER_SEND_METRICS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  CI: 'true',
};
const log = (msg) => console.log(`[flood] ${msg}`);

// the demo tenant and pool npm start applies (scripts/demo.config.yaml); copied by name
const demoConfig = parse(readFileSync(path.join(root, 'scripts', 'demo.config.yaml'), 'utf8'));
const demo = { tenant: demoConfig.tenants[0].id, pool: demoConfig.tenants[0].pools[0].name };
const demoPoolId = `(SELECT id FROM pools WHERE tenant_id = '${demo.tenant}' AND name = '${demo.pool}')`;
const version = readFileSync(path.join(root, 'model-assets', 'bundles', 'DEFAULT'), 'utf8').trim();

/** SQL for a tenant with a key and a copy of the demo pool (its own copies of the demo models). */
function tenantSql(id, rpm) {
  const key = `sk-flood-${randomBytes(12).toString('hex')}`;
  const hash = createHash('sha256').update(key).digest('hex');
  const pool = `${id}-pool`;
  const sql = [
    `DELETE FROM pool_members WHERE pool_id = '${pool}';`,
    `DELETE FROM pools WHERE id = '${pool}';`,
    `DELETE FROM models WHERE tenant_id = '${id}';`,
    `DELETE FROM api_keys WHERE tenant_id = '${id}';`,
    `DELETE FROM tenants WHERE id = '${id}';`,
    `INSERT INTO tenants (id, name, default_pool) VALUES ('${id}', '${id}', 'flood');`,
    rpm ? `UPDATE tenants SET rpm_limit = ${Number(rpm)} WHERE id = '${id}';` : '',
    `INSERT INTO api_keys (key_hash, tenant_id) VALUES ('${hash}', '${id}');`,
    `INSERT INTO models (id, tenant_id, name, provider, upstream_model, base_url, secret_name, input_usd_per_mtok, output_usd_per_mtok, expected_output_tokens, bundle_model)
       SELECT id || '-${id}', '${id}', name, provider, upstream_model, base_url, secret_name, input_usd_per_mtok, output_usd_per_mtok, expected_output_tokens, bundle_model
       FROM models WHERE tenant_id = '${demo.tenant}';`,
    `INSERT INTO pools (id, tenant_id, name, bundle_version, default_preference, default_preset)
       SELECT '${pool}', '${id}', 'flood', bundle_version, default_preference, default_preset FROM pools WHERE id = ${demoPoolId};`,
    `INSERT INTO pool_members (pool_id, model_id) SELECT '${pool}', model_id || '-${id}' FROM pool_members WHERE pool_id = ${demoPoolId};`,
  ].join('\n');
  return { key, sql };
}

function seed() {
  const a = tenantSql('flood-a', rpmA);
  const b = tenantSql('flood-b', null);
  const file = path.join(root, '.wrangler', 'tmp', 'flood-seed.sql');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${a.sql}\n${b.sql}\n`);
  const r = spawnSync(wranglerBin, ['d1', 'execute', 'DB', '--local', '--file', file], {
    cwd: root,
    env,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`seeding failed:\n${r.stdout}${r.stderr}`);
  return { keyA: a.key, keyB: b.key };
}

async function waitUp(base) {
  for (let i = 0; i < 150; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('wrangler dev did not come up');
}

const body = JSON.stringify({
  model: 'router',
  messages: [{ role: 'user', content: 'What is the capital of France?' }],
});
const run = (base, key, connections, opts = {}) =>
  autocannon({
    url: `${base}/v1/route`,
    method: 'POST',
    connections,
    duration: seconds,
    body,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...opts,
  });

/** autocannon with 64 connections in its own Node process; resolves with its JSON result. */
function floodFromChild(base, key) {
  return new Promise((resolve, reject) => {
    const target = floor
      ? [`${base}/healthz`]
      : [
          '-m',
          'POST',
          '-H',
          `authorization=Bearer ${key}`,
          '-H',
          'content-type=application/json',
          '-b',
          body,
          `${base}/v1/route`,
        ];
    const child = spawn(
      process.execPath,
      [
        path.join(root, 'node_modules', 'autocannon', 'autocannon.js'),
        '--json',
        '-c',
        '64',
        '-d',
        String(seconds),
        ...target,
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`autocannon exited ${code}`)),
    );
  });
}

async function main() {
  const { keyA, keyB } = seed();
  log(`seeded flood-a (rpm_limit ${rpmA ?? 'none'}) and flood-b in ${root}`);
  const dev = spawn(
    wranglerBin,
    [
      'dev',
      '--local',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--var',
      `DEFAULT_BUNDLE:${version}`,
    ],
    { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitUp(base);
    for (const key of [keyA, keyB]) {
      const res = await fetch(`${base}/v1/route`, {
        method: 'POST',
        body,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      });
      if (res.status !== 200) throw new Error(`warm-up: ${res.status} ${await res.text()}`);
    }
    const alone = await run(base, keyB, 1);
    log(
      `B alone, 1 client: p50 ${alone.latency.p50} ms, p99 ${alone.latency.p99} ms, ${alone.requests.total} requests`,
    );
    // The flood runs in a child process: sharing this event loop would slow B's client, not the router.
    const [flood, b] = await Promise.all([floodFromChild(base, keyA), run(base, keyB, 1)]);
    const byStatus = Object.fromEntries(
      Object.entries(flood.statusCodeStats ?? {}).map(([k, v]) => [k, v.count]),
    );
    log(
      `A flooding, 64 clients: ${flood.requests.total} requests, statuses ${JSON.stringify(byStatus)}, p50 ${flood.latency.p50} ms`,
    );
    log(
      `B during the flood, 1 client: p50 ${b.latency.p50} ms, p99 ${b.latency.p99} ms, ${b.requests.total} requests, non-2xx ${b.non2xx}`,
    );
    console.log(
      JSON.stringify({
        root,
        rpm_a: rpmA,
        floor,
        seconds,
        b_alone: { p50: alone.latency.p50, p99: alone.latency.p99 },
        a: { total: flood.requests.total, statuses: byStatus, p50: flood.latency.p50 },
        b_during: {
          p50: b.latency.p50,
          p99: b.latency.p99,
          total: b.requests.total,
          non2xx: b.non2xx,
        },
      }),
    );
  } finally {
    dev.kill('SIGINT');
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
