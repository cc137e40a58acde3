/**
 * What the pipeline's Node routing tools share (onboard-routes.ts, online-routes.ts,
 * serve-decisions.ts): their command-line flags, the candidate they are sent, and the bundle's IRT
 * and policy graphs opened in onnxruntime-node, one thread each, as the benchmarks route with them.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { fromOrtSession, parseManifest, sessionOptions } from '../../worker/decision';
import type { Candidate, DecisionBundle, OrtTensorClass } from '../../worker/decision';

/** A candidate as the Python side sends it (snake case, prices per million tokens). */
export const candidateSchema = z.object({
  name: z.string().min(1),
  identity: z.array(z.number()),
  input_usd_per_mtok: z.number().nonnegative(),
  output_usd_per_mtok: z.number().nonnegative(),
  expected_output_tokens: z.number().nonnegative(),
  cov_factor: z.array(z.array(z.number())).optional(),
});
export type CandidateInput = z.infer<typeof candidateSchema>;

/**
 * The decision core's candidate for one the Python side sent.
 *
 * @example
 * const list = job.candidates.map(toCandidate);
 */
export function toCandidate(c: CandidateInput): Candidate {
  return {
    name: c.name,
    identity: c.identity,
    inputUsdPerMtok: c.input_usd_per_mtok,
    outputUsdPerMtok: c.output_usd_per_mtok,
    expectedOutputTokens: c.expected_output_tokens,
    ...(c.cov_factor ? { covFactor: c.cov_factor } : {}),
  };
}

/**
 * The value of `--name` on the command line, else `fallback`; throws when neither is there.
 *
 * @example
 * const outDir = arg('out');
 */
export function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`missing --${name}`);
  return v;
}

/**
 * The bundle in `dir` with its IRT and policy graphs open in onnxruntime-node (one thread each).
 *
 * @example
 * const bundle = await openNodeBundle('model-assets/bundles/v2026-11-23.5');
 */
export async function openNodeBundle(dir: string): Promise<DecisionBundle> {
  const manifest = parseManifest(JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')));
  const ort = await import('onnxruntime-node');
  const open = async (name: string) =>
    fromOrtSession(
      (await ort.InferenceSession.create(path.join(dir, `${name}.onnx`), {
        ...sessionOptions(),
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
      })) as never,
      ort.Tensor as unknown as OrtTensorClass,
    );
  return { manifest, irt: await open('irt'), policy: await open('policy') };
}
