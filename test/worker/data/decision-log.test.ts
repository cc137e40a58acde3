// Decision-log writes: the optional Queue path (producer falls back to D1 when sending fails;
// the consumer inserts a batch) and the direct D1 insert.
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import {
  decisionLogBacklog,
  recordDecision,
  type DecisionLogEntry,
} from '../../../worker/data/decision-log';
import worker from '../../../worker/index';
import { D1_FAULTS, faultyD1 } from '../support/faulty-d1';
import { testEnv } from '../support/seed';

function entry(id: string): DecisionLogEntry {
  return {
    id,
    tenantId: 't-log',
    pool: 'default',
    arm: null,
    bundleVersion: 'test-v1',
    model: 'test-tiny',
    preference: 0.2,
    candidates: ['test-tiny', 'test-large'],
    probs: [0.7, 0.3],
    expectedCostUsd: 0.0001,
    predictedQuality: 0.61,
    routingMs: 1.5,
    attempts: [{ target: 'test-tiny', status: 200, ok: true, ms: 12 }],
    status: 'ok',
  };
}

async function row(id: string): Promise<Record<string, unknown> | null> {
  return testEnv.DB.prepare('SELECT * FROM decision_log WHERE id = ?1').bind(id).first();
}

describe('decision log', () => {
  it('writes straight to D1 without a queue', async () => {
    await recordDecision(testEnv, entry('direct-1'));
    expect(await row('direct-1')).toMatchObject({
      model: 'test-tiny',
      preference: 0.2,
      status: 'ok',
      probs: '[0.7,0.3]',
      shown: null,
    });
  });

  it('keeps which candidates the policy was shown, aligned with candidates', async () => {
    await recordDecision(testEnv, { ...entry('shown-1'), shown: [true, false], probs: [1, 0] });
    expect(await row('shown-1')).toMatchObject({
      candidates: '["test-tiny","test-large"]',
      shown: '[true,false]',
      probs: '[1,0]',
    });
  });

  it('sends to the queue when bound, and falls back to D1 when sending fails', async () => {
    const sent: unknown[] = [];
    const queue = {
      async send(body: unknown) {
        sent.push(body);
      },
    } as unknown as Queue<unknown>;
    await recordDecision({ DB: testEnv.DB, DECISION_LOG_QUEUE: queue }, entry('queued-1'));
    expect(sent).toEqual([entry('queued-1')]);
    expect(await row('queued-1')).toBeNull();
    const broken = {
      async send() {
        throw new Error('queue down');
      },
    } as unknown as Queue<unknown>;
    await recordDecision({ DB: testEnv.DB, DECISION_LOG_QUEUE: broken }, entry('queued-2'));
    expect(await row('queued-2')).toMatchObject({ status: 'ok' });
  });

  it('the queue consumer inserts a batch and acks it', async () => {
    const batch = createMessageBatch<unknown>('decision-log', [
      { id: 'a', timestamp: new Date(), attempts: 1, body: entry('batch-1') },
      {
        id: 'b',
        timestamp: new Date(),
        attempts: 1,
        body: { ...entry('batch-2'), shown: [false, true] },
      },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch as MessageBatch<unknown>, testEnv);
    const result = await getQueueResult(batch, ctx);
    expect(result.ackAll).toBe(true);
    expect(await row('batch-1')).not.toBeNull();
    expect(await row('batch-2')).toMatchObject({ shown: '[false,true]' });
    expect(await row('batch-1')).toMatchObject({ shown: null }); // queued by code older than the column
  });

  it('keeps rows D1 refuses and writes them, once each, with the next write that succeeds', async () => {
    const db = faultyD1(testEnv.DB);
    const before = decisionLogBacklog().pending;
    db.fail(D1_FAULTS.locked);
    for (const id of ['retry-1', 'retry-2', 'retry-3'])
      await recordDecision({ DB: db.db }, entry(id));
    expect(decisionLogBacklog().pending).toBe(before + 3);
    expect(await row('retry-1')).toBeNull();
    db.fail(null);
    await recordDecision({ DB: db.db }, entry('retry-4'));
    expect(decisionLogBacklog().pending).toBe(before);
    const { results } = await testEnv.DB.prepare(
      "SELECT id FROM decision_log WHERE id LIKE 'retry-%' ORDER BY id",
    ).all<{ id: string }>();
    expect(results.map((r) => r.id)).toEqual(['retry-1', 'retry-2', 'retry-3', 'retry-4']);
  });

  it('with a queue whose send fails and D1 down, the row waits; a later queued write flushes it to D1', async () => {
    const db = faultyD1(testEnv.DB);
    const broken = {
      async send() {
        throw new Error('queue down');
      },
    } as unknown as Queue<unknown>;
    const working = { async send() {} } as unknown as Queue<unknown>;
    db.fail(D1_FAULTS.noSuchTable);
    await recordDecision({ DB: db.db, DECISION_LOG_QUEUE: broken }, entry('qretry-1'));
    db.fail(null);
    await recordDecision({ DB: db.db, DECISION_LOG_QUEUE: working }, entry('qretry-2'));
    expect(await row('qretry-1')).not.toBeNull();
    expect(await row('qretry-2')).toBeNull(); // it went to the queue
  });

  it('a redelivered queue batch is written once and acked (rows already in D1 are skipped)', async () => {
    const make = () =>
      createMessageBatch<unknown>('decision-log', [
        { id: 'r1', timestamp: new Date(), attempts: 2, body: entry('redeliver-1') },
        { id: 'r2', timestamp: new Date(), attempts: 2, body: entry('redeliver-2') },
      ]);
    await recordDecision(testEnv, entry('redeliver-1'));
    const batch = make();
    const ctx = createExecutionContext();
    await worker.queue(batch as MessageBatch<unknown>, testEnv);
    expect((await getQueueResult(batch, ctx)).ackAll).toBe(true);
    const { results } = await testEnv.DB.prepare(
      "SELECT id FROM decision_log WHERE id LIKE 'redeliver-%' ORDER BY id",
    ).all<{ id: string }>();
    expect(results.map((r) => r.id)).toEqual(['redeliver-1', 'redeliver-2']);
  });
});
