/**
 * What one onboarding call works with: the bundle's manifest, its identity prior and the quiz bank.
 * Failures carry the HTTP status and error code the admin routes answer with.
 */
import type { Env } from '../env';
import type { Manifest } from '../bundle/manifest';
import { BankError, type Bank } from './bank';
import { loadBank } from './bank-r2';
import type { GaussianPrior } from './items';
import { readManifest } from './manifest';
import { PriorError, onboardingPrior, type PriorSource } from './prior';

export interface OnboardingContext {
  manifest: Manifest;
  prior: GaussianPrior;
  /** `bank` when the bank carries the prior of the models that answered it, else `bundle`. */
  priorSource: PriorSource;
  bank: Bank;
}

/** A request onboarding cannot serve, with the answer it gets. */
export class OnboardingError extends Error {
  override name = 'OnboardingError';
  constructor(message: string, readonly status: 400 | 404 | 422 | 502 | 503, readonly code: string, readonly param: string | null = null) {
    super(message);
  }
}

/**
 * Resolves bundle (the request's, else `DEFAULT_BUNDLE`), bank and the prior a quiz on it starts
 * from (the bank's, else the bundle's).
 *
 * @example
 * const ctx = await onboardingContext(env, undefined, 'default');
 * ctx.bank.params.count; // items to choose from
 */
export async function onboardingContext(env: Env, bundle: string | undefined, bankName: string): Promise<OnboardingContext> {
  const version = bundle ?? env.DEFAULT_BUNDLE;
  if (!version) throw new OnboardingError('no bundle given and DEFAULT_BUNDLE is not set', 400, 'bundle_required', 'bundle');
  let manifest: Manifest | null;
  try {
    manifest = await readManifest(env.ASSETS, version);
  } catch (e) {
    throw new OnboardingError(`bundle ${version} is unusable: ${e instanceof Error ? e.message : 'bad manifest'}`, 503, 'bundle_unavailable', 'bundle');
  }
  if (!manifest) throw new OnboardingError(`bundle ${version} not found`, 404, 'bundle_not_found', 'bundle');
  let bank: Bank;
  try {
    bank = await loadBank(env.ASSETS, version, bankName, manifest.identity_dim);
  } catch (e) {
    if (e instanceof BankError) throw new OnboardingError(e.message, e.status, e.status === 404 ? 'bank_not_found' : 'bank_invalid', 'bank');
    throw e;
  }
  try {
    const { prior, source } = onboardingPrior(manifest, bank);
    return { manifest, prior, priorSource: source, bank };
  } catch (e) {
    if (e instanceof PriorError) throw new OnboardingError(e.message, 422, 'bundle_without_prior', 'bundle');
    throw e;
  }
}
