-- Upstream grants: what a tenant's own models (models.tenant_id = the tenant) may call. One row
-- pairs a host with one worker secret the tenant may send there, so granting OPENAI_API_KEY for
-- api.openai.com does not let the tenant send it to any other host. `host` is a URL's host,
-- lower case: `hostname[:port]` (default ports dropped, IPv6 in brackets), matched exactly (no
-- wildcards). `secret_name` '' = that host without a secret. `allow_http` admits an http:// base
-- URL (else https only); `allow_private` admits a loopback, link-local, private or otherwise
-- internal host (an IP literal in those ranges, localhost, *.localhost, *.internal, *.local).
-- Global models (tenant_id NULL) are the operator's own and need no grant. The operator writes
-- these rows with SQL (docs/security.md); each isolate sees a change within POOL_CACHE_SECONDS.
CREATE TABLE upstream_grants (
  tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  host           TEXT NOT NULL CHECK (host <> '' AND host = lower(host) AND host NOT GLOB '*[/?#@ ]*'),
  secret_name    TEXT NOT NULL DEFAULT '' CHECK (secret_name NOT GLOB '*[^A-Z0-9_]*'),
  allow_http     INTEGER NOT NULL DEFAULT 0 CHECK (allow_http IN (0, 1)),
  allow_private  INTEGER NOT NULL DEFAULT 0 CHECK (allow_private IN (0, 1)),
  created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (tenant_id, host, secret_name)
);
