// node --test: the experiment report script's pieces: the table, the plot's input, a real PNG
// drawn by matplotlib, argument parsing, the dispatcher's usage, and where the client finds the
// router and its key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { drawPng, formatReport, parseArgs, plotInput } from '../../scripts/report/experiment.mjs';
import { routerKey, routerUrl } from '../../scripts/report/client.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function arm(name, control, cost, feedback) {
  return {
    name,
    weight: 1,
    control,
    config: {},
    requests: 500,
    error_rate: { count: 5, rate: 0.01, ci95: [0.0043, 0.0232] },
    fallback_rate: { count: 0, rate: 0, ci95: [0, 0.0076] },
    cost_per_request_usd: {
      n: cost === null ? 0 : 495,
      mean: cost,
      ci95: cost === null ? null : [cost * 0.9, cost * 1.1],
    },
    routing_ms: { n: 500, p50: 1.25, p95: 3.5 },
    upstream_ms: { n: 495, p50: 120, p95: 410 },
    feedback: {
      n: 480,
      mean: feedback,
      ci95: feedback === null ? null : [feedback - 0.04, feedback + 0.04],
    },
    vs_control: control
      ? null
      : {
          error_rate: { diff: 0.002, ci95: [-0.01, 0.014] },
          fallback_rate: null,
          cost_per_request_usd: { diff: -0.0004, ci95: [-0.0005, -0.0003], df: 880.2 },
          feedback: { diff: -0.12, ci95: [-0.18, -0.06], df: 950.1 },
        },
  };
}

const report = {
  object: 'experiment.report',
  experiment: {
    id: 'exp_1',
    name: 'cheap vs balanced',
    pool: 'demo',
    active: true,
    created_at: '2026-12-06T00:00:00.000Z',
    stopped_at: null,
  },
  control: 'control',
  methods: { vs_control: 'arm minus control: Newcombe, Welch' },
  arms: [arm('control', true, 0.0012, 0.71), arm('thrifty', false, 0.0008, 0.59)],
};

test('formatReport prints one line per arm and each difference from the control', () => {
  const text = formatReport(report);
  assert.match(text, /experiment exp_1 "cheap vs balanced" on pool demo \(running/);
  const controlLine = text.split('\n').find((l) => l.startsWith('control (control)'));
  assert.ok(controlLine, text);
  assert.match(controlLine, /\b500\s+1\.0% \[0\.4%, 2\.3%\]\s+0\.0% \[0\.0%, 0\.8%\]/);
  assert.match(controlLine, /0\.00120 \[0\.00108, 0\.00132\] \(n 495\)/);
  assert.match(controlLine, /1\.25 \/ 3\.50\s+120 \/ 410\s+480\s+0\.710 \[0\.670, 0\.750\]/);
  assert.match(
    text,
    /thrifty: cost\/request -0\.000400 \[-0\.000500, -0\.000300\] USD; feedback -0\.120 \[-0\.180, -0\.060\]; errors \+0\.2 pt \[-1\.0 pt, \+1\.4 pt\]; fallbacks n\/a/,
  );
});

test('plotInput gives one point per arm: mean cost and mean feedback with their intervals', () => {
  const [c, t] = report.arms;
  assert.deepEqual(plotInput(report).points, [
    {
      name: 'control',
      control: true,
      x: 0.0012,
      x_ci: c.cost_per_request_usd.ci95,
      y: 0.71,
      y_ci: c.feedback.ci95,
    },
    {
      name: 'thrifty',
      control: false,
      x: 0.0008,
      x_ci: t.cost_per_request_usd.ci95,
      y: 0.59,
      y_ci: t.feedback.ci95,
    },
  ]);
});

test('drawPng writes a PNG through matplotlib, also when an arm has no cost or feedback yet', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'report-png-'));
  for (const [name, r] of [
    ['full.png', report],
    ['partial.png', { ...report, arms: [arm('control', true, null, null), report.arms[1]] }],
  ]) {
    const file = path.join(dir, name);
    drawPng(r, file);
    const bytes = readFileSync(file);
    assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    assert.ok(bytes.length > 5000, `${name}: ${bytes.length} bytes`);
  }
});

test('parseArgs takes --experiment, --png and --json and refuses anything else', () => {
  assert.deepEqual(parseArgs(['--experiment', 'exp_1', '--png', 'a.png']), {
    id: 'exp_1',
    png: 'a.png',
    json: false,
  });
  assert.deepEqual(parseArgs(['--json', '--experiment', 'e']), { id: 'e', png: null, json: true });
  assert.throws(() => parseArgs(['--png', 'a.png']), /--experiment needs an experiment id/);
  assert.throws(() => parseArgs(['--experiment', 'e', '--pngg', 'x']), /unknown argument --pngg/);
});

test('npm run report without a kind prints its usage and exits 2', () => {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts/report.mjs')], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /usage: npm run report -- --experiment ID/);
});

test('the client finds the router by ROUTER_URL or PORT, and the key by ROUTER_KEY or the demo key file', () => {
  assert.equal(routerUrl({}), 'http://127.0.0.1:8787');
  assert.equal(routerUrl({ PORT: '9000' }), 'http://127.0.0.1:9000');
  assert.equal(routerUrl({ ROUTER_URL: 'https://r.example/' }), 'https://r.example');
  assert.equal(routerKey({ ROUTER_KEY: 'sk-x' }), 'sk-x');
  const state = mkdtempSync(path.join(tmpdir(), 'report-key-'));
  assert.throws(() => routerKey({ STATE_DIR: state }), /no API key/);
  writeFileSync(path.join(state, 'demo-api-key'), 'sk-router-demo-abc\n');
  assert.equal(routerKey({ STATE_DIR: state }), 'sk-router-demo-abc');
});
