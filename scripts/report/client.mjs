// A small client of a running router (`npm start`, or any deployment) for the report and demo
// scripts: where it is (ROUTER_URL, default http://127.0.0.1:$PORT or 8787) and which key to use
// (ROUTER_KEY, else the demo key `npm start` keeps in <STATE_DIR>/demo-api-key).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The router's base URL, without a trailing slash.
 *
 * @example
 * routerUrl({}); // 'http://127.0.0.1:8787'
 */
export function routerUrl(env = process.env) {
  const url = env.ROUTER_URL || `http://127.0.0.1:${env.PORT || 8787}`;
  return url.replace(/\/+$/, '');
}

/**
 * The API key: ROUTER_KEY, else the demo key `npm start` wrote; throws when there is neither.
 *
 * @example
 * routerKey({ ROUTER_KEY: 'sk-...' }); // 'sk-...'
 */
export function routerKey(env = process.env) {
  if (env.ROUTER_KEY) return env.ROUTER_KEY;
  const stateDir = path.resolve(root, env.STATE_DIR || path.join('.wrangler', 'state'));
  const file = path.join(stateDir, 'demo-api-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  throw new Error(`no API key: set ROUTER_KEY, or run npm start (it writes ${file})`);
}

/**
 * A client bound to one router and key. `call` answers `{ status, headers, json }` (json null when
 * the body is not JSON) and never throws on an HTTP error status; `request` throws on anything but
 * 2xx, with the router's error message.
 *
 * @example
 * const api = client({ url: routerUrl(), key: routerKey() });
 * const report = await api.request('GET', '/admin/experiments/exp_1/report');
 */
export function client({ url, key, fetchImpl = fetch }) {
  async function call(method, pathname, body, headers = {}) {
    const res = await fetchImpl(`${url}${pathname}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let json;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: res.status, headers: res.headers, json };
  }
  async function request(method, pathname, body, headers) {
    const r = await call(method, pathname, body, headers);
    if (r.status < 200 || r.status > 299) {
      const why = r.json?.error?.message ?? `HTTP ${r.status}`;
      throw new Error(`${method} ${pathname}: ${r.status} ${why}`);
    }
    return r.json;
  }
  return { call, request };
}
