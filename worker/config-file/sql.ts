/**
 * A plan's statements as SQL text with the values written in as literals, for `wrangler d1 execute
 * --file` (which takes no bound parameters). Only placeholders of the plan's own fixed statements
 * are replaced, and every value is written as a number, NULL or a quoted string, so no value from
 * a config file can become SQL.
 */
import type { SqlValue, Statement } from './plan';

/**
 * A value as an SQL literal: a finite number, NULL, or a string in single quotes (quotes doubled).
 *
 * @example
 * sqlLiteral("it's"); // "'it''s'"
 */
export function sqlLiteral(value: SqlValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
    return String(value);
  }
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * One statement with its parameters written in, ending with `;`.
 *
 * @example
 * statementSql({ sql: 'DELETE FROM pools WHERE id = ?1', params: ['p1'] }); // "DELETE FROM pools WHERE id = 'p1';"
 */
export function statementSql(s: Statement): string {
  // whitespace is folded before the values go in: a value's own spaces and newlines are data
  const sql = s.sql
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\?(\d+)/g, (_, n: string) => {
      const i = Number(n) - 1;
      if (i < 0 || i >= s.params.length)
        throw new Error(`statement has no parameter ?${n}: ${s.sql}`);
      return sqlLiteral(s.params[i]!);
    });
  return `${sql};`;
}
