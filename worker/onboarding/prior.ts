/**
 * The population prior of identities a new model starts from: the manifest's `irt.prior`
 * (`{ mean: [d], cov: [[d x d]] }`), validated against the bundle's identity_dim. A bundle without
 * one gets the empirical prior of its trained identities (mean, covariance + a small ridge), so a
 * quiz still has a proper Gaussian to start from.
 */
import { z } from 'zod';
import type { Manifest } from '../bundle/manifest';
import { ApiError } from '../errors';
import type { Bank } from './bank';
import { cholesky } from './linalg';
import type { GaussianPrior } from './items';

const priorSchema = z.object({
  mean: z.array(z.number().finite()),
  cov: z.array(z.array(z.number().finite())),
});

/** The bundle has no usable prior (broken manifest): onboarding under it is impossible (422). */
function priorError(message: string): ApiError {
  return new ApiError(422, message, { code: 'bundle_without_prior', param: 'bundle' });
}

/** Added to the diagonal of an empirical covariance so it is positive definite. */
const RIDGE = 1e-2;

/**
 * The prior of identities under `manifest`; throws a 422 `bundle_without_prior` error when it is malformed.
 *
 * @example
 * const prior = identityPrior(manifest);
 * prior.mean.length === manifest.identity_dim; // true
 */
export function identityPrior(manifest: Manifest): GaussianPrior {
  const d = manifest.identity_dim;
  const raw = (manifest.irt as Record<string, unknown> | undefined)?.prior;
  let prior: GaussianPrior;
  if (raw !== undefined) {
    const r = priorSchema.safeParse(raw);
    if (!r.success) throw priorError(`bundle ${manifest.version}: irt.prior is malformed`);
    prior = r.data;
  } else {
    prior = empiricalPrior(
      manifest.models.map((m) => m.identity),
      d,
      manifest.version,
    );
  }
  const problem = priorProblem(prior, d);
  if (problem) throw priorError(`bundle ${manifest.version}: irt.prior ${problem}`);
  return prior;
}

/**
 * Why `prior` is not a usable Gaussian over d-dimensional identities (wrong size, covariance not
 * symmetric or not positive definite), or null when it is. Shared by the bundle's prior and a
 * bank's (bank.ts).
 *
 * @example
 * priorProblem({ mean: [0], cov: [[1]] }, 1); // null
 * priorProblem({ mean: [0], cov: [[-1]] }, 1); // 'covariance is not positive definite'
 */
export function priorProblem(prior: GaussianPrior, d: number): string | null {
  const { mean, cov } = prior;
  if (mean.length !== d || cov.length !== d || cov.some((row) => row.length !== d))
    return `does not have identity_dim ${d}`;
  // cholesky reads one triangle only: an asymmetric matrix would pass it and then be used as given
  if (
    cov.some((row, i) => row.some((x, j) => Math.abs(x - cov[j]![i]!) > 1e-9 * (1 + Math.abs(x))))
  ) {
    return 'covariance is not symmetric';
  }
  try {
    cholesky(cov);
  } catch {
    return 'covariance is not positive definite';
  }
  return null;
}

/** Which prior a quiz started from: the bank's population, or the bundle's. */
export type PriorSource = 'bank' | 'bundle';

/**
 * The prior a quiz on `bank` starts from: the bank's own (the models that answered it) when it
 * carries one, else the bundle's {@link identityPrior}. On mmlu-pro the bank's population sits well
 * above the bundle-wide mean ability; starting there took the gain a 20-item quiz keeps in pools of
 * four from a median 13% to 48% (docs/benchmarks/onboarding.md, "Tenant pools").
 *
 * @example
 * const { prior, source } = onboardingPrior(manifest, bank); // source === 'bank' for the mmlu-pro bank
 */
export function onboardingPrior(
  manifest: Manifest,
  bank: Pick<Bank, 'prior'>,
): { prior: GaussianPrior; source: PriorSource } {
  if (bank.prior) return { prior: { mean: bank.prior.mean, cov: bank.prior.cov }, source: 'bank' };
  return { prior: identityPrior(manifest), source: 'bundle' };
}

function empiricalPrior(ids: number[][], d: number, version: string): GaussianPrior {
  if (ids.length < 2)
    throw priorError(`bundle ${version}: no irt.prior and fewer than two trained identities`);
  const mean = Array.from({ length: d }, (_, i) => ids.reduce((s, v) => s + v[i]!, 0) / ids.length);
  const cov = Array.from({ length: d }, (_, i) =>
    Array.from(
      { length: d },
      (_, j) =>
        ids.reduce((s, v) => s + (v[i]! - mean[i]!) * (v[j]! - mean[j]!), 0) / (ids.length - 1) +
        (i === j ? RIDGE : 0),
    ),
  );
  return { mean, cov };
}
