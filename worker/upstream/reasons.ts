/**
 * Why one try at an upstream target did not answer: the tag in `Attempt.reason`, the breaker's
 * `last_failure`, `x-router-fallback` (`name=<reason>;ms=N`) and the decision row's attempts
 * (docs/providers.md lists them for callers).
 */

/** The upstream answered with this HTTP error status. */
export type HttpFailure = `http_${number}`;

export type FailureReason =
  | HttpFailure
  /** The try's own budget ran out (first byte of a stream, or a whole JSON answer). */
  | 'timeout'
  /** The request's overall deadline cut the try. */
  | 'deadline'
  /** No connection could be made (fetch rejected). */
  | 'connect'
  /** The upstream answered with a redirect (3xx), which is never followed. */
  | 'redirect'
  /** The client went away. */
  | 'client_abort'
  /** Skipped: the target's circuit breaker is open (no call made). */
  | 'circuit_open'
  /** The tenant's grants do not cover the target (no call made; routing/targets.ts). */
  | 'not_granted'
  /** The target has no base URL, or needs the Workers AI binding that is absent. */
  | 'no_base_url'
  | 'no_ai_binding'
  /** Workers AI threw. */
  | 'ai_error'
  /** A 200 whose body is not what the provider promises. */
  | 'bad_response'
  /** The request cannot be translated for this provider (a 400 about the request). */
  | 'bad_request'
  /** A stream request answered with something that is not an event stream, or with nothing. */
  | 'not_sse'
  | 'empty_stream'
  /** A stream that had begun went silent, ended early, or carried the upstream's error event. */
  | 'stalled'
  | 'incomplete'
  | 'error_event'
  /** A stream that had begun broke (reported to the breaker when it ends). */
  | 'stream_cut';

/**
 * The reason for an upstream HTTP error status.
 *
 * @example
 * httpFailure(503); // 'http_503'
 */
export function httpFailure(status: number): HttpFailure {
  return `http_${status}`;
}
