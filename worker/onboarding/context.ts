/**
 * What one onboarding call works with: the bundle's manifest, its identity prior and the quiz bank.
 * Failures are ApiErrors with the status and code the admin routes answer with.
 */
import { mayUseBundle } from '../data/bundle-owners';
import type { Env } from '../env';
import type { Manifest } from '../bundle/manifest';
import { ApiError } from '../errors';
import { readManifest } from '../runtime/manifests';
import type { Bank } from './bank';
import { loadBank } from './bank-r2';
import type { GaussianPrior } from './items';
import { onboardingPrior, type PriorSource } from './prior';

export interface OnboardingContext {
  manifest: Manifest;
  prior: GaussianPrior;
  /** `bank` when the bank carries the prior of the models that answered it, else `bundle`. */
  priorSource: PriorSource;
  bank: Bank;
}

/**
 * Resolves bundle (the request's, else `DEFAULT_BUNDLE`), bank and the prior a quiz on it starts
 * from (the bank's, else the bundle's). A bundle another tenant owns is not found: its bank's items
 * are that tenant's prompts.
 *
 * @example
 * const ctx = await onboardingContext(env, 'acme', undefined, 'default');
 * ctx.bank.params.count; // items to choose from
 */
export async function onboardingContext(
  env: Env,
  tenantId: string,
  bundle: string | undefined,
  bankName: string,
): Promise<OnboardingContext> {
  const version = bundle ?? env.DEFAULT_BUNDLE;
  if (!version)
    throw new ApiError(400, 'no bundle given and DEFAULT_BUNDLE is not set', {
      code: 'bundle_required',
      param: 'bundle',
    });
  const notFound = (): ApiError =>
    new ApiError(404, `bundle ${version} not found`, { code: 'bundle_not_found', param: 'bundle' });
  if (!(await mayUseBundle(env.DB, tenantId, version))) throw notFound();
  let manifest: Manifest | null;
  try {
    manifest = await readManifest(env.ASSETS, version);
  } catch (e) {
    const why = e instanceof Error ? e.message : 'bad manifest';
    throw new ApiError(503, `bundle ${version} is unusable: ${why}`, {
      code: 'bundle_unavailable',
      param: 'bundle',
    });
  }
  if (!manifest) throw notFound();
  const bank = await loadBank(env.ASSETS, version, bankName, manifest.identity_dim);
  const { prior, source } = onboardingPrior(manifest, bank);
  return { manifest, prior, priorSource: source, bank };
}
