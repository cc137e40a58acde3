/**
 * The bundle's own embedder: tokenizer (worker/embedding/tokenizer.ts) + embedder.onnx.
 * Runtime-agnostic: takes an `OnnxSession`, so Node tooling embeds exactly as the worker does.
 */
import type { OnnxSession } from '../decision/types';
import { tokenize, type TokenizerSpec } from './tokenizer';

/** Ids up to and including the last non-padding one (at least one, so an empty text keeps a column). */
function usedLength(ids: BigInt64Array): number {
  let n = ids.length;
  while (n > 1 && ids[n - 1] === 0n) n--;
  return Math.max(n, 1);
}

/**
 * Embeds texts in one embedder run; returns one L2-normalised vector per text.
 *
 * The ids tensor is as wide as the longest text needs, not `max_tokens`: id 0 is padding and adds
 * nothing to the bag (docs/bundle-contract.md). A chat prompt leaves much of it empty (alpaca-eval:
 * median 227 of 512 ids), and the embedder's gathers and bag product scale with the width.
 *
 * @example
 * const [vector] = await embedLocal(bundle.embedder, manifest.tokenizer as TokenizerSpec, ['What is 2+2?']);
 */
export async function embedLocal(
  embedder: OnnxSession,
  spec: TokenizerSpec,
  texts: readonly string[],
): Promise<Float32Array[]> {
  if (texts.length === 0) return [];
  const rows = texts.map((text) => tokenize(text, spec));
  const t = Math.max(...rows.map(usedLength));
  const ids = new BigInt64Array(texts.length * t);
  rows.forEach((row, i) => ids.set(row.subarray(0, t), i * t));
  const out = await embedder.run({ ids: { type: 'int64', data: ids, dims: [texts.length, t] } });
  const emb = out['embedding'];
  if (!emb || emb.dims.length !== 2)
    throw new Error('embedder.onnx returned no [B, dim] embedding');
  const dim = emb.dims[1]!;
  const data = emb.data as Float32Array;
  return texts.map((_, i) => data.slice(i * dim, (i + 1) * dim));
}
