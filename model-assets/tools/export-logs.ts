/**
 * `npm run export-logs`: the router's own traffic as a bring-your-own-data folder, so that
 * `npm run build:bundle -- --byod DIR` trains on it (format: model-assets/README.md, "Bring your
 * own data"; loader: model-assets/trainer/data/byod.py).
 *
 *   npm run export-logs -- --out DIR [--local | --remote] [--tenant T] [--pool P] [--since WHEN]
 *                          [--persist-to DIR]
 *
 * One outcome per (prompt, answering model): the feedback scores (`feedback.score`, in [0, 1]) of
 * the decisions that model answered, averaged over decisions with the same prompt text; its token
 * counts are the upstream's reported usage. A prompt is the text the router embeds (the last user
 * message of the kept messages, as worker/embedding/prompt-text.ts picks it), kept only by pools
 * with `keep_prompts = 1`: a decision with feedback but no kept prompt is skipped and counted.
 * Prices are the answering model's row (the tenant's own row of that name, else the global one).
 * D1 is read with `wrangler d1 execute DB --json` (local by default, `--persist-to` as for
 * `npm start`; `--remote` the deployed database). `--since`: an ISO date or time, or `7d` / `12h`.
 * The folder is written beside its place and renamed into it, so a reader never sees half of it.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { embeddingText } from '../../worker/embedding/prompt-text';

const root = path.resolve(import.meta.dirname, '../..');
const PAGE = 500;
const usage = `usage: npm run export-logs -- --out DIR (--tenant T | --all-tenants) [--local | --remote] [--pool P]
                                     [--since 2026-12-01 | 7d] [--persist-to DIR (local D1 state, default .wrangler/state)]`;

class CliError extends Error {}

interface Options {
  out: string;
  remote: boolean;
  tenant?: string;
  pool?: string;
  since?: string;
  persistTo: string;
}

/** `--since`: an ISO date or time as given, or `Nd` / `Nh` before now, as the log's ISO text. */
function sinceOf(raw: string | undefined, now = Date.now()): string | undefined {
  if (raw === undefined) return undefined;
  const rel = /^(\d+)([dh])$/.exec(raw);
  if (rel)
    return new Date(now - Number(rel[1]) * (rel[2] === 'd' ? 86_400_000 : 3_600_000)).toISOString();
  const t = Date.parse(raw);
  if (Number.isNaN(t)) throw new CliError(`--since ${raw}: not an ISO date or time, nor 7d / 12h`);
  return new Date(t).toISOString();
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' },
      local: { type: 'boolean' },
      remote: { type: 'boolean' },
      tenant: { type: 'string' },
      'all-tenants': { type: 'boolean' },
      pool: { type: 'string' },
      since: { type: 'string' },
      'persist-to': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  if (!values.out) throw new CliError(`--out DIR is required\n${usage}`);
  if (values.local && values.remote) throw new CliError('--local and --remote exclude each other');
  checkOut(path.resolve(values.out));
  // A bundle trained on the folder routes whoever uses it: mixing tenants' traffic is a choice
  // the operator makes by name, never a default.
  if (!values.tenant === !values['all-tenants'])
    throw new CliError(`give exactly one of --tenant T and --all-tenants\n${usage}`);
  return {
    out: path.resolve(values.out),
    remote: values.remote === true,
    ...(values.tenant ? { tenant: values.tenant } : {}),
    ...(values.pool ? { pool: values.pool } : {}),
    ...(values.since ? { since: sinceOf(values.since) } : {}),
    persistTo: path.resolve(
      root,
      values['persist-to'] ?? process.env.STATE_DIR ?? path.join('.wrangler', 'state'),
    ),
  };
}

/** What an export writes: an `--out` folder holding only these (an earlier export) is replaced. */
const EXPORT_FILES = new Set(['prompts.jsonl', 'outcomes.csv', 'prices.csv']);

/**
 * Refuses an `--out` that is a file, or a folder holding anything but an earlier export's files:
 * the export replaces the folder whole, and must never delete what someone else put there.
 */
