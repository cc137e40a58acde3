/**
 * Worker entry point (wrangler.toml `main`): the Hono app, the consumer of the optional
 * decision-log Queue (batched D1 inserts), and the cron trigger's online update (feedback folded
 * into tenants' identities, online/apply.ts).
 */
import { createApp } from './app';
import { insertDecisionLogs, type DecisionLogEntry } from './data/decision-log';
import type { Env } from './env';
import { applyPendingFeedback } from './online/apply';
import { warmOrt } from './runtime/ort';

const app = createApp();

// ONNX Runtime's one-time initialisation starts with the isolate (Cloudflare evaluates this module
// while it starts the isolate for a first connection), not with the first routed request.
void warmOrt();

export default {
  fetch: app.fetch,
  async queue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
    try {
      await insertDecisionLogs(
        env.DB,
        batch.messages.map((m) => m.body as DecisionLogEntry),
      );
      batch.ackAll();
    } catch (e) {
      console.error('decision log batch insert failed; retrying', e);
      batch.retryAll();
    }
  },
  async scheduled(_controller: ScheduledController, env: Env): Promise<void> {
    const report = await applyPendingFeedback(env);
    if (report.applied + report.skipped + report.conflicts > 0)
      console.log(`online update: ${JSON.stringify(report)}`);
  },
} satisfies ExportedHandler<Env>;
