/**
 * Config as code inside workerd with real D1: a file is planned against the database, applied as
 * one batch, and then served (keys, routing, the admin API see what it declares); a second plan has
 * no changes; edits plan exactly what changed; lists a file leaves out are left alone; every broken
 * file is reported with path and line and nothing of it is applied; a batch with a failing
 * statement leaves the database as it was; the SQL text for wrangler quotes every value.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  formatPlan,
  prepareConfig,
  readState,
  statementSql,
  type Plan,
} from '../../../worker/config-file';
import { sha256Hex } from '../../../worker/data/hash';
import { clearPoolCache } from '../../../worker/data/pools';
import { as } from '../management/support';
import { seedBundle, testEnv } from '../support/seed';

const db = testEnv.DB;

function fileFor(
  t: string,
  opts: { price?: number; members?: string; extraModel?: boolean; active?: boolean } = {},
) {
  return `# a tenant with its grants, models, pools and an experiment
version: 1
tenants:
  - id: ${t}
    name: "Tenant ${t}"
    default_pool: main
    rpm_limit: 600
    cors_origins: ["https://app.example.com"]
    grants:
      - host: api.example.com
        secret_name: EXAMPLE_KEY
      - host: 127.0.0.1:\${PORT:-9}
        allow_http: true
        allow_private: true
    models:
      - name: test-large
        provider: openai
        upstream_model: large-2024
        base_url: HTTPS://API.example.com:443/v1/
        secret_name: EXAMPLE_KEY
        input_usd_per_mtok: ${opts.price ?? 10}
        output_usd_per_mtok: 30
        expected_output_tokens: 600
        bundle_model: test-large
      - name: test-small
        provider: openai
        upstream_model: small
        base_url: http://127.0.0.1:\${PORT:-9}/v1
        input_usd_per_mtok: 0.2
        output_usd_per_mtok: 0.6
        bundle_model: test-small
${
  opts.extraModel
    ? `      - name: test-tiny
        provider: openai
        upstream_model: tiny
        base_url: http://127.0.0.1:9/v1
        input_usd_per_mtok: 0.05
        output_usd_per_mtok: 0.1
        bundle_model: test-tiny
`
    : ''
}    pools:
      - name: main
        bundle_version: test-v1
        default_preference: balanced
        uncertainty_penalty: 1.5
        fallback_model: test-small
        members: [${opts.members ?? 'test-large, test-small'}]
      - name: cheap
        bundle_version: test-v1
        default_preference: 0.1
        members: [test-small]
        online_learning: false
        exploration_temperature: 0.5
        keep_prompts: true
    experiments:
      - pool: main
        name: try-cheap
        active: ${opts.active ?? true}
        arms:
          - { name: control, weight: 0.9 }
          - { name: cheap, weight: 0.1, pool: cheap }
`;
}

async function apply(plan: Plan): Promise<void> {
  await db.batch(plan.statements.map((s) => db.prepare(s.sql).bind(...s.params)));
  clearPoolCache();
}

async function plan(text: string, env: Record<string, string> = {}): Promise<Plan> {
  const r = prepareConfig(text, env, await readState(db));
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.plan;
}

async function errorsOf(text: string, env: Record<string, string> = {}) {
  const r = prepareConfig(text, env, await readState(db));
  if (r.ok) throw new Error(`expected errors, got ${formatPlan(r.plan)}`);
  return r.errors.map((e) => ({ path: e.path, line: e.line, message: e.message }));
}

async function withKey(tenantId: string): Promise<string> {
  const key = `sk-cfg-${crypto.randomUUID()}`;
  await db
    .prepare('INSERT INTO api_keys (key_hash, tenant_id) VALUES (?1, ?2)')
    .bind(await sha256Hex(key), tenantId)
    .run();
  return key;
}

const fresh = () => `cfg-${crypto.randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  await seedBundle('test-v1');
});

describe('plan and apply', () => {
  it('creates everything the file declares, serves it, and a second plan has no changes', async () => {
    const t = fresh();
    const first = await plan(fileFor(t));
    expect(first.changes.map((c) => `${c.action} ${c.kind} ${c.name}`)).toEqual([
      `create tenant ${t}`,
      `create grant ${t}: api.example.com with EXAMPLE_KEY`,
      `create grant ${t}: 127.0.0.1:9 without a secret`,
      `create model ${t}/test-large`,
      `create model ${t}/test-small`,
      `create pool ${t}/main`,
      `create pool ${t}/cheap`,
      `create experiment ${t}/main/try-cheap`,
    ]);
    await apply(first);
    const again = await plan(fileFor(t));
    expect(again.changes).toEqual([]);
    expect(again.statements).toEqual([]);
    expect(formatPlan(again)).toBe('No changes.');

    const key = await withKey(t);
    const pool = await as(key, 'GET', '/admin/pools/main');
    expect(pool.json).toMatchObject({
      default_preference: 'balanced',
      uncertainty_penalty: 1.5,
      fallback_model: 'test-small',
      members: ['test-large', 'test-small'],
    });
    expect((await as(key, 'GET', '/admin/pools/cheap')).json).toMatchObject({
      default_preference: 0.1,
      online_learning: false,
      exploration_temperature: 0.5,
      keep_prompts: true,
    });
    expect(pool.json).toMatchObject({
      online_learning: true,
      exploration_temperature: null,
      keep_prompts: false,
    });
    const model = await as(key, 'GET', '/admin/models/test-large');
    expect(model.json.base_url).toBe('https://api.example.com/v1');
    const routed = await as(key, 'POST', '/v1/route', {
      model: 'router/cheap',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(routed.status).toBe(200);
    expect(routed.json.model).toBe('test-small');
    const arms = await db
      .prepare('SELECT arms, active FROM experiments WHERE tenant_id = ?1')
      .bind(t)
      .first<{ arms: string; active: number }>();
    expect(JSON.parse(arms!.arms)).toEqual([
      { name: 'control', weight: 0.9 },
      { name: 'cheap', pool: 'cheap', weight: 0.1 },
    ]);
  });

  it('an edit plans exactly what changed, keeps ids (and identities), and converges', async () => {
    const t = fresh();
    await apply(await plan(fileFor(t)));
    const before = await db
      .prepare("SELECT id FROM models WHERE tenant_id = ?1 AND name = 'test-large'")
      .bind(t)
      .first<{ id: string }>();
    await db
      .prepare(
        `INSERT INTO model_identities (model_id, bundle_version, vector, source) VALUES (?1, 'test-v1', '[1]', 'quiz')`,
      )
      .bind(before!.id)
      .run();
    const edit = await plan(fileFor(t, { price: 8, members: 'test-small', extraModel: true }));
    expect(formatPlan(edit)).toBe(
      [
        `~ model ${t}/test-large`,
        '    input_usd_per_mtok: 10 -> 8',
        `+ model ${t}/test-tiny`,
        ...[
          'provider: "openai"',
          'upstream_model: "tiny"',
          'base_url: "http://127.0.0.1:9/v1"',
          'secret_name: null',
          'input_usd_per_mtok: 0.05',
          'output_usd_per_mtok: 0.1',
          'expected_output_tokens: 512',
          'bundle_model: "test-tiny"',
        ].map((l) => `    ${l}`),
        `~ pool ${t}/main`,
        '    members: ["test-large","test-small"] -> ["test-small"]',
        'Plan: 1 to create, 2 to update, 0 to delete.',
      ].join('\n'),
    );
    await apply(edit);
    expect(
      (await plan(fileFor(t, { price: 8, members: 'test-small', extraModel: true }))).changes,
    ).toEqual([]);
    const after = await db
      .prepare(
        "SELECT m.id, m.input_usd_per_mtok, (SELECT COUNT(*) FROM model_identities i WHERE i.model_id = m.id) AS identities FROM models m WHERE tenant_id = ?1 AND name = 'test-large'",
      )
      .bind(t)
      .first();
    expect(after).toEqual({ id: before!.id, input_usd_per_mtok: 8, identities: 1 });
    // back to the first file: the extra model goes, with its memberships
    const back = await plan(fileFor(t));
    expect(back.changes.map((c) => `${c.action} ${c.kind} ${c.name}`)).toEqual([
      `update model ${t}/test-large`,
      `delete model ${t}/test-tiny`,
      `update pool ${t}/main`,
    ]);
    await apply(back);
    expect((await plan(fileFor(t))).changes).toEqual([]);
  });

  it('stopping an experiment records when; starting it again clears that; both converge', async () => {
    const t = fresh();
    await apply(await plan(fileFor(t)));
    const stoppedAt = async () =>
      (await db
        .prepare('SELECT active, stopped_at FROM experiments WHERE tenant_id = ?1')
        .bind(t)
        .first<{ active: number; stopped_at: string | null }>())!;
    expect(await stoppedAt()).toEqual({ active: 1, stopped_at: null });
    const stop = await plan(fileFor(t, { active: false }));
    expect(formatPlan(stop)).toBe(
      [
        `~ experiment ${t}/main/try-cheap`,
        '    active: true -> false',
        'Plan: 0 to create, 1 to update, 0 to delete.',
      ].join('\n'),
    );
    await apply(stop);
    const stopped = await stoppedAt();
    expect(stopped.active).toBe(0);
    expect(stopped.stopped_at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect((await plan(fileFor(t, { active: false }))).changes).toEqual([]);
    await apply(await plan(fileFor(t)));
    expect(await stoppedAt()).toEqual({ active: 1, stopped_at: null });
  });

  it('pool learning settings: an edit is one update of exactly those fields', async () => {
    const t = fresh();
    await apply(await plan(fileFor(t)));
    const edited = fileFor(t)
      .replace('exploration_temperature: 0.5', 'exploration_temperature: 2')
      .replace('keep_prompts: true', 'keep_prompts: false');
    expect(formatPlan(await plan(edited))).toBe(
      [
        `~ pool ${t}/cheap`,
        '    exploration_temperature: 0.5 -> 2',
        '    keep_prompts: true -> false',
        'Plan: 0 to create, 1 to update, 0 to delete.',
      ].join('\n'),
    );
    await apply(await plan(edited));
    expect(
      await db
        .prepare(
          "SELECT online_learning, exploration_temperature, keep_prompts FROM pools WHERE tenant_id = ?1 AND name = 'cheap'",
        )
        .bind(t)
        .first(),
    ).toEqual({ online_learning: 0, exploration_temperature: 2, keep_prompts: 0 });
    expect((await plan(edited)).changes).toEqual([]);
    const out = await errorsOf(
      edited.replace('exploration_temperature: 2', 'exploration_temperature: 20'),
    );
    expect(out).toEqual([
      expect.objectContaining({ path: 'tenants[0].pools[1].exploration_temperature' }),
    ]);
  });

  it('a list the file leaves out, and a tenant it does not name, are left alone', async () => {
    const t = fresh();
    const other = fresh();
    await apply(await plan(fileFor(t)));
    await apply(await plan(fileFor(other)));
    // the same tenant with no lists: only its own fields are managed
    const bare = `version: 1\ntenants:\n  - { id: ${t}, name: renamed, default_pool: main }\n`;
    const p = await plan(bare);
    expect(p.changes).toEqual([
      {
        action: 'update',
        kind: 'tenant',
        name: t,
        diffs: [
          { field: 'name', before: `Tenant ${t}`, after: 'renamed' },
          { field: 'rpm_limit', before: 600, after: null },
          { field: 'cors_origins', before: ['https://app.example.com'], after: null },
        ],
      },
    ]);
    await apply(p);
    const counts = await db.batch<{ n: number }>(
      [t, other].map((id) =>
        db
          .prepare(
            `SELECT (SELECT COUNT(*) FROM models WHERE tenant_id = ?1) + (SELECT COUNT(*) FROM pools WHERE tenant_id = ?1)
             + (SELECT COUNT(*) FROM upstream_grants WHERE tenant_id = ?1) + (SELECT COUNT(*) FROM experiments WHERE tenant_id = ?1) AS n`,
          )
          .bind(id),
      ),
    );
    expect(counts.map((r) => r.results[0]!.n)).toEqual([7, 7]);
  });

  it('a batch with a failing statement leaves the database as it was', async () => {
    const t = fresh();
    const p = await plan(fileFor(t));
    // someone registers a model of the same name between plan and apply
    await db.batch([
      db.prepare("INSERT INTO tenants (id, name) VALUES (?1, 'early')").bind(`${t}-x`),
    ]);
    const conflicting = p.statements.map((s) =>
      s.sql.startsWith('INSERT INTO models') && s.params[2] === 'test-small'
        ? { ...s, params: s.params.map((v, i) => (i === 0 ? 'dup-id' : v)) }
        : s,
    );
    await db
      .prepare(
        "INSERT INTO models (id, name, provider, upstream_model, input_usd_per_mtok, output_usd_per_mtok) VALUES ('dup-id', 'x', 'openai', 'x', 1, 1)",
      )
      .run();
    await expect(
      db.batch(conflicting.map((s) => db.prepare(s.sql).bind(...s.params))),
    ).rejects.toThrow();
    const left = await db
      .prepare(
        'SELECT (SELECT COUNT(*) FROM tenants WHERE id = ?1) + (SELECT COUNT(*) FROM upstream_grants WHERE tenant_id = ?1) + (SELECT COUNT(*) FROM models WHERE tenant_id = ?1) AS n',
      )
      .bind(t)
      .first<{ n: number }>();
    expect(left!.n).toBe(0);
    await db.prepare("DELETE FROM models WHERE id = 'dup-id'").run();
  });
});

describe('broken files: every problem with its path and line, and no plan', () => {
  it('YAML syntax', async () => {
    const errors = await errorsOf('version: 1\ntenants:\n  - id: a\n   name: b\n');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ path: '', line: 4 });
  });

  it('schema: wrong values, unknown keys and a missing field, each on its own line', async () => {
    const text = [
      'version: 1', // 1
      'tenants:', // 2
      '  - id: ok-tenant', // 3
      '    name: x', // 4
      '    color: blue', // 5
      '    models:', // 6
      '      - name: m', // 7
      '        provider: openai', // 8
      '        upstream_model: m', // 9
      '        input_usd_per_mtok: -1', // 10
      '      - name: n', // 11
      '        provider: gopher', // 12
      '        upstream_model: n', // 13
      '        input_usd_per_mtok: 1', // 14
      '        output_usd_per_mtok: 1', // 15
    ].join('\n');
    const errors = await errorsOf(text);
    expect(errors.map((e) => [e.path, e.line])).toEqual(
      expect.arrayContaining([
        ['tenants[0].color', 5],
        ['tenants[0].models[0].input_usd_per_mtok', 10],
        ['tenants[0].models[0].output_usd_per_mtok', 7],
        ['tenants[0].models[1].provider', 12],
      ]),
    );
    expect(errors).toHaveLength(4);
  });

  it('references, duplicates, grants and unset variables', async () => {
    const t = fresh();
    const text = [
      'version: 1', // 1
      'tenants:', // 2
      `  - id: ${t}`, // 3
      '    name: x', // 4
      '    default_pool: nowhere', // 5
      '    grants: [{ host: api.example.com }]', // 6
      '    models:', // 7
      '      - { name: m, provider: openai, upstream_model: m, base_url: "https://evil.example/v1", input_usd_per_mtok: 1, output_usd_per_mtok: 1 }', // 8
      '      - { name: m, provider: openai, upstream_model: m, input_usd_per_mtok: 1, output_usd_per_mtok: 1 }', // 9
      '      - { name: k, provider: openai, upstream_model: k, base_url: "https://api.example.com/v1", secret_name: OPERATOR_TOKEN, input_usd_per_mtok: 1, output_usd_per_mtok: 1 }', // 10
      '    pools:', // 11
      '      - name: p', // 12
      '        bundle_version: test-v1', // 13
      '        members: [m, ghost]', // 14
      '        fallback_model: ghost', // 15
      '    experiments:', // 16
      '      - { pool: q, name: e, arms: [{ name: a, weight: 1, model: ghost }] }', // 17
    ].join('\n');
    const errors = await errorsOf(text);
    expect(errors.map((e) => [e.path, e.line])).toEqual([
      [`tenants[0].models[1].name`, 9],
      [`tenants[0].default_pool`, 5],
      [`tenants[0].models[0].base_url`, 8],
      [`tenants[0].models[2].secret_name`, 10],
      [`tenants[0].pools[0].members[1]`, 14],
      [`tenants[0].pools[0].fallback_model`, 15],
      [`tenants[0].experiments[0].pool`, 17],
      [`tenants[0].experiments[0].arms[0].model`, 17],
    ]);
    const unset = await errorsOf(`version: 1\ntenants:\n  - id: x\n    name: "\${NOPE}"\n`);
    expect(unset).toEqual([
      { path: 'tenants[0].name', line: 4, message: '${NOPE} is not set and has no default' },
    ]);
    // nothing of any of them was written
    expect(await db.prepare('SELECT id FROM tenants WHERE id = ?1').bind(t).first()).toBeNull();
  });

  it('JSON files are read the same way, with lines', async () => {
    const errors = await errorsOf(
      '{\n  "version": 1,\n  "tenants": [\n    { "id": "j", "name": 5 }\n  ]\n}\n',
    );
    expect(errors).toEqual([expect.objectContaining({ path: 'tenants[0].name', line: 4 })]);
  });
});

describe('SQL text for wrangler', () => {
  it('writes every value as a literal, so quotes, semicolons and whitespace stay data', async () => {
    const t = fresh();
    const hostile = `O'Brien";  DROP TABLE tenants;\n\t-- ?1 \${x}`;
    const p = await plan(
      `version: 1\ntenants:\n  - id: ${t}\n    name: ${JSON.stringify(hostile.replace('${x}', () => '$${x}'))}\n`,
    );
    for (const s of p.statements) await db.prepare(statementSql(s).slice(0, -1)).run();
    const row = await db
      .prepare('SELECT name FROM tenants WHERE id = ?1')
      .bind(t)
      .first<{ name: string }>();
    expect(row!.name).toBe(hostile);
  });
});
