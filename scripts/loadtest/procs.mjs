// Finds the workerd process that runs the router behind a `wrangler dev` port, and reads its memory,
// from /proc (Linux). `wrangler dev` (4.x) starts two workerd processes: a proxy that listens on the
// public port and forwards every request, and the runtime that executes the worker (D1, R2, ONNX);
// the runtime is the one whose memory a load test watches, the proxy is reported beside it.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Text of a /proc file, or null when the process is gone or unreadable. */
function procText(pid, file) {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return null;
  }
}

/** Numeric ids of every process /proc lists. */
function allPids() {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

/**
 * The parent process id, from /proc/<pid>/stat (field 4; the command name in field 2 may contain
 * spaces and parentheses, so the fields are counted from its closing parenthesis).
 *
 * @example
 * parentPid(process.pid); // the shell's pid
 */
export function parentPid(pid) {
  const stat = procText(pid, 'stat');
  if (stat === null) return null;
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[1]);
}

/**
 * Live (not zombie) processes of process group `pgid`, from /proc/<pid>/stat (state is field 3,
 * the group field 5).
 *
 * @example
 * groupMembers(server.pid); // [] once the server and its children have exited
 */
export function groupMembers(pgid) {
  return allPids().filter((pid) => {
    const stat = procText(pid, 'stat');
    if (stat === null) return false;
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[0] !== 'Z' && Number(rest[2]) === pgid;
  });
}

/** The executable's base name (`comm`), or null. */
function commOf(pid) {
  return procText(pid, 'comm')?.trim() ?? null;
}

/** Command line as a list of arguments. */
function argsOf(pid) {
  return (procText(pid, 'cmdline') ?? '').split('\0').filter((a) => a !== '');
}

/**
 * Every descendant of `root` (children, grandchildren, ...), found by walking parent links.
 *
 * @example
 * descendants(serverPid).filter((p) => isWorkerd(p));
 */
export function descendants(root) {
  const children = new Map();
  for (const pid of allPids()) {
    const ppid = parentPid(pid);
    if (ppid === null) continue;
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(pid);
  }
  const out = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length > 0) {
    const pid = stack.pop();
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Whether `pid` runs workerd (`comm` is cut to 15 characters, so the executable path decides). */
function isWorkerd(pid) {
  const exe = argsOf(pid)[0] ?? '';
  return commOf(pid) === 'workerd' || /(^|\/)workerd$/.test(exe);
}

/**
 * Socket inodes listening on 127.0.0.1/0.0.0.0/:: `port` (TCP, IPv4 and IPv6), from /proc/net.
 *
 * @example
 * listeningInodes(8787); // ['123456']
 */
export function listeningInodes(port) {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.trim().split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // f[1] local address "IP:PORT", f[3] state (0A = LISTEN), f[9] inode
      if (f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A') inodes.push(f[9]);
    }
  }
  return inodes;
}

/**
 * The process that holds the listening socket of `port`, or null (only processes whose file
 * descriptors this user may read are seen).
 *
 * @example
 * listenerPid(8787); // the wrangler proxy's workerd
 */
export function listenerPid(port) {
  const wanted = new Set(listeningInodes(port).map((i) => `socket:[${i}]`));
  if (wanted.size === 0) return null;
  for (const pid of allPids()) {
    let fds;
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (wanted.has(readlinkSync(`/proc/${pid}/fd/${fd}`))) return pid;
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return null;
}

/**
 * The router's workerd processes behind `port`: `runtime` (runs the worker) and `proxy` (listens on
 * the port; null when the runtime listens itself). Starts from `rootPid` (the process tree of a
 * server this script started) or, without it, from the process listening on `port`.
 *
 * @example
 * const { runtime, proxy } = routerWorkerd({ port: 8787 });
 */
export function routerWorkerd({ port, rootPid }) {
  const listener = listenerPid(port);
  let tree = [];
  if (rootPid !== undefined) tree = descendants(rootPid);
  else if (listener !== null) {
    // the proxy and the runtime are siblings under wrangler's node process
    const parent = parentPid(listener);
    tree = parent === null ? [listener] : descendants(parent);
  }
  const workerds = tree.filter(isWorkerd);
  const proxy = workerds.find((p) => p === listener) ?? null;
  const runtime = workerds.find((p) => p !== listener) ?? proxy;
  return { runtime: runtime ?? null, proxy: runtime === proxy ? null : proxy };
}

/**
 * Resident memory of `pid` in MB (VmRSS) and its peak so far (VmHWM), or null when it is gone.
 *
 * @example
 * rssOf(pid); // { rssMb: 212.4, peakMb: 240.1 }
 */
export function rssOf(pid) {
  if (pid === null || pid === undefined) return null;
  const status = procText(pid, 'status');
  if (status === null) return null;
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  const mb = (v) => Math.round((v / 1024) * 10) / 10;
  return { rssMb: mb(kb('VmRSS')), peakMb: mb(kb('VmHWM')) };
}
