// Installs what `npm start` and `npm test` need on a fresh Debian machine: npm packages and the
// Debian packages the Python training pipeline uses (there is no PyPI here; see README).
import { execSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const python = '/usr/bin/python3';

const debianPackages = [
  'python3-torch',
  'python3-onnx',
  'python3-numpy',
  'python3-sklearn',
  'python3-scipy',
  'python3-pytest',
  'python3-matplotlib',
  'python3-flake8',
  'python3-isort',
  'libopenblas0-pthread',
];
const pythonModules = [
  'torch',
  'onnx',
  'numpy',
  'sklearn',
  'scipy',
  'pytest',
  'matplotlib',
  'flake8',
  'isort',
];

function log(msg) {
  console.log(`[setup] ${msg}`);
}

/**
 * The shared data folder: `ROUTER_DATA` if set, else `../shared/data` beside the project. A clone
 * made elsewhere from a local checkout (`git clone . /tmp/x`, as CI does) has no `../shared`; it
 * then reads the data beside the checkout it was cloned from (its `origin`), if that has it.
 * Twin of `data_root()` in model-assets/trainer/paths.py (the pipeline's own commands).
 *
 * @example
 * const env = { ...process.env, ROUTER_DATA: dataRoot() };
 */
export function dataRoot() {
  if (process.env.ROUTER_DATA) return process.env.ROUTER_DATA;
  const beside = path.join(root, '..', 'shared', 'data');
  if (existsSync(beside)) return beside;
  const r = spawnSync('git', ['-C', root, 'config', '--get', 'remote.origin.url'], {
    encoding: 'utf8',
  });
  const origin = `${r.stdout ?? ''}`.trim().replace(/^file:\/\//, '');
  const there =
    origin && path.isAbsolute(origin) ? path.join(origin, '..', 'shared', 'data') : null;
  return there && existsSync(there) ? there : beside;
}

/** Runs `npm ci` when node_modules is missing or older than package-lock.json. */
export function ensureNpm() {
  const lock = path.join(root, 'package-lock.json');
  const stamp = path.join(root, 'node_modules', '.setup-stamp');
  const want = createHash('sha256').update(readFileSync(lock)).digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want) return;
  log('installing npm packages (npm ci)...');
  // onnxruntime-node's postinstall would download CUDA parts; the CPU binding ships in the package.
  execSync('npm ci --no-audit --no-fund', {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
  });
  mkdirSync(path.dirname(stamp), { recursive: true });
  writeFileSync(stamp, want);
}

/** Installs `packages` with apt-get when /usr/bin/python3 cannot import every one of `modules`. */
function ensureDebian(modules, packages) {
  const probe = spawnSync(python, ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore' });
  if (probe.status === 0) return;
  log(`installing Debian packages: ${packages.join(' ')}`);
  if (process.getuid && process.getuid() !== 0) {
    throw new Error(
      `missing Python modules; run as root or: sudo apt-get install -y ${packages.join(' ')}`,
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execSync('apt-get update -qq', { stdio: 'inherit', env });
  execSync(`apt-get install -y -qq ${packages.join(' ')}`, { stdio: 'inherit', env });
}

/** Installs Debian's PyTorch/ONNX/numpy stack with apt-get when /usr/bin/python3 lacks it. */
export function ensurePython() {
  ensureDebian(pythonModules, debianPackages);
}

/** numpy only: all that building a quiz bank needs (`npm start`). */
export function ensureNumpy() {
  ensureDebian(['numpy'], ['python3-numpy']);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  ensureNpm();
  ensurePython();
  log('ready');
}
