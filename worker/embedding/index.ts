/**
 * Picks how a request's prompt is embedded and returns the vector in the bundle's space:
 * `precomputed` (the caller's vector, checked against the bundle's space and dim), `local`
 * (tokenizer + embedder.onnx) or `workers-ai` (the AI binding). Computed vectors are cached per tenant.
 */
import { badRequest, ApiError } from '../errors';
import type { LoadedBundle } from '../runtime/bundle-loader';
import type { EmbeddingProvider } from '../data/pools';
import { cachedEmbedding } from './cache';
import { embedLocal } from './local';
import type { TokenizerSpec } from './tokenizer';
import { embedWorkersAi, type AiEmbeddingBinding } from './workers-ai';

export interface PrecomputedEmbedding {
  space: string;
  vector: readonly number[];
}

export interface EmbedRequest {
  /** Whose request this is: cached vectors are the tenant's own (embedding/cache.ts). */
  tenantId: string;
  bundle: LoadedBundle;
  /** Pool override of the bundle's provider; null = the bundle's. */
  poolProvider: EmbeddingProvider | null;
  text: string;
  precomputed?: PrecomputedEmbedding;
  ai?: AiEmbeddingBinding;
  workersAiModel: string;
}

export interface EmbedResult {
  vector: Float32Array;
  source: EmbeddingProvider;
  cacheHit: boolean;
}

/**
 * Embeds the prompt for routing (see module docs). Throws ApiError 400 for a precomputed vector in
 * the wrong space or of the wrong size, or when the pool needs one and none was sent.
 *
 * @example
 * const { vector, source } = await embedPrompt({ tenantId: tenant.id, bundle, poolProvider: null, text, workersAiModel });
 */
export async function embedPrompt(req: EmbedRequest): Promise<EmbedResult> {
  const { manifest } = req.bundle;
  const { space, dim } = manifest.embedding;
  if (req.precomputed) {
    if (req.precomputed.space !== space) {
      throw badRequest(
        `router.embedding.space is "${req.precomputed.space}", but this pool's bundle ${manifest.version} uses "${space}"`,
        'router.embedding.space',
        'embedding_space_mismatch',
      );
    }
    if (req.precomputed.vector.length !== dim) {
      throw badRequest(
        `router.embedding.vector has ${req.precomputed.vector.length} dims, space "${space}" has ${dim}`,
        'router.embedding.vector',
        'embedding_dim_mismatch',
      );
    }
    return {
      vector: Float32Array.from(req.precomputed.vector),
      source: 'precomputed',
      cacheHit: false,
    };
  }
  const provider = req.poolProvider ?? manifest.embedding.provider;
  if (provider !== 'local' && provider !== 'workers-ai') {
    throw badRequest(
      `this pool routes on precomputed embeddings: send router.embedding {space: "${space}", vector: [${dim} numbers]}`,
      'router.embedding',
      'embedding_required',
    );
  }
  if (provider === 'local') {
    const { embedder } = req.bundle;
    if (!embedder || !manifest.tokenizer) {
      throw new ApiError(503, `bundle ${manifest.version} has no local embedder`, {
        type: 'service_unavailable',
        code: 'embedding_unavailable',
      });
    }
    const spec = manifest.tokenizer as unknown as TokenizerSpec;
    const r = await cachedEmbedding(
      req.tenantId,
      space,
      req.text,
      async () => (await embedLocal(embedder, spec, [req.text]))[0]!,
    );
    return { vector: r.vector, source: 'local', cacheHit: r.hit };
  }
  const model = manifest.embedding.model ?? req.workersAiModel;
  const r = await cachedEmbedding(
    req.tenantId,
    space,
    req.text,
    async () => (await embedWorkersAi(req.ai, model, [req.text], dim))[0]!,
  );
  return { vector: r.vector, source: 'workers-ai', cacheHit: r.hit };
}
