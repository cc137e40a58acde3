/**
 * `${NAME}` and `${NAME:-default}` in the string values of a config file, filled from the
 * environment, so one file serves several deployments (a port, a bundle version, a price). Only
 * string values are filled, after parsing, so a value can never add structure to the document; a
 * value that is one placeholder and nothing else reads as a number, `true`, `false` or `null` when
 * its text is one (`rpm_limit: ${RPM:-600}` is the number 600). `$${` stands for a literal `${`.
 * Secrets never go through here: the file names them only.
 */
import type { DocPath } from './load';

const PLACEHOLDER = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const WHOLE = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;
const NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/** What the text of a value that was one placeholder reads as (JSON's scalars, else the text). */
function scalar(text: string): unknown {
  if (NUMBER.test(text)) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  return text === 'null' ? null : text;
}

/**
 * The value with every placeholder filled, and one error per unset name without a default.
 *
 * @example
 * interpolate({ url: 'http://127.0.0.1:${PORT:-8788}/v1' }, {}).value; // { url: 'http://127.0.0.1:8788/v1' }
 */
export function interpolate(
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
  path: DocPath = [],
): { value: unknown; errors: Array<{ path: DocPath; message: string }> } {
  const errors: Array<{ path: DocPath; message: string }> = [];
  const walk = (v: unknown, at: DocPath): unknown => {
    if (typeof v === 'string') {
      const before = errors.length;
      const filled = v.replace(PLACEHOLDER, (whole, name?: string, fallback?: string) => {
        if (whole === '$${') return '${';
        const set = env[name!];
        if (set !== undefined && set !== '') return set;
        if (fallback !== undefined) return fallback;
        errors.push({ path: at, message: `\${${name}} is not set and has no default` });
        return whole;
      });
      return WHOLE.test(v) && errors.length === before ? scalar(filled) : filled;
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, [...at, i]));
    if (v !== null && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item, [...at, k])]));
    return v;
  };
  return { value: walk(value, path), errors };
}
