/**
 * Types of the upstream phase: the router hands an ordered list of targets (best first) to
 * `callWithFallback` (./fallback.ts), which tries them through the provider adapters
 * (worker/providers) and reports every try.
 */
import type { ApiError } from '../errors';
import type { WorkersAiBinding } from '../providers/types';
import type { TokenUsage } from '../providers/usage';
import type { TargetHealth } from './breaker';
import type { FailureReason } from './reasons';

interface AttemptBase {
  target: string;
  /** HTTP status from upstream, or 0 when no response arrived (connection error, timeout). */
  status: number;
  ms: number;
}

/** The outcome of one try against one target: it answered, or failed for `reason`. */
export type Attempt =
  | (AttemptBase & { ok: true; reason?: undefined })
  | (AttemptBase & { ok: false; reason: FailureReason });

export interface FallbackOptions {
  /** Per-attempt budget until the first byte of a streamed answer. */
  timeoutMs: number;
  /**
   * Per-attempt budget for a whole non-streamed answer: such an upstream sends nothing until the
   * completion is done, so the first-byte budget would cut off every long answer. Defaults to
   * `timeoutMs`.
   */
  completionTimeoutMs?: number;
  /** Most targets tried, the first included. */
  maxTries: number;
  /** Workers AI binding, when configured (`env.AI`, or a test double of the same shape). */
  ai?: Ai | WorkersAiBinding;
  /** Injected fetch (tests); defaults to global fetch. */
  fetch?: typeof fetch;
  /**
   * Longest silence allowed once a stream has begun; the stream then ends with an error event.
   * Defaults to `timeoutMs`.
   */
  idleTimeoutMs?: number;
  /**
   * The client's request signal: when it aborts, the try in flight is aborted and no further
   * upstream is tried.
   */
  signal?: AbortSignal;
  /**
   * Epoch ms of the request's overall deadline: each try's budget is cut to the time left, and no
   * try starts after it (the answer is then a 504 `deadline_exceeded`).
   */
  deadlineAt?: number;
  /** Circuit breakers of the targets (by index): open ones are skipped, every try is reported. */
  health?: TargetHealth;
}

/**
 * How the upstream phase ended, once the client has the whole answer: `answered` (complete),
 * `upstream_error` (no target answered, or the upstream rejected the request), `stream_cut` (a
 * stream broke after it began), `client_closed` (the client went away first).
 */
export type UpstreamOutcome = 'answered' | 'upstream_error' | 'stream_cut' | 'client_closed';

/** What the answer that reached the client used, and how long its upstream took. */
export interface AnswerMeasure {
  /** The upstream's own count; null when it reported none (or the stream ended before it did). */
  usage: TokenUsage | null;
  /**
   * From sending the answering try's request to the answer's first byte: a stream's first event,
   * a JSON answer's status and headers (which such an upstream sends with the finished body).
   */
  ttfbMs: number;
  /** From sending that request to the answer's end (a stream: its last byte, or the client leaving). */
  upstreamMs: number;
}

export interface FallbackResult {
  /**
   * OpenAI-format response: JSON, or `text/event-stream` passed through chunk by chunk; for an
   * error, `error` rendered.
   */
  response: Response;
  /**
   * Set when the answer is an error: the upstream's own about the request (relayed clean), or the
   * router's when no target answered. Handlers throw it (with their headers) for the error handler
   * to render.
   */
  error: ApiError | null;
  /**
   * Index into the targets of the one that answered (with a completion, or with an error about the
   * request itself); -1 when none did (the response is then the router's error).
   */
  used: number;
  attempts: Attempt[];
  /** Settles when the answer has ended (a stream: after its last byte, or when the client left). */
  settled: Promise<UpstreamOutcome>;
  /**
   * Settles with `settled`: the usage and timing of the answer that reached the client; null when
   * none did (the response is an error).
   */
  measured: Promise<AnswerMeasure | null>;
}
