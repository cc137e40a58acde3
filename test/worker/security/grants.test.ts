// The one decision about where a model may send which secret (worker/security/grants.ts), over a
// table of base URLs, secrets and grants: SSRF forms, hosts, schemes, secrets paired with hosts.
import { describe, expect, it } from 'vitest';
import type { UpstreamGrant } from '../../../worker/data/grants';
import { checkUpstream, type UpstreamConfig } from '../../../worker/security/grants';
import { internalHost } from '../../../worker/security/internal-host';
import { parseBaseUrl } from '../../../worker/security/base-url';

const grants: UpstreamGrant[] = [
  { host: 'api.openai.com', secretName: 'OPENAI_API_KEY', allowHttp: false, allowPrivate: false },
  {
    host: 'api.anthropic.com',
    secretName: 'ANTHROPIC_API_KEY',
    allowHttp: false,
    allowPrivate: false,
  },
  { host: '127.0.0.1:8788', secretName: 'STANDIN_API_KEY', allowHttp: true, allowPrivate: true },
  { host: 'vllm.example.com:8000', secretName: '', allowHttp: true, allowPrivate: false },
  { host: '10.0.0.5:8000', secretName: '', allowHttp: true, allowPrivate: false },
  { host: '169.254.169.254', secretName: '', allowHttp: true, allowPrivate: false },
  { host: '[::1]:8788', secretName: '', allowHttp: true, allowPrivate: false },
];

const tenantRow = (
  baseUrl: string | null,
  secretName: string | null = null,
  provider: UpstreamConfig['provider'] = 'openai',
): UpstreamConfig => ({ tenantId: 't1', provider, baseUrl, secretName });

/** 'ok <url>' or the refusal code. */
function outcome(model: UpstreamConfig, g: UpstreamGrant[] = grants): string {
  const d = checkUpstream(model, g);
  return d.ok ? `ok ${d.url}` : d.refusal.code;
}

describe('checkUpstream: tenant rows', () => {
  it.each([
    ['https://api.openai.com/v1', 'OPENAI_API_KEY', 'ok https://api.openai.com/v1'],
    ['https://api.openai.com/v1/', 'OPENAI_API_KEY', 'ok https://api.openai.com/v1'],
    ['HTTPS://API.OpenAI.com:443/v1', 'OPENAI_API_KEY', 'ok https://api.openai.com/v1'],
    ['http://127.0.0.1:8788/v1', 'STANDIN_API_KEY', 'ok http://127.0.0.1:8788/v1'],
    ['http://127.1:8788/v1', 'STANDIN_API_KEY', 'ok http://127.0.0.1:8788/v1'],
    ['http://0x7f000001:8788/v1', 'STANDIN_API_KEY', 'ok http://127.0.0.1:8788/v1'],
    ['http://vllm.example.com:8000/v1', null, 'ok http://vllm.example.com:8000/v1'],
    // scheme, port and host must be the granted ones
    ['http://api.openai.com/v1', 'OPENAI_API_KEY', 'host_not_granted'],
    ['https://api.openai.com:444/v1', 'OPENAI_API_KEY', 'host_not_granted'],
    ['https://api.openai.com.evil.example/v1', 'OPENAI_API_KEY', 'host_not_granted'],
    ['https://evil.example/v1', 'OPENAI_API_KEY', 'host_not_granted'],
    ['https://vllm.example.com/v1', null, 'host_not_granted'],
    // a secret goes only where it was granted, and a host granted with a secret is not granted without one
    ['https://api.openai.com/v1', 'STANDIN_API_KEY', 'secret_not_granted'],
    ['https://api.openai.com/v1', 'ANTHROPIC_API_KEY', 'secret_not_granted'],
    ['http://vllm.example.com:8000/v1', 'OPENAI_API_KEY', 'secret_not_granted'],
    ['https://api.openai.com/v1', null, 'host_not_granted'],
    // private targets need allow_private even when their host is granted
    ['http://10.0.0.5:8000/v1', null, 'host_not_granted'],
    ['http://169.254.169.254/latest/meta-data', null, 'host_not_granted'],
    ['http://[::1]:8788/v1', null, 'host_not_granted'],
    ['http://[::ffff:127.0.0.1]:8788/v1', 'STANDIN_API_KEY', 'host_not_granted'],
    // malformed
    ['https://user:pw@api.openai.com/v1', 'OPENAI_API_KEY', 'invalid_base_url'],
    ['https://api.openai.com/v1?x=1', 'OPENAI_API_KEY', 'invalid_base_url'],
    ['https://api.openai.com/v1/../v2', 'OPENAI_API_KEY', 'invalid_base_url'],
    ['https://api.openai.com/v1/%2E%2E', 'OPENAI_API_KEY', 'invalid_base_url'],
    ['https://api.openai.com/v1\\..\\x', 'OPENAI_API_KEY', 'invalid_base_url'],
    ['https://api.openai.com/v1%252f', 'OPENAI_API_KEY', 'invalid_base_url'],
    ['ws://api.openai.com/v1', 'OPENAI_API_KEY', 'invalid_base_url'],
    ['https:///api.openai.com/v1', 'OPENAI_API_KEY', 'invalid_base_url'],
    ['https://api.openai.com:99999/v1', 'OPENAI_API_KEY', 'invalid_base_url'],
    ['https://\u0430pi.openai.com/v1', 'OPENAI_API_KEY', 'invalid_base_url'],
  ])('%s with secret %s -> %s', (baseUrl, secret, want) => {
    expect(outcome(tenantRow(baseUrl, secret))).toBe(want);
  });

  it('checks the provider default URL when the row has none', () => {
    expect(outcome(tenantRow(null, 'ANTHROPIC_API_KEY', 'anthropic'))).toBe(
      'ok https://api.anthropic.com/v1',
    );
    expect(outcome(tenantRow(null, 'OPENAI_API_KEY', 'anthropic'))).toBe('secret_not_granted');
    expect(outcome(tenantRow(null, 'ANTHROPIC_API_KEY', 'anthropic'), [])).toBe('host_not_granted');
  });

  it('an openai row without base_url calls nothing: fine without a secret, refused with one', () => {
    expect(outcome(tenantRow(null))).toBe('ok null');
    expect(outcome(tenantRow(null, 'OPENAI_API_KEY'))).toBe('secret_not_granted');
  });

  it('workers-ai rows have no URL or key to check; a worker setting is refused even there', () => {
    expect(outcome(tenantRow('http://10.0.0.1/', null, 'workers-ai'), [])).toBe('ok null');
    expect(outcome(tenantRow(null, 'DEFAULT_BUNDLE', 'workers-ai'), [])).toBe('secret_not_granted');
  });

  it('a grant naming a worker setting grants nothing', () => {
    const bad: UpstreamGrant[] = [
      {
        host: 'api.openai.com',
        secretName: 'DEFAULT_BUNDLE',
        allowHttp: false,
        allowPrivate: false,
      },
    ];
    expect(outcome(tenantRow('https://api.openai.com/v1', 'DEFAULT_BUNDLE'), bad)).toBe(
      'secret_not_granted',
    );
  });
});