function checkOut(out: string): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new CliError(`--out ${out} is a file, not a folder`);
  const foreign = readdirSync(out).filter((f) => !EXPORT_FILES.has(f));
  if (foreign.length > 0)
    throw new CliError(
      `--out ${out} holds files that are not an export's (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', ...' : ''}); ` +
        'name a new or empty folder, or an earlier export',
    );
}

/** A SQL string literal. */
function sql(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** Runs one query through wrangler; returns its rows. */
function query<T>(opts: Options, text: string): T[] {
  const where = opts.remote ? ['--remote'] : ['--local', '--persist-to', opts.persistTo];
  const r = spawnSync(
    path.join(root, 'node_modules/.bin/wrangler'),
    ['d1', 'execute', 'DB', ...where, '--json', '--command', text],
    {
      cwd: root,
      encoding: 'utf8',
      // prompts can be long: a page of them must fit
      maxBuffer: 1 << 30,
      env: { ...process.env, CI: 'true', WRANGLER_SEND_METRICS: 'false' },
    },
  );
  if (r.status !== 0)
    throw new CliError(`wrangler d1 execute failed:\n${(r.stderr || r.stdout || '').slice(-2000)}`);
  const out = JSON.parse(r.stdout) as Array<{ results?: T[] }>;
  return out[0]?.results ?? [];
}

/** The filters every query shares (decision_log as `d`). */
function filters(opts: Options): string {
  const parts = ["d.status <> 'route_only'"];
  if (opts.tenant) parts.push(`d.tenant_id = ${sql(opts.tenant)}`);
  if (opts.pool) parts.push(`d.pool = ${sql(opts.pool)}`);
  if (opts.since) parts.push(`d.created_at >= ${sql(opts.since)}`);
  return parts.join(' AND ');
}

const JOIN = 'LEFT JOIN feedback f ON f.tenant_id = d.tenant_id AND f.decision_id = d.id';

interface Counts {
  decisions: number;
  with_feedback: number;
  with_prompt: number;
}

interface Row {
  id: string;
  tenant_id: string;
  created_at: string;
  model: string;
  score: number;
  prompt: string;
  prompt_tokens: number | null;
  completion_tokens: number | null;
}

interface PriceRow {
  tenant_id: string | null;
  name: string;
  input_usd_per_mtok: number;
  output_usd_per_mtok: number;
}

/** The decisions with feedback and a kept prompt, page by page (by time, then id). */
function* pages(opts: Options): Generator<Row[]> {
  let after = { created: '', id: '' };
  for (;;) {
    const rows = query<Row>(
      opts,
      `SELECT d.id, d.tenant_id, d.created_at, f.model, f.score, d.prompt, d.prompt_tokens, d.completion_tokens
         FROM decision_log d JOIN feedback f ON f.tenant_id = d.tenant_id AND f.decision_id = d.id
        WHERE ${filters(opts)} AND d.prompt IS NOT NULL
          AND (d.created_at > ${sql(after.created)} OR (d.created_at = ${sql(after.created)} AND d.id > ${sql(after.id)}))
        ORDER BY d.created_at, d.id LIMIT ${PAGE}`,
    );
    if (rows.length > 0) yield rows;
    if (rows.length < PAGE) return; // a short page is the last one
    const last = rows[rows.length - 1]!;
    after = { created: last.created_at, id: last.id };
  }
}

const messagesSchema = z.array(
  z.object({
    role: z.string(),
    content: z.union([
      z.string(),
      z.array(z.object({ type: z.string(), text: z.string().optional() }).loose()),
      z.null(),
    ]),
  }),
);

/**
 * The text the router embeds for kept messages (their last user message), or null when the JSON
 * is not a list of chat messages or holds no text.
 *
 * @example
 * promptText('[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]'); // 'Hi'
 */
function promptText(kept: string): string | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(kept);
  } catch {
    return null;
  }
  const messages = messagesSchema.safeParse(parsed);
  if (!messages.success) return null;
  const text = embeddingText(messages.data, 'last-user-message');
  return text.trim() === '' ? null : text;
}

