import type { ChatRequest, UpstreamTarget, WorkersAiBinding } from './types';
import type { ApiError } from '../errors';
import type { TokenUsage, UsageSink } from './usage';

export type { WorkersAiBinding };

/** A byte-to-byte stream translator (a `TransformStream`, or a pair built from several). */
export interface ByteTransform {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
}

/** What one upstream call may use besides the target and the request. */
export interface CallContext {
  /** Aborted when the attempt times out before its first byte, or when the client goes away. */
  signal: AbortSignal;
  fetch: typeof fetch;
  ai?: WorkersAiBinding;
}

/**
 * One provider: how to call it and how to turn its answers into OpenAI chat-completions format.
 * Each provider folder exports one of these; `adapterFor` picks it by `UpstreamTarget.provider`.
 */
export interface ProviderAdapter {
  /** Starts the upstream call; resolves once the upstream's status and headers are in. */
  send(target: UpstreamTarget, req: ChatRequest, ctx: CallContext): Promise<Response>;
  /**
   * Turns a successful, non-streamed upstream body into OpenAI `chat.completion` JSON text, and
   * reads the usage the upstream reported in it (null: none).
   * Throws `UpstreamError('bad_response', ...)` when the body is not what the provider promises.
   */
  completion(body: string, target: UpstreamTarget): { body: string; usage: TokenUsage | null };
  /**
   * Turns the upstream's streamed bytes into OpenAI `chat.completion.chunk` SSE ending in
   * `data: [DONE]`, and hands the usage the upstream reports to `onUsage`. The usage chunk reaches
   * the client only when its request asked for it (`stream_options.include_usage`).
   */
  stream(target: UpstreamTarget, req: ChatRequest, onUsage: UsageSink): ByteTransform;
  /** Turns an upstream error answer into the clean error a caller may see (never the raw body). */
  error(status: number, body: string): ApiError;
}
