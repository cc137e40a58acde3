/**
 * `npm run onboard`: onboarding offline, with the same code the worker serves (worker/onboarding).
 *
 *   npm run onboard -- --quiz 20 [--out quiz.jsonl]              # a fixed quiz to put to the model
 *   npm run onboard -- --next [--answers FILE]                   # adaptive: the next item given the answers so far
 *   npm run onboard -- --model NAME --answers FILE [--d1-local]  # fit and print (and store) its identity
 *   npm run onboard -- --build-bank --mmlu-pro [--upload-local]  # build a bank (python -m trainer.onboard.bank)
 *
 * Common: --bundle DIR (default model-assets/bundles/$(cat DEFAULT)), --bank FILE (default
 * model-assets/.cache/banks/<bundle>/default.json, else the bundle's bank.json).
 * Answers FILE: .json (array), .jsonl or .csv (header id,outcome); each item `{ "id", "outcome" }`
 * with outcome in [0, 1] (or true/false), or `{ "id", "answer" }` with the model's answer text,
 * graded against the bank's reference like the worker's own quiz run.
 * --d1-local writes the identity into the local D1 of `npm start` (model found by name, or --model-id).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { z } from 'zod';
import { parseManifest, type Manifest } from '../../worker/bundle/manifest';
import { bankAbility } from '../../worker/onboarding/ability';
import { parseBank, type Bank } from '../../worker/onboarding/bank';
import { selectQuiz } from '../../worker/onboarding/design';
import { grade } from '../../worker/onboarding/grade';
import { pickItems } from '../../worker/onboarding/items';
import { laplacePosterior, type Posterior } from '../../worker/onboarding/laplace';
import { covFactor } from '../../worker/onboarding/linalg';
import { nextItem } from '../../worker/onboarding/adaptive';
import { onboardingPrior } from '../../worker/onboarding/prior';

const root = path.resolve(import.meta.dirname, '../..');
const usage = `usage:
  npm run onboard -- --quiz N [--method i-optimal|d-optimal|random] [--seed S] [--gradable] [--out FILE]
  npm run onboard -- --next [--answers FILE] [--method i-optimal|d-optimal] [--gradable]
  npm run onboard -- --model NAME --answers FILE [--d1-local] [--model-id ID] [--out FILE]
  npm run onboard -- --build-bank (--mmlu-pro | --prompts FILE [--prior-models A,B,C]) [--name NAME] [--upload-local]
common: --bundle DIR  --bank FILE`;

class CliError extends Error {}

function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

function opt(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new CliError(`--${name} needs a value`);
  return v;
}

function log(msg: string): void {
  process.stderr.write(`[onboard] ${msg}\n`);
}

function loadBundle(): { dir: string; manifest: Manifest } {
  let dir = opt('bundle');
  if (!dir) {
    const def = path.join(root, 'model-assets/bundles/DEFAULT');
    if (!existsSync(def)) throw new CliError('no --bundle and no model-assets/bundles/DEFAULT');
    dir = path.join(root, 'model-assets/bundles', readFileSync(def, 'utf8').trim());
  }
  const file = path.join(dir, 'manifest.json');
  if (!existsSync(file)) throw new CliError(`no manifest.json in ${dir}`);
  return { dir, manifest: parseManifest(JSON.parse(readFileSync(file, 'utf8'))) };
}

function loadBank(dir: string, manifest: Manifest): Bank {
  const candidates = [
    opt('bank'),
    path.join(root, 'model-assets/.cache/banks', manifest.version, 'default.json'),
    path.join(dir, 'bank.json'),
  ];
  const file = candidates.find((f): f is string => f !== undefined && existsSync(f));
  if (!file) {
    throw new CliError(
      `no quiz bank for bundle ${manifest.version}: build one with npm run onboard -- --build-bank --mmlu-pro (or pass --bank FILE)`,
    );
  }
  log(`bank ${path.relative(root, file) || file}`);
  return parseBank(JSON.parse(readFileSync(file, 'utf8')), file, manifest.identity_dim);
}

const answerSchema = z.union([
  z.object({
    id: z.union([z.string(), z.number()]).transform(String),
    outcome: z.union([z.number().min(0).max(1), z.boolean().transform((b) => (b ? 1 : 0))]),
  }),
  z.object({ id: z.union([z.string(), z.number()]).transform(String), answer: z.string() }),
]);
type Answer = z.infer<typeof answerSchema>;

function readAnswers(file: string): Answer[] {
  if (!existsSync(file)) throw new CliError(`answers file ${file} not found`);
  const text = readFileSync(file, 'utf8');
  let raw: unknown[];
  if (file.endsWith('.csv')) {
    const lines = text.split(/\r?\n/).filter((l) => l.trim());
    const head = lines
      .shift()
      ?.split(',')
      .map((s) => s.trim());
    if (!head || head[0] !== 'id' || head[1] !== 'outcome')
      throw new CliError(`${file}: header must be id,outcome`);
    raw = lines.map((l) => {
      const [id, outcome] = l.split(',').map((s) => s.trim());
      return { id, outcome: Number(outcome) };
    });
  } else if (file.endsWith('.jsonl')) {
    raw = text
      .split(/\r?\n/)
      .filter((l) => l.trim())
      .map((l, i) => {
        try {
          return JSON.parse(l) as unknown;
        } catch {
          throw new CliError(`${file}:${i + 1}: not valid JSON`);
        }
      });
  } else {
    const parsed = JSON.parse(text) as unknown;
    if (!Array.isArray(parsed))
      throw new CliError(`${file}: expected a JSON array of {id, outcome}`);
    raw = parsed;
  }
  return raw.map((r, i) => {
    const p = answerSchema.safeParse(r);
    if (!p.success)
      throw new CliError(
        `${file}: item ${i + 1} needs "id" and "outcome" in [0, 1] (or "answer" text)`,
      );
    return p.data;
  });
}

function sql(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

function wrangler(args: string[]): string {
  const r = spawnSync(path.join(root, 'node_modules/.bin/wrangler'), args, {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false' },
  });
  if (r.status !== 0)
    throw new CliError(`wrangler ${args.slice(0, 3).join(' ')} failed:\n${r.stderr || r.stdout}`);
  return r.stdout;
}

function storeLocal(
  modelName: string,
  modelId: string | undefined,
  version: string,
  post: Posterior,
  factor: number[][],
  n: number,
): string {
  let id = modelId;
  if (!id) {
    const out = JSON.parse(
      wrangler([
        'd1',
        'execute',
        'DB',
        '--local',
        '--json',
        '--command',
        `SELECT id, tenant_id FROM models WHERE name = ${sql(modelName)}`,
      ]),
    ) as Array<{ results: Array<{ id: string; tenant_id: string | null }> }>;
    const rows = out[0]?.results ?? [];
    if (rows.length === 0)
      throw new CliError(
        `no model named ${modelName} in local D1: register it first (POST /admin/models)`,
      );
    if (rows.length > 1)
      throw new CliError(
        `${rows.length} models are named ${modelName}; pass --model-id (${rows.map((r) => r.id).join(', ')})`,
      );
    id = rows[0]!.id;
  }
  wrangler([
    'd1',
    'execute',
    'DB',
    '--local',
    '--command',
    `INSERT INTO model_identities (model_id, bundle_version, vector, std, cov_factor, source, n_items) VALUES (${sql(id)}, ${sql(version)}, ` +
      `${sql(JSON.stringify(post.mean))}, ${sql(JSON.stringify(post.std))}, ${sql(JSON.stringify(factor))}, 'quiz', ${n}) ` +
      `ON CONFLICT (model_id, bundle_version) DO UPDATE SET vector = excluded.vector, std = excluded.std, cov_factor = excluded.cov_factor, ` +
      `source = excluded.source, n_items = excluded.n_items, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
  ]);
  return id;
}

function emit(text: string): void {
  const out = opt('out');
  if (out) {
    writeFileSync(out, text);
    log(`wrote ${out}`);
  } else {
    process.stdout.write(text);
  }
}

function quizCommand(n: number): void {
  const { dir, manifest } = loadBundle();
  const bank = loadBank(dir, manifest);
  const exclude = flag('gradable')
    ? bank.items.flatMap((it, i) => (it.prompt && it.reference ? [] : [i]))
    : [];
  const method = opt('method') ?? 'i-optimal';
  let rows: number[];
  if (method === 'random') {
    const seed = Number(opt('seed') ?? '0');
    const pool = bank.items.map((_, i) => i).filter((i) => !exclude.includes(i));
    let s = seed >>> 0;
    for (let i = 0; i < Math.min(n, pool.length); i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const j = i + (s % (pool.length - i));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    rows = pool.slice(0, n);
  } else if (method === 'd-optimal' || method === 'i-optimal') {
    rows = selectQuiz(bank.params, onboardingPrior(manifest, bank).prior, n, {
      exclude,
      criterion: method,
    }).rows;
  } else {
    throw new CliError('--method must be d-optimal, i-optimal or random');
  }
  emit(
    rows
      .map((r) => JSON.stringify({ id: bank.items[r]!.id, prompt: bank.items[r]!.prompt ?? null }))
      .join('\n') + '\n',
  );
  log(`${rows.length} items (${method}) from ${bank.params.count}`);
}

/** Rows and outcomes of an answers file against the bank (answer text graded by reference). */
function scoreAnswers(bank: Bank, answers: Answer[]): { rows: number[]; y: number[] } {
  const rows: number[] = [];
  const y: number[] = [];
  const seen = new Set<string>();
  for (const a of answers) {
    const row = bank.rowOf.get(a.id);
    if (row === undefined) throw new CliError(`item ${a.id} is not in the bank`);
    if (seen.has(a.id)) throw new CliError(`item ${a.id} is answered twice`);
    seen.add(a.id);
    if ('outcome' in a) {
      y.push(a.outcome);
    } else {
      const ref = bank.items[row]!.reference;
      if (!ref)
        throw new CliError(
          `item ${a.id} has no reference answer to grade "answer" against; give "outcome"`,
        );
      y.push(grade(a.answer, ref));
    }
    rows.push(row);
  }
  return { rows, y };
}

