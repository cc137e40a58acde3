// node --test: `npm run export-logs` against a local D1 (the real migrations, rows written with
// wrangler as the worker writes them) writes a bring-your-own-data folder that the trainer's own
// loader and build check accept: feedback scores of the answering model as outcomes, prompt text
// only from pools that keep it, the tenant's prices, and every left-out decision counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const env = { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false' };

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** `npm run export-logs` with `args`, as a user runs it. */
const exportLogs = (...args) =>
  run(path.join(root, 'node_modules/.bin/tsx'), ['model-assets/tools/export-logs.ts', ...args]);

const q = (v) =>
  v === null ? 'NULL' : typeof v === 'number' ? String(v) : `'${String(v).replace(/'/g, "''")}'`;

/** One decision row (and its feedback, when `score` is given). */
function decision(rows, d) {
  rows.push(
    `INSERT INTO decision_log (id, tenant_id, pool, model, answered_by, status, prompt, prompt_tokens, completion_tokens${d.createdAt ? ', created_at' : ''})
     VALUES (${[d.id, d.tenant, d.pool, d.model, d.model, d.status ?? 'ok', d.prompt ?? null, d.promptTokens ?? null, d.completionTokens ?? null].map(q).join(', ')}${d.createdAt ? `, ${q(d.createdAt)}` : ''});`,
  );
  if (d.score !== undefined)
    rows.push(
      `INSERT INTO feedback (tenant_id, decision_id, pool, model, score) VALUES (${[d.tenant, d.id, d.pool, d.model, d.score].map(q).join(', ')});`,
    );
}

const messages = (i) =>
  JSON.stringify([
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: `Question ${i}: what is ${i} squared?` },
  ]);

function seedSql() {
  const rows = [
    `INSERT INTO tenants (id, name) VALUES ('ta', 'a'), ('tb', 'b');`,
    `INSERT INTO models (id, tenant_id, name, provider, upstream_model, input_usd_per_mtok, output_usd_per_mtok) VALUES
       ('m1', NULL, 'gm-cheap', 'openai', 'x', 0.1, 0.2),
       ('m2', 'ta', 'tm-big', 'openai', 'x', 5, 15),
       ('m3', NULL, 'tm-big', 'openai', 'x', 1, 1),
       ('m4', 'tb', 'tb-only', 'openai', 'x', 2, 2);`,
    `INSERT INTO pools (id, tenant_id, name, bundle_version, keep_prompts) VALUES
       ('p1', 'ta', 'keep', 'v', 1), ('p2', 'ta', 'nokeep', 'v', 0), ('p3', 'tb', 'keep', 'v', 1);`,
  ];
  const base = { tenant: 'ta', pool: 'keep', completionTokens: 5 };
  for (let i = 0; i < 60; i++) {
    const prompt = messages(i);
    decision(rows, {
      ...base,
      id: `a-${i}`,
      model: 'gm-cheap',
      prompt,
      promptTokens: 10 + i,
      score: i % 2,
    });
    if (i < 30)
      decision(rows, {
        ...base,
        id: `b-${i}`,
        model: 'tm-big',
        prompt,
        promptTokens: 10 + i,
        score: 1,
      });
  }
  // the same prompt answered twice by one model: one outcome, the mean of both scores
  decision(rows, {
    ...base,
    id: 'dup-0',
    model: 'gm-cheap',
    prompt: messages(0),
    promptTokens: 10,
    score: 1,
  });
  for (let i = 0; i < 4; i++)
    decision(rows, { ...base, id: `nofb-${i}`, model: 'gm-cheap', prompt: messages(i) });
  for (let i = 0; i < 3; i++)
    decision(rows, { ...base, pool: 'nokeep', id: `nokeep-${i}`, model: 'gm-cheap', score: 1 });
  decision(rows, { ...base, id: 'bad-prompt', model: 'gm-cheap', prompt: 'not json', score: 1 });
  decision(rows, { ...base, id: 'gone', model: 'deleted-model', prompt: messages(99), score: 1 });
  decision(rows, {
    ...base,
    id: 'route',
    model: 'gm-cheap',
    status: 'route_only',
    prompt: messages(98),
  });
  decision(rows, {
    ...base,
    id: 'old',
    model: 'gm-cheap',
    prompt: messages(97),
    score: 1,
    createdAt: '2020-01-01T00:00:00.000Z',
  });
  for (let i = 0; i < 5; i++)
    decision(rows, {
      tenant: 'tb',
      pool: 'keep',
      id: `tb-${i}`,
      model: 'tb-only',
      prompt: messages(`tb secret ${i}`),
      score: 1,
    });
  return rows.join('\n');
}

