/**
 * The constants the worker shares with the training pipeline, read from the one contract file
 * both sides load (./contract.json; model-assets/trainer/contract.py reads it for Python).
 * Runtime-agnostic (workerd, Node, the bench build).
 */
import contract from './contract.json';

/**
 * How many posterior standard deviations below its mean an uncertain identity's success logit is
 * routed at by default (a pool may set its own, `DecideInput.uncertaintyPenalty`):
 * p = sigmoid(a.theta - c - UNCERTAINTY_PENALTY * sqrt(a^T Sigma a)). A 20-item quiz
 * leaves a newcomer's identity uncertain, and routing on its mean sends it the prompts it is most
 * over-rated on; one std kept random 20-item quizzes from routing below the single-model hull on
 * mmlu-pro (docs/benchmarks/onboarding.md, "Routing on a pessimistic estimate").
 */
export const UNCERTAINTY_PENALTY: number = contract.uncertainty_penalty;

/**
 * The largest `DecideInput.uncertaintyPenalty` accepted (also the CHECK of
 * migrations/0005_pool_uncertainty_penalty.sql). Several stds below its mean a quiz identity is
 * all but never chosen; leaving the model out of the pool says that more plainly.
 */
export const MAX_UNCERTAINTY_PENALTY: number = contract.max_uncertainty_penalty;

/** Candidate feature names a bundle's policy may list (docs/bundle-contract.md). */
export const FEATURE_NAMES = contract.candidate_features as [string, ...string[]];
