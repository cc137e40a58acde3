// The router a load test measures, served exactly as `npm start` serves it (scripts/start.mjs:
// wrangler dev --local, local D1/R2, the demo bundle, the loopback stand-in upstream), on free
// ports and with a state folder of its own, so a running `npm start` is not disturbed.
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { groupMembers } from './procs.mjs';

/**
 * A TCP port that was free on 127.0.0.1 a moment ago.
 *
 * @example
 * const port = await freePort(); // 41377
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Resolves when GET `url` answers 2xx, rejects after `ms` or as soon as `abort` rejects.
 *
 * @example
 * await waitForOk('http://127.0.0.1:8787/healthz', 120000);
 */
export async function waitForOk(url, ms, abort = new Promise(() => undefined)) {
  const until = Date.now() + ms;
  let failed = null;
  abort.catch((err) => {
    failed = err;
  });
  for (;;) {
    if (failed) throw failed;
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (r.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > until)
      throw new Error(`nothing answered ${url} within ${Math.round(ms / 1000)} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Starts `node scripts/start.mjs` (own process group) with PORT, STANDIN_PORT and STATE_DIR set.
 * Its `[start]` lines are passed to `log`; everything it prints goes to `<stateDir>/loadtest-server.log`.
 * Resolves once /healthz answers; `stop()` ends the whole group (start.mjs, the stand-in, wrangler
 * and its workerd processes).
 *
 * @example
 * const server = await startRouter({ root, stateDir, log: console.log });
 * // server.url, server.standinUrl, server.pid; later: await server.stop();
 */
export async function startRouter({ root, stateDir, log, readyMs = 300_000 }) {
  const port = await freePort();
  const standinPort = await freePort();
  mkdirSync(stateDir, { recursive: true });
  const logFile = path.join(stateDir, 'loadtest-server.log');
  const out = createWriteStream(logFile);
  const child = spawn(process.execPath, [path.join(root, 'scripts', 'start.mjs')], {
    cwd: root,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      PORT: String(port),
      STANDIN_PORT: String(standinPort),
      STATE_DIR: stateDir,
    },
  });
  let pending = '';
  child.stdout.on('data', (d) => {
    out.write(d);
    pending += d;
    const lines = pending.split('\n');
    pending = lines.pop();
    for (const l of lines) if (l.startsWith('[start]')) log(`  ${l}`);
  });
  child.stderr.on('data', (d) => out.write(d));
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 5000);
      await exited;
      clearTimeout(timer);
    }
    // wrangler's children may outlive start.mjs for a moment; the group is ours, end what is left
    // and wait until it is gone, so the ports and the state folder are free when this returns
    const until = Date.now() + 10_000;
    while (groupMembers(child.pid).length > 0 && Date.now() < until) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // nothing left
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    out.end();
  };
  const url = `http://127.0.0.1:${port}`;
  const died = exited.then(({ code, signal }) => {
    throw new Error(
      `the router exited (${signal ?? `code ${code}`}) before it answered; see ${logFile}`,
    );
  });
  try {
    await waitForOk(`${url}/healthz`, readyMs, died);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    standinUrl: `http://127.0.0.1:${standinPort}/v1`,
    port,
    pid: child.pid,
    logFile,
    stop,
  };
}
