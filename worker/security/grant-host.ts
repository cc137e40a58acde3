/**
 * What an upstream grant may name: a host exactly as a checked base URL reports it (lower case,
 * `hostname[:port]`, IPv6 in brackets, no default https port), and a secret that is an upper-case
 * name and not one of the worker's own settings or secrets. A grant in any other spelling could
 * never match a base URL (`checkUpstream` compares hosts exactly), so it is refused up front.
 */
import { isWorkerSetting } from '../env';

/**
 * Why `host` is not a grantable host, or null when it is.
 *
 * @example
 * grantHostProblem('api.openai.com');      // null
 * grantHostProblem('API.openai.com');      // 'host must be lower case'
 * grantHostProblem('api.openai.com:443');  // 'write api.openai.com (443 is https's default port)'
 */
export function grantHostProblem(host: string): string | null {
  if (!/^[\x21-\x7e]{1,255}$/.test(host)) return 'host must be 1-255 printable ASCII characters';
  if (host !== host.toLowerCase()) return 'host must be lower case';
  if (/[/?#@\\]/.test(host)) return 'host is hostname[:port] only: no scheme, path or credentials';
  let url: URL;
  try {
    url = new URL(`https://${host}`);
  } catch {
    return 'host is not a valid hostname[:port]';
  }
  if (url.host === host) return null;
  if (url.port === '' && host.endsWith(':443'))
    return `write ${url.host} (443 is https's default port)`;
  return `host is not in canonical form: write ${url.host}`;
}

/** Upper-case secret names, as model rows take them (security/grants.ts). */
const SECRET_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;

/**
 * Why `name` cannot be granted as an upstream secret, or null ('' = no secret, always fine).
 *
 * @example
 * grantSecretProblem('OPENAI_API_KEY'); // null
 * grantSecretProblem('OPERATOR_TOKEN'); // 'OPERATOR_TOKEN is a worker setting, not an upstream secret'
 */
export function grantSecretProblem(name: string): string | null {
  if (name === '') return null;
  if (!SECRET_NAME.test(name)) return 'secret_name must be an upper-case name (A-Z, 0-9, _)';
  if (isWorkerSetting(name)) return `${name} is a worker setting, not an upstream secret`;
  return null;
}
