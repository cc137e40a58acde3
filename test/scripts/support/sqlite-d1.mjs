// A D1 target for the config tool (the interface of scripts/config/d1.mjs) over a plain SQLite file,
// through /usr/bin/python3's sqlite3 (D1 is SQLite; foreign keys on, as in D1). `run` executes its
// statements in one transaction and rolls all of them back when one fails, as a D1 batch does.
// For node tests: the same plans and SQL text as `npm run config`, without starting Miniflare.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const PY = `
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute('PRAGMA foreign_keys = ON')
mode, statements = sys.argv[2], json.loads(sys.stdin.read())
if mode == 'script':
    for s in statements: db.executescript(s)
elif mode == 'query':
    out = []
    for s in statements:
        cur = db.execute(s)
        names = [d[0] for d in cur.description or []]
        out.append([dict(zip(names, row)) for row in cur.fetchall()])
    print(json.dumps(out))
else:
    db.execute('BEGIN')
    try:
        for s in statements: db.execute(s)
        db.execute('COMMIT')
    except Exception as e:
        db.execute('ROLLBACK')
        sys.exit(f'{type(e).__name__}: {e}')
`;

function python(file, mode, statements) {
  const r = spawnSync('/usr/bin/python3', ['-c', PY, file, mode], {
    input: JSON.stringify(statements),
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(r.stderr.trim());
  return r.stdout;
}

/**
 * A SQLite file with every migration applied, as a config target.
 *
 * @example
 * const d1 = sqliteD1(path.join(dir, 'd1.sqlite'));
 * await applyConfig({ text, file, env: {}, d1 });
 */
export function sqliteD1(file) {
  const migrations = readdirSync(path.join(root, 'migrations'))
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => readFileSync(path.join(root, 'migrations', f), 'utf8'));
  python(file, 'script', migrations);
  return {
    describe: `the SQLite file ${path.basename(file)}`,
    file,
    async queryAll(statements) {
      return JSON.parse(python(file, 'query', statements));
    },
    async run(statements) {
      python(file, 'run', statements);
    },
    /** Rows of one query (for assertions), as arrays. */
    rows(sql) {
      const [rows] = JSON.parse(python(file, 'query', [sql]));
      return rows.map((r) => Object.values(r));
    },
  };
}