test(
  'export-logs writes a folder the byod loader and build check accept, from one tenant only',
  { timeout: 240_000 },
  () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'export-logs-'));
    try {
      const state = path.join(dir, 'state');
      const wrangler = path.join(root, 'node_modules/.bin/wrangler');
      const migrate = run(wrangler, [
        'd1',
        'migrations',
        'apply',
        'DB',
        '--local',
        '--persist-to',
        state,
      ]);
      assert.equal(migrate.status, 0, migrate.out);
      writeFileSync(path.join(dir, 'seed.sql'), seedSql());
      const seed = run(wrangler, [
        'd1',
        'execute',
        'DB',
        '--local',
        '--persist-to',
        state,
        '--file',
        path.join(dir, 'seed.sql'),
      ]);
      assert.equal(seed.status, 0, seed.out);

      const out = path.join(dir, 'exports', 'byod'); // its parent does not exist yet
      const exported = exportLogs(
        '--out',
        out,
        '--local',
        '--persist-to',
        state,
        '--tenant',
        'ta',
        '--since',
        '30d',
      );
      assert.equal(exported.status, 0, exported.out);
      assert.match(exported.out, /100 decisions, 96 with feedback, 93 of those with a kept prompt/);
      assert.match(
        exported.out,
        /91 decisions exported as 90 outcomes over 60 prompts \(\d+ train, \d+ test\) and 2 models/,
      );
      assert.match(
        exported.out,
        /skipped: 4 without feedback, 3 with feedback but no kept prompt, 1 with an unreadable prompt, 1 whose model has no price row/,
      );

      const prompts = readFileSync(path.join(out, 'prompts.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.equal(prompts.length, 60);
      // the text the router embeds: the last user message, not the system prompt
      assert.equal(prompts[0].prompt, 'Question 0: what is 0 squared?');
      const text = readFileSync(path.join(out, 'prompts.jsonl'), 'utf8');
      assert.ok(!text.includes('tb secret'), "another tenant's prompt was exported");
      assert.ok(!text.includes('Question 97'), 'a row before --since was exported');
      const prices = readFileSync(path.join(out, 'prices.csv'), 'utf8').trim().split('\n');
      assert.deepEqual(prices, [
        'model,input_usd_per_mtok,output_usd_per_mtok',
        'gm-cheap,0.1,0.2',
        'tm-big,5,15',
      ]);
      const outcomes = readFileSync(path.join(out, 'outcomes.csv'), 'utf8').trim().split('\n');
      assert.equal(outcomes[0], 'prompt_id,model,outcome,input_tokens,output_tokens');
      assert.equal(outcomes.length, 91);
      assert.ok(
        outcomes.includes(`${prompts[0].id},gm-cheap,0.5,10,5`),
        outcomes.slice(0, 3).join('\n'),
      );

      const check = spawnSync(
        '/usr/bin/python3',
        [
          '-c',
          `import json, sys
from pathlib import Path
from trainer.data import load_byod
from trainer.build import check_byod
t = load_byod(Path(sys.argv[1]))
check_byod([t])
print(json.dumps({"models": t.models, "prompts": len(t.prompt_ids), "graded": int((t.outcome == t.outcome).sum())}))`,
          out,
        ],
        {
          cwd: root,
          encoding: 'utf8',
          env: { ...process.env, PYTHONPATH: 'model-assets', OMP_NUM_THREADS: '1' },
        },
      );
      assert.equal(check.status, 0, check.stderr);
      assert.deepEqual(JSON.parse(check.stdout.trim().split('\n').at(-1)), {
        models: ['gm-cheap', 'tm-big'],
        prompts: 60,
        graded: 90,
      });

      // an earlier export's folder is replaced by the next export
      const again = exportLogs('--out', out, '--local', '--persist-to', state, '--tenant', 'ta');
      assert.equal(again.status, 0, again.out);
      assert.equal(
        readFileSync(path.join(out, 'outcomes.csv'), 'utf8').trim().split('\n').length,
        92,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('export-logs refuses an --out folder that holds anything but an earlier export, and mixed tenants unless asked', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'export-logs-out-'));
  try {
    const out = path.join(dir, 'precious');
    mkdirSync(out);
    writeFileSync(path.join(out, 'notes.txt'), 'keep me');
    writeFileSync(path.join(out, 'prices.csv'), 'model,input_usd_per_mtok,output_usd_per_mtok\n');
    const r = exportLogs(
      '--out',
      out,
      '--tenant',
      'ta',
      '--local',
      '--persist-to',
      path.join(dir, 'no-state'),
    );
    assert.notEqual(r.status, 0, r.out);
    assert.match(r.out, /holds files that are not an export's \(notes\.txt\)/);
    assert.equal(readFileSync(path.join(out, 'notes.txt'), 'utf8'), 'keep me');
    assert.deepEqual(readdirSync(out).sort(), ['notes.txt', 'prices.csv']);

    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'x');
    const f = exportLogs('--out', file);
    assert.notEqual(f.status, 0, f.out);
    assert.match(f.out, /is a file, not a folder/);
    assert.equal(readFileSync(file, 'utf8'), 'x');

    // every tenant's traffic only when asked for by name
    for (const extra of [[], ['--tenant', 'ta', '--all-tenants']]) {
      const t = exportLogs('--out', path.join(dir, 'fresh'), ...extra);
      assert.notEqual(t.status, 0, t.out);
      assert.match(t.out, /give exactly one of --tenant T and --all-tenants/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
