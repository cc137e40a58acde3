/**
 * The batched online update (the worker's `scheduled` handler; `npm start` can trigger it, see
 * docs/worker.md "Online learning"): the oldest pending feedback, at most `MAX_EVENTS_PER_RUN`
 * rows, grouped by (tenant, model, bundle version); each group's events folded into that tenant's
 * posterior of that model (`online_identities`), at most `MAX_UPDATE_BATCH` per Newton solve. A
 * tenant's feedback only ever moves its own row, so it never changes another tenant's routing,
 * even for a global model both use.
 */
import { z } from 'zod';
import type { Manifest } from '../bundle/manifest';
import {
  identityState,
  pendingFeedback,
  saveOnlineUpdate,
  type BaseSource,
  type PendingFeedback,
} from '../data/online-identities';
import { isCovFactor } from '../decision/identity';
import type { PromptItem } from '../decision/item-params';
import type { GaussianPrior } from '../onboarding/items';
import { cholesky, covFactor } from '../onboarding/linalg';
import { identityPrior } from '../onboarding/prior';
import { loadBank } from '../onboarding/bank-r2';
import { readManifest } from '../runtime/manifests';
import { decayedPenalty, logitStd, meanItem } from './decay';
import { covFromFactor, diagonalCov, updateInBatches, type FeedbackEvent } from './update';

/** Most feedback rows one run reads and folds in (a run's CPU stays that of a few quiz fits). */
export const MAX_EVENTS_PER_RUN = 256;

/** What one run did. */
export interface UpdateReport {
  /** Feedback rows folded into a posterior. */
  applied: number;
  /** Rows marked without an update (no usable item parameters, or no identity to start from). */
  skipped: number;
  /** (tenant, model, bundle) posteriors written. */
  identities: number;
  /** Groups left for the next run because another update wrote their posterior meanwhile. */
  conflicts: number;
}

const itemSchema = z.object({ a: z.array(z.number().finite()), c: z.number().finite() });

/** The decision's item parameters, when they parse and fit the bundle's identity_dim. */
function itemOf(text: string, d: number): PromptItem | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  const r = itemSchema.safeParse(raw);
  return r.success && r.data.a.length === d ? r.data : null;
}

const bankMeans = new Map<string, number[]>();

/** The mean item vector of the bundle's default quiz bank, or null without a usable bank. */
async function bankMean(bucket: R2Bucket, manifest: Manifest): Promise<number[] | null> {
  const hit = bankMeans.get(manifest.version);
  if (hit) return hit;
  try {
    const bank = await loadBank(bucket, manifest.version, 'default', manifest.identity_dim);
    const abar = meanItem(bank.params.a, bank.params.dim);
    bankMeans.set(manifest.version, abar);
    return abar;
  } catch {
    return null; // no bank (yet): no decay; asked again on the next run
  }
}

/**
 * The `decay` lever's factor on the pool's uncertainty penalty (decay.ts): how far the posterior's
 * std of the mean logit over the bank has shrunk since the quiz, at most 1; null when the model did
 * not start from a quiz identity or there is no bank.
 */
function penaltyScale(
  abar: number[] | null,
  base: { prior: GaussianPrior; source: BaseSource } | null,
  cov: number[][],
): number | null {
  if (!abar || !base || base.source !== 'quiz') return null;
  const start = logitStd(abar, base.prior.cov);
  return start > 0 ? decayedPenalty(1, logitStd(abar, cov), start) : null;
}

/** Whether a covariance can be a prior (a factor of fewer than d vectors cannot). */
function isPositiveDefinite(cov: number[][]): boolean {
  try {
    cholesky(cov);
    return true;
  } catch {
    return false;
  }
}

/**
 * The posterior a model's first update starts from, and where it came from: the stored identity
 * with its posterior covariance (a quiz's), else its stds, else the population's spread (a vector
 * set by hand); without a stored one, the manifest's identity with its `identity_std`.
 */
function startingPosterior(
  manifest: Manifest,
  stored: Awaited<ReturnType<typeof identityState>>['stored'],
  bundleModel: string | null,
): { prior: GaussianPrior; source: BaseSource } | null {
  const d = manifest.identity_dim;
  if (stored && stored.vector.length === d) {
    const fromFactor =
      stored.covFactor && isCovFactor(stored.covFactor, d)
        ? covFromFactor(stored.covFactor, d)
        : null;
    const cov =
      fromFactor && isPositiveDefinite(fromFactor)
        ? fromFactor
        : stored.std && stored.std.length === d && stored.std.every((s) => s > 0)
          ? diagonalCov(stored.std)
          : identityPrior(manifest).cov;
    return { prior: { mean: stored.vector.slice(), cov }, source: stored.source };
  }
  const entry = bundleModel
    ? manifest.models.find((m) => m.name === bundleModel || m.aliases.includes(bundleModel))
    : undefined;
  if (!entry || entry.identity.length !== d) return null;
  const std = entry.identity_std;
  const cov =
    std && std.length === d && std.every((s) => s > 0)
      ? diagonalCov(std)
      : identityPrior(manifest).cov;
  return { prior: { mean: entry.identity.slice(), cov }, source: 'manifest' };
}

