// `npm test`: installs what is missing, then runs every suite. Each suite is one step; all run even
// if one fails, and the summary line says which failed.
import { spawnSync } from 'node:child_process';
import { dataRoot, ensureNpm, ensurePython, root, python } from './setup.mjs';

ensureNpm();
ensurePython();

// Every suite reads the shared data from the same folder (pipeline and script tests read it).
const env = {
  ...process.env,
  OMP_NUM_THREADS: '1',
  PYTHONDONTWRITEBYTECODE: '1',
  ROUTER_DATA: dataRoot(),
};
console.log(`[test] shared data: ${env.ROUTER_DATA}`);
const steps = [
  { name: 'pipeline (pytest)', cmd: python, args: ['-m', 'pytest', '-q', 'test/model-assets'] },
  { name: 'typecheck (tsc)', cmd: 'npx', args: ['tsc', '--noEmit', '-p', 'tsconfig.json'] },
  // Style: ESLint's and typescript-eslint's recommended rules, then Prettier's formatting (printWidth
  // 100); the file lists are package.json's `lint:eslint` and `lint:format`.
  { name: 'lint (eslint)', cmd: 'npm', args: ['run', '--silent', 'lint:eslint'] },
  { name: 'format (prettier --check)', cmd: 'npm', args: ['run', '--silent', 'lint:format'] },
  // Python style (setup.cfg: flake8 at 120 columns, isort's import order); the docstring examples
  // run as doctests inside the pytest step (test/model-assets/test_doctests.py).
  { name: 'lint python (flake8, isort)', cmd: 'npm', args: ['run', '--silent', 'lint:python'] },
  { name: 'worker (vitest in workerd)', cmd: 'npx', args: ['vitest', 'run'] },
  { name: 'scripts (node --test)', cmd: process.execPath, args: ['--test', 'test/scripts/'] },
];

const results = [];
for (const step of steps) {
  console.log(`\n=== ${step.name} ===`);
  const t0 = Date.now();
  const r = spawnSync(step.cmd, step.args, { cwd: root, stdio: 'inherit', env });
  results.push({ name: step.name, ok: r.status === 0, s: ((Date.now() - t0) / 1000).toFixed(1) });
}
console.log('\n=== summary ===');
for (const r of results) console.log(`${r.ok ? 'PASS' : 'FAIL'}  ${r.name}  (${r.s}s)`);
const failed = results.filter((r) => !r.ok).length;
console.log(`suites: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
