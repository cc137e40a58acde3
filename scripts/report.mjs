// `npm run report -- ...`: which report to print. Each kind lives in scripts/report/<kind>.mjs.
//   npm run report -- --experiment ID [--png FILE] [--json]   an experiment (docs/experiments.md)
//   npm run report -- --pool NAME ...                         a pool (management API)
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const KINDS = { '--experiment': 'experiment', '--pool': 'pool' };

const argv = process.argv.slice(2);
const flag = Object.keys(KINDS).find((k) => argv.includes(k));
const file = flag && path.join(here, 'report', `${KINDS[flag]}.mjs`);
if (!flag || !existsSync(file)) {
  console.error(
    `usage: npm run report -- --experiment ID [--png FILE] [--json]${flag ? `\n(${flag} is not available in this checkout)` : ''}`,
  );
  process.exit(2);
}
try {
  const { main } = await import(file);
  await main(argv);
} catch (e) {
  console.error(`report: ${e.message}`);
  process.exit(1);
}
