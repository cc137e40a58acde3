/**
 * Validation of a model's base URL: what a tenant may store, and what the router will call.
 * The raw text must already be in a plain form, so that what is checked is what is fetched: the
 * WHATWG parser would otherwise quietly rewrite backslashes, tabs, dot segments and numeric
 * hosts into something else.
 */
import { internalHost } from './internal-host';

/** A base URL that passed every check. */
export interface BaseUrl {
  /** The URL to call, canonical: `scheme://host/path` without a trailing slash. */
  href: string;
  scheme: 'http' | 'https';
  /** Lower-case `hostname[:port]`, default port dropped: what an upstream grant names. */
  host: string;
  /** Why the host is not public (loopback, private, internal name, ...), or null. */
  internal: string | null;
}

export type BaseUrlCheck = { ok: true; url: BaseUrl } | { ok: false; message: string };

const MAX_LENGTH = 2048;
/** scheme :// authority path, nothing else (no query, no fragment). */
const SHAPE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)$/;
/** A path segment: RFC 3986 unreserved and sub-delims, `:` and `@`; no `%` (no encoded separators or dots). */
const SEGMENT = /^[A-Za-z0-9\-._~!$&'()*+,;=:@]*$/;

/**
 * Checks a base URL: http or https; printable ASCII only; no credentials, query or fragment; a
 * path of plain segments (no `.`/`..`, no percent-encoding, no backslash). Whether its host may be
 * called at all is the grants' business (security/grants.ts).
 *
 * @example
 * parseBaseUrl('https://API.example.com:443/v1/'); // { ok: true, url: { href: 'https://api.example.com/v1', host: 'api.example.com', ... } }
 * parseBaseUrl('http://user:pw@10.0.0.1/v1');      // { ok: false, message: 'base_url must not carry credentials (user:password@)' }
 */
export function parseBaseUrl(raw: string): BaseUrlCheck {
  const no = (message: string): BaseUrlCheck => ({ ok: false, message });
  if (raw.length === 0 || raw.length > MAX_LENGTH)
    return no(`base_url must be 1-${MAX_LENGTH} characters`);
  if (!/^[\x21-\x7e]+$/.test(raw))
    return no(
      'base_url must be printable ASCII without spaces (write an internationalised host in punycode)',
    );
  if (raw.includes('\\')) return no('base_url must not contain a backslash');
  if (raw.includes('?') || raw.includes('#'))
    return no('base_url must not carry a query or fragment');
  const shape = SHAPE.exec(raw);
  if (!shape) return no('base_url must be an absolute http(s) URL: scheme://host/path');
  const [, scheme, authority, path] = shape as unknown as [string, string, string, string];
  const lowerScheme = scheme.toLowerCase();
  if (lowerScheme !== 'https' && lowerScheme !== 'http')
    return no(
      `base_url scheme must be https (or http where granted), not ${JSON.stringify(scheme)}`,
    );
  if (authority.includes('@')) return no('base_url must not carry credentials (user:password@)');
  if (authority === '') return no('base_url has no host');
  const segments = path.split('/').slice(1);
  if (segments.some((s) => s === '.' || s === '..'))
    return no('base_url path must not contain "." or ".." segments');
  if (!segments.every((s) => SEGMENT.test(s)))
    return no('base_url path may hold only plain characters (no percent-encoding)');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return no('base_url is not a valid URL');
  }
  if (url.username || url.password)
    return no('base_url must not carry credentials (user:password@)');
  const host = url.host.toLowerCase();
  return {
    ok: true,
    url: {
      href: `${url.protocol}//${host}${url.pathname.replace(/\/+$/, '')}`,
      scheme: lowerScheme,
      host,
      internal: internalHost(url.hostname),
    },
  };
}
