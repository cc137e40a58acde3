/**
 * A circuit breaker per (tenant, model), per isolate: after `failureThreshold` consecutive tries
 * that say the target is unhealthy (5xx, timeouts, connection errors, empty or non-SSE answers,
 * broken streams; see `verdictOf`), the target is skipped without a network call for `cooldownMs`;
 * then one request probes it (half-open) and its result closes the breaker or opens it again. A probe
 * that never reports (its request was torn down before it could) holds the slot for one more
 * cooling period at most, so a lost probe never ejects the target for good.
 *
 * Keyed by tenant as well as model, so that one tenant's traffic (or its failures, which a tenant
 * can provoke with its own requests) never ejects a target for another tenant. The state lives in
 * the isolate's memory: each isolate learns on its own, and a fresh isolate starts closed.
 */
import type { Verdict } from './classify';
import type { FailureReason } from './reasons';

export type { Verdict } from './classify';

export interface BreakerSettings {
  /** Consecutive unhealthy tries that open the breaker. */
  failureThreshold: number;
  /** How long an open breaker skips its target before one probe may go through. */
  cooldownMs: number;
}

export type BreakerState = 'closed' | 'open' | 'half_open';

interface Entry {
  tenantId: string;
  modelId: string;
  model: string;
  failures: number;
  /** When it last opened; null while closed. */
  openedAt: number | null;
  /** When the half-open probe under way was let through; null when none is. */
  probeAt: number | null;
  lastFailure: FailureReason | null;
}

/** Only targets with recent failures have an entry; a healthy answer deletes it. */
const entries = new Map<string, Entry>();
/** Bound on entries per isolate; past it the oldest goes (a Map iterates in insertion order). */
const MAX_ENTRIES = 10_000;

const keyOf = (tenantId: string, modelId: string): string => `${tenantId}\u0000${modelId}`;

function stateOf(e: Entry, settings: BreakerSettings, now: number): BreakerState {
  if (e.openedAt === null) return 'closed';
  return now - e.openedAt >= settings.cooldownMs ? 'half_open' : 'open';
}

/** The health gate `callWithFallback` consults: targets by their index in its list. */
export interface TargetHealth {
  /** Whether target `i` may be called now; in half-open state this takes the one probe slot. */
  admit(i: number): boolean;
  /** How a try at target `i` went (for a stream: once it ended). */
  report(i: number, verdict: Verdict, reason?: FailureReason): void;
}

/**
 * The breakers of one tenant's targets (`id`: the D1 model id; `name`: shown in /healthz).
 *
 * @example
 * const health = targetHealth(tenant.id, models.map((m) => ({ id: m.id, name: m.name })), config.breaker);
 * await callWithFallback(targets, req, { ...opts, health });
 */
export function targetHealth(
  tenantId: string,
  targets: ReadonlyArray<{ id: string; name: string }>,
  settings: BreakerSettings,
  now: () => number = Date.now,
): TargetHealth {
  const entryAt = (i: number): Entry | undefined => {
    const t = targets[i];
    return t ? entries.get(keyOf(tenantId, t.id)) : undefined;
  };
  return {
    admit(i) {
      const e = entryAt(i);
      if (!e) return true;
      const t = now();
      const state = stateOf(e, settings, t);
      if (state === 'closed') return true;
      if (state === 'open') return false;
      if (e.probeAt !== null && t - e.probeAt < settings.cooldownMs) return false;
      e.probeAt = t;
      return true;
    },
    report(i, verdict, reason) {
      const t = targets[i];
      if (!t) return;
      const key = keyOf(tenantId, t.id);
      const e = entries.get(key);
      if (verdict === 'healthy') {
        entries.delete(key);
        return;
      }
      if (verdict === 'neutral') {
        if (e) e.probeAt = null;
        return;
      }
      if (!e && entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value as string);
      const entry = e ?? {
        tenantId,
        modelId: t.id,
        model: t.name,
        failures: 0,
        openedAt: null,
        probeAt: null,
        lastFailure: null,
      };
      entry.failures++;
      entry.lastFailure = reason ?? null;
      // a failed probe (or a forced try while open) starts a fresh cooling period
      if (entry.openedAt !== null || entry.failures >= settings.failureThreshold)
        entry.openedAt = now();
      entry.probeAt = null;
      entries.set(key, entry);
    },
  };
}

/** One target's breaker as /healthz?detail=1 shows it. */
export interface BreakerView {
  model: string;
  model_id: string;
  state: BreakerState;
  consecutive_failures: number;
  last_failure: FailureReason | null;
  opened_at: string | null;
  /** Milliseconds until a probe may go through (0 when half-open); null while closed. */
  probe_in_ms: number | null;
}

/**
 * The breakers of this isolate that belong to `tenantId` (targets without recent failures have
 * none and are closed), sorted by model name.
 *
 * @example
 * breakerStates(tenant.id, config.breaker); // [{ model: 'gpt-4o', state: 'open', consecutive_failures: 3, ... }]
 */
export function breakerStates(
  tenantId: string,
  settings: BreakerSettings,
  now: () => number = Date.now,
): BreakerView[] {
  const t = now();
  return [...entries.values()]
    .filter((e) => e.tenantId === tenantId)
    .sort((a, b) => a.model.localeCompare(b.model))
    .map((e) => ({
      model: e.model,
      model_id: e.modelId,
      state: stateOf(e, settings, t),
      consecutive_failures: e.failures,
      last_failure: e.lastFailure,
      opened_at: e.openedAt === null ? null : new Date(e.openedAt).toISOString(),
      probe_in_ms: e.openedAt === null ? null : Math.max(0, e.openedAt + settings.cooldownMs - t),
    }));
}
