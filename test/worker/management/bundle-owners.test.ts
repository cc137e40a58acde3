/**
 * Bundle ownership (docs/security.md, "Bundles") inside workerd with real D1 and R2: a bundle the
 * operator makes one tenant's is not found for every other tenant wherever a tenant names a bundle
 * (pools, experiment arms, quizzes: a bank's items are the owner's prompts), while the owner and,
 * for unowned bundles, everyone keep using it; and ownership never takes a bundle from under
 * another tenant's pool or running experiment.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { seedBundle, seedModel, seedPool, seedTenant, testEnv } from '../support/seed';
import { as, errorOf, fresh, op } from './support';

let owner: { tenantId: string; key: string };
let other: { tenantId: string; key: string };
let version: string;
let ownerModel: string;
let otherModel: string;

beforeAll(async () => {
  owner = await seedTenant('main');
  other = await seedTenant('main');
  version = fresh('v-private');
  await seedBundle('test-v1', 0, version);
  await seedBundle('test-v1');
  ownerModel = await seedModel({
    name: fresh('om'),
    tenantId: owner.tenantId,
    inputUsd: 1,
    outputUsd: 2,
  });
  otherModel = await seedModel({
    name: fresh('xm'),
    tenantId: other.tenantId,
    inputUsd: 1,
    outputUsd: 2,
  });
  await seedPool(owner.tenantId, 'main', 'test-v1', [ownerModel]);
  await seedPool(other.tenantId, 'main', 'test-v1', [otherModel]);
});

const own = (tenant: string, v = version) => op('PUT', `/operator/tenants/${tenant}/bundles/${v}`);

/** Every place a tenant names a bundle, as that tenant: the answers' error codes (null = accepted). */
async function namesBundle(t: { key: string }, model: string): Promise<(string | null)[]> {
  const pool = await as(t.key, 'POST', '/admin/pools', {
    name: fresh('p'),
    bundle_version: version,
    members: [model],
  });
  const patch = await as(t.key, 'PATCH', '/admin/pools/main', { bundle_version: version });
  const exp = await as(t.key, 'POST', '/admin/experiments', {
    pool: 'main',
    name: fresh('e'),
    arms: [
      { name: 'control', weight: 1 },
      { name: 'candidate', weight: 1, bundle_version: version },
    ],
  });
  if (exp.status === 201) await as(t.key, 'POST', `/admin/experiments/${String(exp.json.id)}/stop`);
  await as(t.key, 'PATCH', '/admin/pools/main', { bundle_version: 'test-v1' });
  const quiz = await as(t.key, 'GET', `/admin/models/${model}/quiz?n=5&bundle=${version}`);
  return [pool, patch, exp, quiz].map((a) => (a.status < 300 ? null : (errorOf(a).code ?? '?')));
}

describe('bundle ownership', () => {
  it('an owned bundle is not found for another tenant, everywhere it could name it', async () => {
    expect((await namesBundle(other, otherModel)).slice(0, 3)).toEqual([null, null, null]);
    // the other tenant's new pool on it must go before the bundle can become the owner's
    const taken = await own(owner.tenantId);
    expect(taken.status).toBe(409);
    expect(errorOf(taken)).toMatchObject({ code: 'bundle_in_use', param: 'version' });
    expect(errorOf(taken).message).toContain(`${other.tenantId}/pool`);
    await as(other.key, 'GET', '/admin/pools').then(async (list) => {
      for (const p of list.json.data as { name: string; bundle_version: string }[])
        if (p.bundle_version === version) await as(other.key, 'DELETE', `/admin/pools/${p.name}`);
    });

    const made = await own(owner.tenantId);
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({ object: 'bundle', version, tenant: owner.tenantId });
    expect((await own(owner.tenantId)).status).toBe(200);

    const codes = await namesBundle(other, otherModel);
    expect(codes).toEqual([
      'bundle_not_found',
      'bundle_not_found',
      'bundle_not_found',
      'bundle_not_found',
    ]);
    const mine = await namesBundle(owner, ownerModel);
    expect(mine.slice(0, 3)).toEqual([null, null, null]);
    expect(mine[3]).not.toBe('bundle_not_found'); // past the ownership check (its bank may not exist)
  });

  it('another tenant cannot take an owned bundle; the owner lists and gives it back', async () => {
    const v = fresh('v-second');
    await seedBundle('test-v1', 0, v);
    // another tenant's garbled experiment row (routing ignores it) must not break the check
    const pool = await testEnv.DB.prepare('SELECT id FROM pools WHERE tenant_id = ?1 AND name = ?2')
      .bind(other.tenantId, 'main')
      .first<{ id: string }>();
    await testEnv.DB.prepare(
      "INSERT INTO experiments (id, tenant_id, pool_id, name, arms, active) VALUES (?1, ?2, ?3, 'garbled', '[{oops', 1)",
    )
      .bind(fresh('e-garbled'), other.tenantId, pool!.id)
      .run();
    expect((await own(owner.tenantId, v)).status).toBe(201);
    const clash = await own(other.tenantId, v);
    expect(clash.status).toBe(409);
    expect(errorOf(clash).code).toBe('bundle_owned');

    const list = await op('GET', `/operator/tenants/${owner.tenantId}/bundles`);
    expect(list.status).toBe(200);
    expect((list.json.data as { version: string }[]).map((b) => b.version)).toContain(v);
    expect((await op('GET', `/operator/tenants/${other.tenantId}/bundles`)).json.data).toEqual([]);

    const wrong = await op('DELETE', `/operator/tenants/${other.tenantId}/bundles/${v}`);
    expect(wrong.status).toBe(404);
    expect(errorOf(wrong).code).toBe('bundle_not_owned');
    const back = await op('DELETE', `/operator/tenants/${owner.tenantId}/bundles/${v}`);
    expect(back.json).toMatchObject({ object: 'bundle', version: v, deleted: true });
    const reuse = await as(other.key, 'POST', '/admin/pools', {
      name: fresh('p'),
      bundle_version: v,
      members: [otherModel],
    });
    expect(reuse.status).toBe(201);
  });

  it('refuses a bundle not in R2, a bad version, an unknown tenant, and a tenant key', async () => {
    const missing = await own(owner.tenantId, fresh('v-absent'));
    expect(missing.status).toBe(404);
    expect(errorOf(missing).code).toBe('bundle_not_found');
    expect((await own(owner.tenantId, '..%2Fx')).status).toBe(400);
    const nobody = await own('no-such-tenant');
    expect(nobody.status).toBe(404);
    const byTenant = await as(
      owner.key,
      'PUT',
      `/operator/tenants/${owner.tenantId}/bundles/${version}`,
    );
    expect(byTenant.status).toBe(401);
  });
});
