/** The circuit-breaker part of `/healthz?detail=1`. */
import { breakerStates, type BreakerSettings, type BreakerView } from './breaker';

export interface BreakerSection {
  circuit_breakers: {
    /** Breakers live in each isolate's memory: this is what the isolate that answered knows. */
    scope: 'isolate';
    failure_threshold: number;
    cooldown_ms: number;
    /** This tenant's targets with recent failures; every target not listed is closed. */
    targets: BreakerView[];
  };
}

/**
 * The tenant's own breakers, for the health detail (never another tenant's).
 *
 * @example
 * return c.json({ status: 'ok', ...breakerSection(tenant.id, config.breaker) });
 */
export function breakerSection(tenantId: string, settings: BreakerSettings): BreakerSection {
  return {
    circuit_breakers: {
      scope: 'isolate',
      failure_threshold: settings.failureThreshold,
      cooldown_ms: settings.cooldownMs,
      targets: breakerStates(tenantId, settings),
    },
  };
}
