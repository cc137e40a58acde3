/**
 * The bundle's own embedder: tokenizer (worker/embedding/tokenizer.ts) + embedder.onnx.
 * Runtime-agnostic: takes an `OnnxSession`, so Node tooling embeds exactly as the worker does.
 */
import type { OnnxSession } from '../decision/types';
import { tokenize, type TokenizerSpec } from './tokenizer';

/**
 * Embeds texts in one embedder run; returns one L2-normalised vector per text.
 *
 * @example
 * const [vector] = await embedLocal(bundle.embedder, manifest.tokenizer as TokenizerSpec, ['What is 2+2?']);
 */
export async function embedLocal(embedder: OnnxSession, spec: TokenizerSpec, texts: readonly string[]): Promise<Float32Array[]> {
  if (texts.length === 0) return [];
  const t = spec.max_tokens;
  const ids = new BigInt64Array(texts.length * t);
  texts.forEach((text, i) => ids.set(tokenize(text, spec), i * t));
  const out = await embedder.run({ ids: { type: 'int64', data: ids, dims: [texts.length, t] } });
  const emb = out['embedding'];
  if (!emb || emb.dims.length !== 2) throw new Error('embedder.onnx returned no [B, dim] embedding');
  const dim = emb.dims[1]!;
  const data = emb.data as Float32Array;
  return texts.map((_, i) => data.slice(i * dim, (i + 1) * dim));
}
