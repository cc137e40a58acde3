/** The error type provider adapters throw for a failed try, and short text for any thrown value. */
import type { OpenAIErrorBody } from '../errors';
import type { FailureReason } from '../upstream/reasons';

/**
 * A failure of one upstream call that happened before anything reached the client (or, in a
 * stream, that ends it). Not an answer to the caller by itself: the fallback loop records `reason`
 * in the try's `Attempt` and moves on (worker/upstream/attempt.ts); `status` is the upstream's HTTP
 * status when it sent one, or the 4xx a request the provider cannot take (`bad_request`) is
 * answered with.
 *
 * @example
 * throw new UpstreamError('no_ai_binding', 'the AI binding is not configured');
 */
export class UpstreamError extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
    readonly status = 0,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}

/**
 * Short human text for any thrown value (never a stack trace).
 *
 * @example
 * describe(new TypeError('fetch failed')); // 'fetch failed'
 */
export function describe(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/**
 * An error the upstream itself reported inside a stream that had already begun (an `event: error`,
 * a `data: {"error": ...}` chunk). `body` is the clean error event the client gets instead.
 *
 * @example
 * throw new UpstreamErrorEvent(streamErrorBody(JSON.parse(ev.data)));
 */
export class UpstreamErrorEvent extends UpstreamError {
  constructor(readonly body: OpenAIErrorBody) {
    super('error_event', body.error.message);
    this.name = 'UpstreamErrorEvent';
  }
}
