/**
 * The operator API (mounted at `/operator`, behind the operator token, never a tenant key):
 * tenants, their API keys, their upstream grants and the bundles they own. See docs/worker.md,
 * "Management API".
 *
 * @example
 * app.route('/operator', operator);
 */
import { Hono } from 'hono';
import type { AppEnv } from '../../env';
import { bodyLimit } from '../../middleware/body-limit';
import { operatorAuth } from '../../middleware/operator-auth';
import { validBody, validParams, validQuery } from '../../middleware/validate';
import { disownBundle, listBundlesRoute, ownBundle } from './bundles';
import { addGrant, listGrantsRoute, removeGrant } from './grants';
import { createKey, listKeys, revokeKey } from './keys';
import {
  bundleParams,
  grantQuery,
  grantSchema,
  keyParams,
  newKeySchema,
  newTenantSchema,
  tenantListQuery,
  tenantParams,
  tenantPatchSchema,
} from './schemas';
import { createTenant, listTenantsRoute, patchTenant, removeTenant, showTenant } from './tenants';

const tenant = validParams(tenantParams);

export const operator = new Hono<AppEnv>()
  .use(bodyLimit())
  .use(operatorAuth())
  .post('/tenants', validBody(newTenantSchema), createTenant)
  .get('/tenants', validQuery(tenantListQuery), listTenantsRoute)
  .get('/tenants/:tenant', tenant, showTenant)
  .patch('/tenants/:tenant', tenant, validBody(tenantPatchSchema), patchTenant)
  .delete('/tenants/:tenant', tenant, removeTenant)
  .post('/tenants/:tenant/keys', tenant, validBody(newKeySchema), createKey)
  .get('/tenants/:tenant/keys', tenant, listKeys)
  .delete('/tenants/:tenant/keys/:key', validParams(keyParams), revokeKey)
  .get('/tenants/:tenant/grants', tenant, listGrantsRoute)
  .post('/tenants/:tenant/grants', tenant, validBody(grantSchema), addGrant)
  .delete('/tenants/:tenant/grants', tenant, validQuery(grantQuery), removeGrant)
  .get('/tenants/:tenant/bundles', tenant, listBundlesRoute)
  .put('/tenants/:tenant/bundles/:version', validParams(bundleParams), ownBundle)
  .delete('/tenants/:tenant/bundles/:version', validParams(bundleParams), disownBundle);
