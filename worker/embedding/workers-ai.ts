/**
 * Embeddings from the Workers AI binding (`env.AI.run(model, { text: [...] })`).
 */
import { ApiError } from '../errors';

/** The slice of the Workers AI binding used here (the real binding or a test double). */
export interface AiEmbeddingBinding {
  run(model: string, inputs: Record<string, unknown>): Promise<unknown>;
}

/**
 * Embeds texts with Workers AI. 503 JSON error when the binding is absent, 502 when it fails or
 * answers with vectors of the wrong shape.
 *
 * @example
 * const [vector] = await embedWorkersAi(env.AI, '@cf/baai/bge-base-en-v1.5', ['hello'], 768);
 */
export async function embedWorkersAi(
  ai: AiEmbeddingBinding | undefined,
  model: string,
  texts: readonly string[],
  dim: number,
): Promise<Float32Array[]> {
  if (!ai || typeof ai.run !== 'function') {
    throw new ApiError(
      503,
      'this pool embeds with Workers AI, but the AI binding is not configured here',
      { type: 'service_unavailable', code: 'embedding_unavailable' },
    );
  }
  let answer: unknown;
  try {
    answer = await ai.run(model, { text: [...texts] });
  } catch (e) {
    throw new ApiError(
      502,
      `Workers AI embedding failed: ${e instanceof Error ? e.message : String(e)}`,
      { type: 'upstream_error', code: 'embedding_failed' },
    );
  }
  const data = (answer as { data?: unknown } | null)?.data;
  if (
    !Array.isArray(data) ||
    data.length !== texts.length ||
    !data.every((v) => Array.isArray(v) && v.length === dim)
  ) {
    throw new ApiError(
      502,
      `Workers AI embedding answer is not ${texts.length} vector(s) of ${dim} dims`,
      { type: 'upstream_error', code: 'embedding_failed' },
    );
  }
  return (data as number[][]).map((v) => Float32Array.from(v));
}