describe('checkUpstream: operator (global) rows', () => {
  const globalRow = (baseUrl: string | null, secretName: string | null): UpstreamConfig => ({
    tenantId: null,
    provider: 'openai',
    baseUrl,
    secretName,
  });
  it('need no grant, keep their URL as written, but may never name a worker setting or a non-secret name', () => {
    expect(outcome(globalRow('http://10.0.0.7:8000/v1', 'VLLM_KEY'), [])).toBe(
      'ok http://10.0.0.7:8000/v1',
    );
    for (const name of [
      'DEFAULT_BUNDLE',
      'UPSTREAM_TIMEOUT_MS',
      'DB',
      'ASSETS',
      'AI',
      'DECISION_LOG_QUEUE',
      'constructor',
      '__proto__',
      'lower_case',
    ]) {
      expect(outcome(globalRow('https://api.openai.com/v1', name), [])).toBe('secret_not_granted');
    }
  });
});

describe('internalHost over the spellings the URL parser accepts', () => {
  it.each([
    'http://127.0.0.1/',
    'http://127.1/',
    'http://2130706433/',
    'http://0x7f000001/',
    'http://017700000001/',
    'http://0177.0.0.1/',
    'http://127.255.255.254/',
    'http://[::1]/',
    'http://[0:0:0:0:0:0:0:1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:8.8.8.8]/',
    'http://[::127.0.0.1]/',
    'http://[fe80::1]/',
    'http://[febf::1]/',
    'http://[fc00::1]/',
    'http://[fd12:3456::1]/',
    'http://[ff02::1]/',
    'http://[::]/',
    'http://[64:ff9b::a00:1]/',
    'http://169.254.169.254/',
    'http://0xa9fea9fe/',
    'http://10.0.0.1/',
    'http://10.255.255.255/',
    'http://172.16.0.1/',
    'http://172.31.255.255/',
    'http://192.168.0.1/',
    'http://100.64.0.1/',
    'http://100.127.255.255/',
    'http://0.0.0.0/',
    'http://0/',
    'http://224.0.0.1/',
    'http://255.255.255.255/',
    'http://198.18.0.1/',
    'http://localhost/',
    'http://LOCALHOST./',
    'http://a.b.localhost/',
    'http://metadata.google.internal/',
    'http://printer.local/',
    'http://router.home.arpa/',
    'http://metadata/',
  ])('%s is internal', (url) => {
    expect(internalHost(new URL(url).hostname)).not.toBeNull();
  });

  it.each([
    'https://api.openai.com/',
    'http://8.8.8.8/',
    'http://172.32.0.1/',
    'http://172.15.255.255/',
    'http://100.128.0.1/',
    'http://100.63.255.255/',
    'http://169.255.0.1/',
    'http://192.169.0.1/',
    'http://11.0.0.1/',
    'http://[2606:4700:4700::1111]/',
    'http://[2001:4860::8888]/',
    'http://localhost.example.com/',
    'http://internal.example.com/',
    'http://xn--80ak6aa92e.com/',
  ])('%s is public', (url) => {
    expect(internalHost(new URL(url).hostname)).toBeNull();
  });
});

describe('parseBaseUrl', () => {
  it('returns the canonical URL and host a grant names', () => {
    expect(parseBaseUrl('https://Api.Example.com:443/v1//')).toEqual({
      ok: true,
      url: {
        href: 'https://api.example.com/v1',
        scheme: 'https',
        host: 'api.example.com',
        internal: null,
      },
    });
    expect(parseBaseUrl('http://[::FFFF:7f00:1]:80/')).toMatchObject({
      ok: true,
      url: {
        href: 'http://[::ffff:7f00:1]',
        host: '[::ffff:7f00:1]',
        internal: 'an IPv4-mapped address',
      },
    });
    expect(parseBaseUrl('https://api.example.com')).toMatchObject({
      ok: true,
      url: { href: 'https://api.example.com' },
    });
  });

  it('says what is wrong', () => {
    expect(parseBaseUrl('https://u@h.example/')).toEqual({
      ok: false,
      message: 'base_url must not carry credentials (user:password@)',
    });
    expect(parseBaseUrl('https://h.example/a/./b')).toEqual({
      ok: false,
      message: 'base_url path must not contain "." or ".." segments',
    });
    expect(parseBaseUrl('x'.repeat(3000))).toMatchObject({ ok: false });
  });
});