/** One (prompt, model) outcome being gathered: sums over its decisions. */
interface Cell {
  scores: number[];
  promptTokens: number[];
  completionTokens: number[];
}

/** What the export gathered, and what it left out (counts of decisions). */
interface Gathered {
  prompts: Map<string, string>;
  cells: Map<string, Map<string, Cell>>;
  prices: Map<string, [number, number]>;
  skipped: { unreadablePrompt: number; noPrice: number };
}

/** Prices by model name for the rows' tenants: the tenant's own row first, else the global one. */
function priceOf(
  rows: readonly PriceRow[],
): (tenant: string, model: string) => [number, number] | null {
  const own = new Map<string, [number, number]>();
  for (const r of rows) {
    const key = `${r.tenant_id ?? ''}\u0000${r.name}`;
    own.set(key, [r.input_usd_per_mtok, r.output_usd_per_mtok]);
  }
  return (tenant, model) => own.get(`${tenant}\u0000${model}`) ?? own.get(`\u0000${model}`) ?? null;
}

/** Adds one page of decisions to what was gathered. */
function gather(into: Gathered, rows: readonly Row[], price: ReturnType<typeof priceOf>): void {
  for (const r of rows) {
    const text = promptText(r.prompt);
    if (text === null) {
      into.skipped.unreadablePrompt++;
      continue;
    }
    const p = price(r.tenant_id, r.model);
    if (!p) {
      into.skipped.noPrice++;
      continue;
    }
    const known = into.prices.get(r.model);
    if (known && (known[0] !== p[0] || known[1] !== p[1]))
      throw new CliError(
        `model ${r.model} has different prices for different tenants; export one tenant at a time (--tenant)`,
      );
    into.prices.set(r.model, p);
    const id = `p-${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
    into.prompts.set(id, text);
    const row = into.cells.get(id) ?? new Map<string, Cell>();
    const cell = row.get(r.model) ?? { scores: [], promptTokens: [], completionTokens: [] };
    cell.scores.push(r.score);
    if (r.prompt_tokens !== null) cell.promptTokens.push(r.prompt_tokens);
    if (r.completion_tokens !== null) cell.completionTokens.push(r.completion_tokens);
    row.set(r.model, cell);
    into.cells.set(id, row);
  }
}

const mean = (xs: readonly number[]): string =>
  xs.length === 0 ? '' : String(xs.reduce((a, b) => a + b, 0) / xs.length);

/** A CSV field, quoted when it must be. */
function csv(field: string): string {
  return /[",\r\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
}

/** The trainer's split of a prompt id (trainer/data/byod.py `hash_split`): test when sha256 mod 5 is 0. */
function splitOf(id: string): 'train' | 'test' {
  const h = createHash('sha256').update(id).digest('hex').slice(0, 12);
  return BigInt(`0x${h}`) % 5n === 0n ? 'test' : 'train';
}

/** Writes the three files into a folder beside `out`, then renames it into place. */
function writeFolder(g: Gathered, out: string): { outcomes: number } {
  mkdirSync(path.dirname(out), { recursive: true });
  const tmp = mkdtempSync(path.join(path.dirname(out), `.${path.basename(out)}.partial-`));
  try {
    const prompts = [...g.prompts].map(([id, prompt]) => JSON.stringify({ id, prompt })).join('\n');
    writeFileSync(path.join(tmp, 'prompts.jsonl'), `${prompts}\n`);
    const lines = ['prompt_id,model,outcome,input_tokens,output_tokens'];
    for (const [id, row] of g.cells)
      for (const [model, c] of row)
        lines.push(
          [id, csv(model), mean(c.scores), mean(c.promptTokens), mean(c.completionTokens)].join(
            ',',
          ),
        );
    writeFileSync(path.join(tmp, 'outcomes.csv'), `${lines.join('\n')}\n`);
    const prices = ['model,input_usd_per_mtok,output_usd_per_mtok'];
    for (const [model, [i, o]] of g.prices) prices.push(`${csv(model)},${i},${o}`);
    writeFileSync(path.join(tmp, 'prices.csv'), `${prices.join('\n')}\n`);
    checkOut(out); // again: the folder may have changed while the log was read
    if (existsSync(out)) rmSync(out, { recursive: true });
    renameSync(tmp, out);
    return { outcomes: lines.length - 1 };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function main(argv: string[]): void {
  const opts = options(argv);
  const where = opts.remote ? 'remote D1' : `local D1 at ${opts.persistTo}`;
  const scope = [
    `tenant ${opts.tenant ?? 'all'}`,
    `pool ${opts.pool ?? 'all'}`,
    `since ${opts.since ?? 'the start'}`,
  ];
  console.log(`[export] reading ${where} (${scope.join(', ')})`);
  const [counts] = query<Counts>(
    opts,
    `SELECT count(*) AS decisions, count(f.score) AS with_feedback,
            count(CASE WHEN f.score IS NOT NULL AND d.prompt IS NOT NULL THEN 1 END) AS with_prompt
       FROM decision_log d ${JOIN} WHERE ${filters(opts)}`,
  );
  const c = counts ?? { decisions: 0, with_feedback: 0, with_prompt: 0 };
  console.log(
    `[export] ${c.decisions} decisions, ${c.with_feedback} with feedback, ${c.with_prompt} of those with a kept prompt`,
  );
  const tenantFilter = opts.tenant
    ? `WHERE tenant_id = ${sql(opts.tenant)} OR tenant_id IS NULL`
    : '';
  const price = priceOf(
    query<PriceRow>(
      opts,
      `SELECT tenant_id, name, input_usd_per_mtok, output_usd_per_mtok FROM models ${tenantFilter}`,
    ),
  );
  const g: Gathered = {
    prompts: new Map(),
    cells: new Map(),
    prices: new Map(),
    skipped: { unreadablePrompt: 0, noPrice: 0 },
  };
  let read = 0;
  for (const page of pages(opts)) {
    gather(g, page, price);
    read += page.length;
    console.log(`[export] ${read}/${c.with_prompt} decisions read`);
  }
  const skipped = {
    noFeedback: c.decisions - c.with_feedback,
    noPrompt: c.with_feedback - c.with_prompt,
    ...g.skipped,
  };
  if (g.cells.size === 0)
    throw new CliError(
      `nothing to export: no decision with feedback and a kept prompt (${skipped.noPrompt} with feedback but ` +
        'no prompt: set keep_prompts = 1 on the pool to keep prompt text)',
    );
  const { outcomes } = writeFolder(g, opts.out);
  const ids = [...g.prompts.keys()];
  const test = ids.filter((id) => splitOf(id) === 'test').length;
  console.log(`[export] wrote ${opts.out}`);
  console.log(
    `summary: ${read - g.skipped.unreadablePrompt - g.skipped.noPrice} decisions exported as ${outcomes} outcomes ` +
      `over ${g.prompts.size} prompts (${ids.length - test} train, ${test} test) and ${g.prices.size} models`,
  );
  console.log(
    `skipped: ${skipped.noFeedback} without feedback, ${skipped.noPrompt} with feedback but no kept prompt, ` +
      `${skipped.unreadablePrompt} with an unreadable prompt, ${skipped.noPrice} whose model has no price row`,
  );
  if (g.prices.size < 2 || ids.length - test < 20 || test < 5)
    console.log(
      'note: build:bundle --byod needs at least 2 models, 20 train and 5 test prompts; this folder has fewer',
    );
  console.log(`next: npm run build:bundle -- --byod ${opts.out} --version v-<name>`);
}

try {
  main(process.argv.slice(2));
} catch (e) {
  if (!(e instanceof CliError)) throw e;
  console.error(`export-logs: ${e.message}`);
  process.exit(1);
}
