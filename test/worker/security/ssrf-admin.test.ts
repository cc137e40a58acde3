// Issue 21, hole 2 through the admin API: a tenant-owned model's base_url may not name loopback,
// link-local, private or internal targets (in any spelling), carry credentials, a query or a
// fragment, or a path with dot segments or encoded separators; and only hosts granted to the
// tenant are accepted at all. Every refusal is an OpenAI-style 4xx and stores nothing.
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { call } from '../support/call';
import { seedGrant, seedTenant, testEnv } from '../support/seed';

const loopback = new URL(inject('upstreamUrl'));
const port = loopback.port;
let tenant: { tenantId: string; key: string };

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

async function register(
  name: string,
  baseUrl: string,
  secretName?: string,
): Promise<{ status: number; error: ErrorBody['error'] | null }> {
  const res = await call('/admin/models', {
    key: tenant.key,
    body: {
      name,
      provider: 'openai',
      upstream_model: 'x',
      base_url: baseUrl,
      input_usd_per_mtok: 1,
      output_usd_per_mtok: 1,
      ...(secretName ? { secret_name: secretName } : {}),
    },
  });
  const json = await res.json<Partial<ErrorBody>>();
  return { status: res.status, error: json.error ?? null };
}

beforeAll(async () => {
  tenant = await seedTenant(null);
  // Granted: a public https host with a secret, and the loopback upstream over http but NOT as a
  // private host (so its loopback address still needs allow_private).
  await seedGrant(tenant.tenantId, 'api.example.com', 'OPENAI_API_KEY');
  await seedGrant(tenant.tenantId, `127.0.0.1:${port}`, '', { allowHttp: true });
  await seedGrant(tenant.tenantId, '169.254.169.254', '', { allowHttp: true });
  await seedGrant(tenant.tenantId, 'localhost', '', { allowHttp: true });
});

describe('base_url of a tenant model', () => {
  const privateTargets = [
    `http://127.0.0.1:${port}/v1`,
    `http://127.1:${port}/v1`,
    `http://2130706433:${port}/v1`,
    `http://0x7f000001:${port}/v1`,
    `http://017700000001:${port}/v1`,
    `http://0177.0.0.1:${port}/v1`,
    'http://[::1]/v1',
    'http://[::ffff:127.0.0.1]/v1',
    'http://[fe80::1]/v1',
    'http://169.254.169.254/latest/meta-data',
    'http://10.0.0.1/v1',
    'http://172.16.0.1/v1',
    'http://172.31.255.255/v1',
    'http://192.168.1.1/v1',
    'http://100.64.0.1/v1',
    'http://0.0.0.0/v1',
    'http://localhost/v1',
    'http://localhost./v1',
    'http://foo.localhost/v1',
    'http://metadata.google.internal/v1',
    'http://printer.local/v1',
    'https://[fc00::1]/v1',
    'http://[::]/v1',
    'http://224.0.0.1/v1',
  ];
  it.each(privateTargets)(
    'refuses the private or internal target %s (403, nothing stored)',
    async (url) => {
      const name = `ssrf-${crypto.randomUUID().slice(0, 8)}`;
      const r = await register(name, url);
      expect(r.status).toBe(403);
      expect(r.error).toMatchObject({
        type: 'invalid_request_error',
        code: 'host_not_granted',
        param: 'base_url',
      });
      const row = await testEnv.DB.prepare('SELECT count(*) AS n FROM models WHERE name = ?1')
        .bind(name)
        .first<{ n: number }>();
      expect(row?.n).toBe(0);
    },
  );

  const malformed = [
    'https://user:pw@api.example.com/v1',
    'https://user@api.example.com/v1',
    'https://api.example.com/v1?key=1',
    'https://api.example.com/v1#frag',
    'https://api.example.com/v1/../admin',
    'https://api.example.com/./v1',
    'https://api.example.com/v1/%2e%2e/admin',
    'https://api.example.com/v1%2fadmin',
    'https://api.example.com/v1%5cadmin',
    'https://api.example.com\\v1',
    'https://api.example.com/v1\t',
    'ftp://api.example.com/v1',
    'javascript:alert(1)',
    'file:///etc/passwd',
    'api.example.com/v1',
    '',
    'https://',
    'https://api.example.com/v 1',
  ];
  it.each(malformed)(
    'refuses the malformed base URL %j (400 invalid_base_url or invalid_value)',
    async (url) => {
      const r = await register(`bad-${crypto.randomUUID().slice(0, 8)}`, url);
      expect(r.status).toBe(400);
      expect(['invalid_base_url', 'invalid_value']).toContain(r.error?.code);
      expect(r.error?.param).toBe('base_url');
    },
  );

  it('http is refused for a host granted for https only; unknown hosts are not granted', async () => {
    expect(
      await register(
        `h-${crypto.randomUUID().slice(0, 8)}`,
        'http://api.example.com/v1',
        'OPENAI_API_KEY',
      ),
    ).toMatchObject({ status: 403, error: { code: 'host_not_granted', param: 'base_url' } });
    expect(
      await register(`h-${crypto.randomUUID().slice(0, 8)}`, 'https://api.example.org/v1'),
    ).toMatchObject({ status: 403, error: { code: 'host_not_granted', param: 'base_url' } });
    expect(
      await register(
        `h-${crypto.randomUUID().slice(0, 8)}`,
        'https://api.example.com:8443/v1',
        'OPENAI_API_KEY',
      ),
    ).toMatchObject({ status: 403, error: { code: 'host_not_granted' } });
  });

  it('accepts what was granted: the public https host with its secret; loopback once allow_private is set', async () => {
    expect(
      (
        await register(
          `ok-${crypto.randomUUID().slice(0, 8)}`,
          'https://api.example.com/v1',
          'OPENAI_API_KEY',
        )
      ).status,
    ).toBe(201);
    expect(
      (
        await register(
          `ok-${crypto.randomUUID().slice(0, 8)}`,
          'https://API.Example.com:443/v1/',
          'OPENAI_API_KEY',
        )
      ).status,
    ).toBe(201);
    await seedGrant(tenant.tenantId, `127.0.0.1:${port}`, '', {
      allowHttp: true,
      allowPrivate: true,
    });
    expect(
      (await register(`ok-${crypto.randomUUID().slice(0, 8)}`, `http://127.0.0.1:${port}/v1`))
        .status,
    ).toBe(201);
    // the same address in another spelling is the same host
    expect(
      (await register(`ok-${crypto.randomUUID().slice(0, 8)}`, `http://2130706433:${port}/v1`))
        .status,
    ).toBe(201);
  });
});