function nextCommand(): void {
  const { dir, manifest } = loadBundle();
  const bank = loadBank(dir, manifest);
  const file = opt('answers');
  const { rows, y } = file ? scoreAnswers(bank, readAnswers(file)) : { rows: [], y: [] };
  const method = opt('method') ?? 'i-optimal';
  if (method !== 'i-optimal' && method !== 'd-optimal')
    throw new CliError('--method must be i-optimal or d-optimal');
  const exclude = flag('gradable')
    ? bank.items.flatMap((it, i) => (it.prompt && it.reference ? [] : [i]))
    : [];
  const { row, posterior } = nextItem(bank.params, onboardingPrior(manifest, bank).prior, rows, y, {
    criterion: method,
    exclude,
  });
  const it = bank.items[row]!;
  emit(
    JSON.stringify({
      id: it.id,
      prompt: it.prompt ?? null,
      asked: rows.length,
      identity: posterior.mean,
      std: posterior.std,
      ability: bankAbility(bank.params, posterior.mean, posterior.cov),
    }) + '\n',
  );
}

function fitCommand(model: string, answersFile: string): void {
  const { dir, manifest } = loadBundle();
  const bank = loadBank(dir, manifest);
  const { rows, y } = scoreAnswers(bank, readAnswers(answersFile));
  if (rows.length === 0) throw new CliError('no answers');
  const { prior, source: priorSource } = onboardingPrior(manifest, bank);
  const post = laplacePosterior(pickItems(bank.params, rows), y, prior);
  const factor = covFactor(post.cov);
  const ability = bankAbility(bank.params, post.mean, post.cov);
  const result: Record<string, unknown> = {
    model,
    bundle_version: manifest.version,
    source: 'quiz',
    prior: priorSource,
    n_items: rows.length,
    correct: y.reduce((s, v) => s + v, 0),
    identity: post.mean,
    std: post.std,
    ability,
    cov_factor: factor,
    converged: post.converged,
  };
  if (flag('d1-local')) {
    result.model_id = storeLocal(
      model,
      opt('model-id'),
      manifest.version,
      post,
      factor,
      rows.length,
    );
    log(`stored in local D1 (model_identities, source quiz) for ${String(result.model_id)}`);
  }
  emit(JSON.stringify(result, null, 1) + '\n');
  log(
    `${model}: ${rows.length} items, ${String(result.correct)} correct, predicted bank accuracy ${ability.expected_accuracy.toFixed(3)} ` +
      `(overall ability known to +-${ability.logit_std.toFixed(2)} logits), mean posterior std ${(post.std.reduce((s, v) => s + v, 0) / post.std.length).toFixed(3)}`,
  );
}

function buildBankCommand(): void {
  const pass = process.argv.slice(2).filter((a) => a !== '--build-bank');
  const r = spawnSync('/usr/bin/python3', ['-m', 'trainer.onboard.bank', ...pass], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, PYTHONPATH: path.join(root, 'model-assets'), OMP_NUM_THREADS: '1' },
  });
  process.exit(r.status ?? 1);
}

function main(): void {
  if (flag('help') || flag('h')) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  if (flag('build-bank')) return buildBankCommand();
  if (flag('next')) return nextCommand();
  const quiz = opt('quiz');
  if (quiz !== undefined) {
    const n = Number(quiz);
    if (!Number.isInteger(n) || n < 1) throw new CliError('--quiz needs a positive integer');
    return quizCommand(n);
  }
  const model = opt('model');
  const answers = opt('answers');
  if (!model || !answers) throw new CliError(usage);
  fitCommand(model, answers);
}

try {
  main();
} catch (e) {
  process.stderr.write(`[onboard] error: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
}
