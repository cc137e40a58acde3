// The database `npm run config` reads and writes: the local D1 of `npm start` (`--local`, the
// default: `wrangler d1 execute --local --persist-to <state>`) or the deployed one (`--remote`).
// State is read with one command (one result set per query); a plan is written as one SQL file,
// which wrangler runs as one batch locally and D1 runs as one transaction remotely, so a file is
// applied whole or not at all.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { wranglerRun } from '../loadtest/d1.mjs';

/**
 * A D1 target for the config tool.
 *
 * @example
 * const d1 = wranglerD1({ root, stateDir: '.wrangler/state' });          // local
 * const d1 = wranglerD1({ root, remote: true });                          // deployed
 * const rows = await d1.queryAll(['SELECT 1 AS one', 'SELECT 2 AS two']); // [[{ one: 1 }], [{ two: 2 }]]
 */
export function wranglerD1({ root, stateDir = null, remote = false, db = 'DB' }) {
  const where = remote ? ['--remote'] : ['--local', '--persist-to', stateDir];
  const base = ['d1', 'execute', db, ...where, '--json'];
  return {
    describe: remote ? `the remote D1 database ${db}` : `the local D1 database in ${stateDir}`,
    /** Result rows of each statement. */
    async queryAll(statements) {
      const out = JSON.parse(
        await wranglerRun(root, [...base, '--command', statements.join('; ')]),
      );
      return out.map((r) => r.results ?? []);
    },
    /** Runs the statements as one file: one batch (one transaction). */
    async run(statements) {
      const dir = mkdtempSync(path.join(tmpdir(), 'router-config-'));
      const file = path.join(dir, 'apply.sql');
      try {
        writeFileSync(file, `${statements.join('\n')}\n`);
        await wranglerRun(root, [...base, '--file', file]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