/** Folds one (tenant, model, bundle) group's events in; returns what happened to it. */
async function updateGroup(
  env: { DB: D1Database; ASSETS: R2Bucket },
  rows: readonly PendingFeedback[],
  at: string,
): Promise<{ applied: number; skipped: number; written: boolean; conflict: boolean }> {
  const { tenantId, modelId, bundleVersion, bundleModel } = rows[0]!;
  const manifest = await readManifest(env.ASSETS, bundleVersion);
  const d = manifest?.identity_dim ?? 0;
  const events: FeedbackEvent[] = [];
  const applied: { decisionId: string; updatedAt: string }[] = [];
  const skipped: { decisionId: string; updatedAt: string }[] = [];
  for (const r of rows) {
    const item = manifest ? itemOf(r.itemParams, d) : null;
    const key = { decisionId: r.decisionId, updatedAt: r.updatedAt };
    if (item) {
      events.push({ item, y: r.score });
      applied.push(key);
    } else skipped.push(key);
  }
  const { online, stored } = await identityState(env.DB, tenantId, modelId, bundleVersion);
  const start = online
    ? {
        prior: { mean: online.vector, cov: covFromFactor(online.covFactor, d) },
        source: online.baseSource,
      }
    : manifest
      ? startingPosterior(manifest, stored, bundleModel)
      : null;
  if (!start || events.length === 0) {
    if (!manifest) {
      // the bundle may come back (R2 hiccup): leave the rows pending
      console.error(
        `online update: bundle ${bundleVersion} unreadable; ${rows.length} feedback rows wait`,
      );
      return { applied: 0, skipped: 0, written: false, conflict: false };
    }
    if (!start)
      console.error(
        `online update: model ${modelId} has no identity under ${bundleVersion}; ${applied.length} feedback rows marked unlearnt`,
      );
    const all = [...skipped, ...(start ? [] : applied)];
    await saveOnlineUpdate(env.DB, onlineWrite(rows[0]!, null, [], all, at, null, 0));
    return { applied: 0, skipped: all.length, written: false, conflict: false };
  }
  let post;
  try {
    post = updateInBatches(start.prior, events);
  } catch (e) {
    // the same events fail the same way on every run: mark them rather than retry them forever
    console.error(
      `online update of ${modelId} under ${bundleVersion}: no posterior; rows marked unlearnt`,
      e,
    );
    const all = [...skipped, ...applied];
    await saveOnlineUpdate(env.DB, onlineWrite(rows[0]!, null, [], all, at, null, 0));
    return { applied: 0, skipped: all.length, written: false, conflict: false };
  }
  const previous = online ? { nFeedback: online.nFeedback, updatedAt: online.updatedAt } : null;
  const base = manifest ? startingPosterior(manifest, stored, bundleModel) : null;
  const scale = manifest
    ? penaltyScale(await bankMean(env.ASSETS, manifest), base, post.cov)
    : null;
  await saveOnlineUpdate(
    env.DB,
    onlineWrite(
      rows[0]!,
      { ...post, source: start.source, penaltyScale: scale },
      applied,
      skipped,
      at,
      previous,
      (online?.nFeedback ?? 0) + events.length,
    ),
  );
  // the optimistic write landed when the identity now carries this run's stamp and count
  const check = await identityState(env.DB, tenantId, modelId, bundleVersion);
  const written = check.online?.updatedAt === at;
  return {
    applied: written ? applied.length : 0,
    skipped: skipped.length,
    written,
    conflict: !written,
  };
}

function onlineWrite(
  row: PendingFeedback,
  post: {
    mean: number[];
    cov: number[][];
    std: number[];
    source: BaseSource;
    penaltyScale: number | null;
  } | null,
  applied: { decisionId: string; updatedAt: string }[],
  skipped: { decisionId: string; updatedAt: string }[],
  at: string,
  previous: { nFeedback: number; updatedAt: string } | null,
  nFeedback: number,
): Parameters<typeof saveOnlineUpdate>[1] {
  return {
    tenantId: row.tenantId,
    modelId: row.modelId,
    bundleVersion: row.bundleVersion,
    vector: post?.mean ?? [],
    covFactor: post ? covFactor(post.cov) : [],
    std: post?.std ?? [],
    nFeedback,
    baseSource: post?.source ?? 'manifest',
    penaltyScale: post?.penaltyScale ?? null,
    previous,
    applied,
    skipped,
    at,
  };
}

/**
 * One batched online update over all tenants: reads at most `maxEvents` pending feedback rows and
 * folds each (tenant, model, bundle) group into its posterior.
 *
 * @example
 * ctx.waitUntil(applyPendingFeedback(env));
 */
export async function applyPendingFeedback(
  env: { DB: D1Database; ASSETS: R2Bucket },
  maxEvents: number = MAX_EVENTS_PER_RUN,
): Promise<UpdateReport> {
  const rows = await pendingFeedback(env.DB, Math.max(1, Math.min(maxEvents, MAX_EVENTS_PER_RUN)));
  const groups = new Map<string, PendingFeedback[]>();
  for (const r of rows) {
    const key = `${r.tenantId}\u0000${r.modelId}\u0000${r.bundleVersion}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const report: UpdateReport = { applied: 0, skipped: 0, identities: 0, conflicts: 0 };
  const at = new Date().toISOString();
  for (const group of groups.values()) {
    try {
      const r = await updateGroup(env, group, at);
      report.applied += r.applied;
      report.skipped += r.skipped;
      report.identities += r.written ? 1 : 0;
      report.conflicts += r.conflict ? 1 : 0;
    } catch (e) {
      // one group's failure (a D1 hiccup, a posterior that will not factor) must not stop the others
      console.error(
        `online update of ${group[0]!.modelId} for tenant ${group[0]!.tenantId} failed`,
        e,
      );
    }
  }
  return report;
}
