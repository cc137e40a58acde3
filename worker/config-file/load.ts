/**
 * Reading a config file: YAML (or JSON, which the YAML parser reads too) -> `${VAR}` placeholders
 * filled from the environment -> the zod schema. Every problem is reported with its path in the
 * document (`tenants[0].models[2].input_usd_per_mtok`) and the line and column it is on, all of them
 * at once, so a broken file is fixed in one go and nothing is applied from it.
 */
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { configSchema, type Config } from './schema';
import { interpolate } from './interpolate';

/** A path into the document: keys and list indices. */
export type DocPath = ReadonlyArray<string | number>;

/** One problem, where it is, and what is wrong. */
export interface ConfigError {
  /** `tenants[0].models[2].name`, or '' for the document itself. */
  path: string;
  /** 1-based line and column; null when the document has no such place (e.g. a missing key's parent is). */
  line: number | null;
  column: number | null;
  message: string;
}

/** A parsed, valid config and a way to name places in its file. */
export interface LoadedConfig {
  config: Config;
  /** The error for `path` with the line it is on (for checks made after loading). */
  at: (path: DocPath, message: string) => ConfigError;
}

export type LoadResult = { ok: true; loaded: LoadedConfig } | { ok: false; errors: ConfigError[] };

/**
 * `tenants[0].models[2].name` for `['tenants', 0, 'models', 2, 'name']`.
 *
 * @example
 * formatPath(['tenants', 0, 'id']); // 'tenants[0].id'
 */
export function formatPath(path: DocPath): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** The offset of the deepest node of `path` the document has (a map key's own position). */
function offsetOf(doc: Document, path: DocPath): number | null {
  let node: unknown = doc.contents;
  let offset: number | null = (doc.contents as { range?: [number] } | null)?.range?.[0] ?? null;
  for (const step of path) {
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => (p.key as { value?: unknown } | null)?.value === step || p.key === step,
      );
      if (!pair) break;
      offset = (pair.key as { range?: [number] } | null)?.range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof step === 'number' && node.items[step]) {
      node = node.items[step];
      offset = (node as { range?: [number] }).range?.[0] ?? offset;
    } else break;
  }
  return offset;
}

function locator(doc: Document, lines: LineCounter) {
  return (path: DocPath, message: string): ConfigError => {
    const offset = offsetOf(doc, path);
    const pos = offset === null ? null : lines.linePos(offset);
    return { path: formatPath(path), line: pos?.line ?? null, column: pos?.col ?? null, message };
  };
}

/**
 * Parses and validates a config file's text. `env` fills `${NAME}` and `${NAME:-default}` in string
 * values (an unset name without a default is an error).
 *
 * @example
 * const r = loadConfig(readFileSync('router.config.yaml', 'utf8'), process.env);
 * if (!r.ok) for (const e of r.errors) console.error(`${file}:${e.line}:${e.column} ${e.path}: ${e.message}`);
 */
export function loadConfig(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
): LoadResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { path: '', line: pos.line, column: pos.col, message: e.message.split('\n')[0]! };
      }),
    };
  }
  const at = locator(doc, lines);
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { ok: false, errors: [at([], e instanceof Error ? e.message : String(e))] };
  }
  const filled = interpolate(raw, env);
  if (filled.errors.length > 0)
    return { ok: false, errors: filled.errors.map((e) => at(e.path, e.message)) };
  const parsed = configSchema.safeParse(filled.value);
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.map((issue) => {
        const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
        const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
        return at(keys.length === 1 ? [...path, keys[0]!] : path, issue.message);
      }),
    };
  }
  return { ok: true, loaded: { config: parsed.data, at } };
}
