/**
 * Public surface of the decision core (runtime-agnostic; safe to import from Node tooling).
 *
 * @example
 * import { decide, promptTokens } from './worker/decision';
 */
export {
  decide,
  decideBatch,
  DecisionInputError,
  isUncertaintyPenalty,
  MAX_UNCERTAINTY_PENALTY,
  UNCERTAINTY_PENALTY,
} from './decide';
export type { DecisionBundle } from './decide';
export { actualCostUsd, expectedCostUsd, promptTokens } from './cost';
export { writeFeatures } from './features';
export { nonDominated } from './frontier';
export { resolveIdentity } from './identity';
export { itemFromProbes, probeIdentities, PROBE_SCALE } from './item-params';
export type { PromptItem } from './item-params';
export { layeredSuccess, neighbourColumn } from './layer';
export type { ResolvedIdentity } from './identity';
export type { Candidate, DecideInput, Decision, OnnxSession, OnnxTensor } from './types';
export { parseManifest, manifestSchema } from '../bundle/manifest';
export type { Manifest } from '../bundle/manifest';
export { fromOrtSession, sessionOptions } from './ort-adapter';
export type { OrtLikeSession, OrtLikeTensor, OrtTensorClass } from './ort-adapter';
