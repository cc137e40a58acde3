/**
 * Worker entry point (wrangler.toml `main`): the Hono app, plus the consumer of the optional
 * decision-log Queue (batched D1 inserts).
 */
import { createApp } from './app';
import { insertDecisionLogs, type DecisionLogEntry } from './data/decision-log';
import type { Env } from './env';
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
} satisfies ExportedHandler<Env>;
