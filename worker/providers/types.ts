/**
 * What the provider adapters work with: the chat request, the target to call, the Workers AI
 * binding. Each provider folder turns an OpenAI-style chat request into its own wire format and
 * its answer back into OpenAI chat-completions JSON or SSE; the fallback loop that calls them
 * (tries, budgets, breaker) has its types in worker/upstream/types.ts.
 */
import type { FailureReason } from '../upstream/reasons';

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
  refused?: { reason: Extract<FailureReason, 'not_granted'>; message: string };
}

/**
 * The slice of the Workers AI binding the providers use. The generated `Ai` type overloads `run`
 * per model name; pools name models at run time, so providers call it through this shape.
 */
export interface WorkersAiBinding {
  run(
    model: string,
    inputs: Record<string, unknown>,
    options?: { signal?: AbortSignal },
  ): Promise<unknown>;
}
