-- Bundles a tenant owns (docs/security.md, "Bundles"): a bundle built from one tenant's own traffic
-- (`npm run export-logs` -> `build:bundle --byod`) carries k-means centroids of its prompts'
-- embeddings and its outcomes, so only that tenant may route with it. A version listed here is
-- that tenant's alone; a version not listed is the operator's and every tenant's to use, as every
-- bundle was before this migration.
CREATE TABLE bundle_owners (
  version TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX bundle_owners_tenant ON bundle_owners(tenant_id);
