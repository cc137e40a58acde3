// A per-tenant request ceiling the load test must not run into: a rate-limiting binding in
// wrangler.toml (`[[ratelimits]]`, which wrangler dev simulates, the same limit for every tenant)
// would answer 429 for the limiter, not for the router. The load test then spreads each run over
// several test tenants of its own (each new tenant has no D1 limits: NULL means none).

/**
 * The per-tenant ceiling of the first `[[ratelimits]]` block of wrangler.toml, in requests per
 * second, or null when there is none.
 *
 * @example
 * tenantCeilingRps('[[ratelimits]]\nname = "X"\nsimple = { limit = 6000, period = 60 }'); // 100
 */
export function tenantCeilingRps(toml) {
  const m = /^\[\[ratelimits\]\][^[]*?limit\s*=\s*(\d+)\s*,\s*period\s*=\s*(\d+)/ms.exec(toml);
  return m ? Number(m[1]) / Number(m[2]) : null;
}

/**
 * How many tenants a run at `rate` spreads its requests over: `fixed` when given, else one, or,
 * under a per-tenant ceiling, enough that each tenant gets at most half of it (the binding counts
 * in windows that span several runs).
 *
 * @example
 * tenantsPolicy(null, 100)(104); // 3
 * tenantsPolicy(null, null)(104); // 1
 */
export function tenantsPolicy(fixed, ceilingRps) {
  if (fixed) return () => fixed;
  if (!ceilingRps) return () => 1;
  return (rate) => Math.max(1, Math.ceil(rate / (ceilingRps / 2)));
}
