// `npm run config`: the router's tenants, grants, models, pools and experiments as code, in one file
// (router.config.yaml or .json; JSON Schema router.config.schema.json). docs/config.md.
//
//   npm run config -- plan  [--local | --remote] [--file F]   # the changes the file would make
//   npm run config -- apply [--local | --remote] [--file F]   # make them, in one transaction
//   npm run config -- schema [--out F]                        # (re)write router.config.schema.json
//
// --local (default): npm start's local D1 (--persist-to, default .wrangler/state or $STATE_DIR);
// --remote: the deployed D1 of wrangler.toml (wrangler login first). --db NAME: the D1 binding (DB).
// `${NAME}` and `${NAME:-default}` in string values come from the environment. Exit status: 0 done
// (or no changes), 1 the file has problems (each printed as file:line:column path: message) or D1
// failed; nothing is applied unless the whole file is valid.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { configCore } from './config/core.mjs';
import { wranglerD1 } from './config/d1.mjs';
import { applyConfig, planConfig } from './config/run.mjs';
import { root } from './setup.mjs';

const usage = `usage: npm run config -- plan|apply [--local | --remote] [--file F] [--persist-to DIR] [--db NAME]
       npm run config -- schema [--out F]`;

/** The file to read: --file, else router.config.yaml, .yml or .json in the current folder. */
function configFile(given) {
  if (given) return given;
  const found = ['router.config.yaml', 'router.config.yml', 'router.config.json'].find((f) =>
    existsSync(f),
  );
  if (!found) throw new Error('no router.config.yaml (or .json) here; pass --file F');
  return found;
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      local: { type: 'boolean', default: false },
      remote: { type: 'boolean', default: false },
      file: { type: 'string' },
      out: { type: 'string' },
      'persist-to': { type: 'string' },
      db: { type: 'string', default: 'DB' },
    },
  });
  const [command] = positionals;
  if (command === 'schema') {
    const out = values.out ?? path.join(root, 'router.config.schema.json');
    const { configJsonSchema } = await configCore();
    writeFileSync(out, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
    console.log(`wrote ${path.relative(process.cwd(), out) || out}`);
    return 0;
  }
  if ((command !== 'plan' && command !== 'apply') || positionals.length !== 1) {
    console.error(usage);
    return 1;
  }
  if (values.local && values.remote) throw new Error('--local or --remote, not both');
  const file = configFile(values.file);
  const text = readFileSync(file, 'utf8');
  const stateDir = path.resolve(
    values['persist-to'] ?? process.env.STATE_DIR ?? path.join(root, '.wrangler', 'state'),
  );
  const d1 = wranglerD1({ root, stateDir, remote: values.remote, db: values.db });
  const run = command === 'plan' ? planConfig : applyConfig;
  const r = await run({ text, file, env: process.env, d1, log: (line) => console.log(line) });
  if (!r.ok) {
    for (const e of r.errors) console.error(e);
    console.error(`${r.errors.length} problem(s) in ${file}; nothing was applied.`);
    return 1;
  }
  if (command === 'plan') console.log(r.summary);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`config: ${e.message}`);
    process.exit(1);
  },
);
