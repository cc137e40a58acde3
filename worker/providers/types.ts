/**
 * The seam between the decision core and the upstream providers.
 *
 * The router hands an ordered list of targets (best first) to `callWithFallback`
 * (worker/upstream/fallback.ts); each provider folder turns an OpenAI-style chat request into its
 * own wire format and its answer back into OpenAI chat-completions JSON or SSE.
 */
import type { TargetHealth } from '../upstream/breaker';

/** One message of an OpenAI-style chat request (content parts are flattened to text by providers that need it). */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool' | 'developer';
  content: string | Array<{ type: string; text?: string; [key: string]: unknown }> | null;
  name?: string;
  [key: string]: unknown;
}

/** A validated OpenAI chat-completions request body, with the router's own fields removed. */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  max_tokens?: number;
  max_completion_tokens?: number;
  temperature?: number;
  top_p?: number;
  stop?: string | string[];
  [key: string]: unknown;
}

export type ProviderKind = 'openai' | 'anthropic' | 'workers-ai';

/** Where and how to call one model. Built from the D1 `models` row and the worker's secrets. */
export interface UpstreamTarget {
  /** Public model name (what `x-router-model` shows). */
  name: string;
  provider: ProviderKind;
  /** The provider's own model id (e.g. `gpt-4o-2024-05-13`, `@cf/meta/llama-3.1-8b-instruct`). */
  upstreamModel: string;
  /** Base URL for HTTP providers, e.g. `https://api.openai.com/v1`; unused for workers-ai. */
  baseUrl?: string;
  /** API key read from the secret named in the model row; undefined when the row names none. */
  apiKey?: string;
  /** Set when the router may not call this target (routing/targets.ts): the try fails with this reason, unsent. */
  refused?: { reason: string; message: string };
}

/** The outcome of one try against one target. */
export interface Attempt {
  target: string;
  /** HTTP status from upstream, or 0 when no response arrived (connection error, timeout). */
  status: number;
  ok: boolean;
  /**
   * Short reason when not ok: `timeout`, `deadline` (the request's deadline cut the try), `connect`,
   * `http_429`, `http_503`, `redirect` (a 3xx, never followed), `not_sse`, `empty_stream`, `bad_response`, `client_abort`,
   * `circuit_open` (skipped by the circuit breaker, no call made), ...
   */
  reason?: string;
  ms: number;
}

/**
 * The slice of the Workers AI binding the providers use. The generated `Ai` type overloads `run`
 * per model name; pools name models at run time, so providers call it through this shape.
 */
export interface WorkersAiBinding {
  run(model: string, inputs: Record<string, unknown>, options?: { signal?: AbortSignal }): Promise<unknown>;
}

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
  /** Longest silence allowed once a stream has begun; the stream then ends with an error event. Defaults to `timeoutMs`. */
  idleTimeoutMs?: number;
  /** The client's request signal: when it aborts, the try in flight is aborted and no further upstream is tried. */
  signal?: AbortSignal;
  /**
   * Epoch ms of the request's overall deadline: each try's budget is cut to the time left, and no
   * try starts after it (the answer is then a 504 `deadline_exceeded`).
   */
  deadlineAt?: number;
  /** Circuit breakers of the targets (by index): open ones are skipped, and every try is reported. */
  health?: TargetHealth;
}

/**
 * How the upstream phase ended, once the client has the whole answer: `answered` (complete),
 * `upstream_error` (no target answered, or the upstream rejected the request), `stream_cut` (a
 * stream broke after it began), `client_closed` (the client went away first).
 */
export type UpstreamOutcome = 'answered' | 'upstream_error' | 'stream_cut' | 'client_closed';

export interface FallbackResult {
  /** OpenAI-format response: JSON, or `text/event-stream` passed through chunk by chunk. */
  response: Response;
  /**
   * Index into the targets of the one that answered (with a completion, or with an error about the
   * request itself); -1 when none did (the response is then the router's error).
   */
  used: number;
  attempts: Attempt[];
  /** Settles when the answer has ended (for a stream: after its last byte, or when the client left). */
  settled: Promise<UpstreamOutcome>;
}
