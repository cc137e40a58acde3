/**
 * The one decision about where a model may send which secret (issue 21). A tenant's own model
 * (`models.tenant_id` set) may call only a host the operator granted that tenant, over https
 * unless the grant allows http, a non-public host only when the grant allows that, and carry only
 * the secret the grant pairs with that host. Operator (global) rows are the operator's own
 * configuration and need no grant. No row may name a worker setting (a plain var or binding) as
 * its secret. Registration (`POST /admin/models`) and every upstream call (routing/targets.ts)
 * ask this function.
 */
import type { UpstreamGrant } from '../data/grants';
import { isWorkerSetting } from '../env';
import { ApiError } from '../errors';
import { DEFAULT_BASE_URL as ANTHROPIC_BASE_URL } from '../providers/anthropic/request';
import type { ProviderKind } from '../providers/types';
import { parseBaseUrl } from './base-url';

/** What the check needs from a model row. */
export interface UpstreamConfig {
  tenantId: string | null;
  provider: ProviderKind;
  baseUrl: string | null;
  secretName: string | null;
}

type RefusalCode = 'invalid_base_url' | 'host_not_granted' | 'secret_not_granted';

/**
 * Allowed, with the URL to call (canonical for tenant rows; null when the provider needs none), or
 * refused: `refusal` is the error the admin API answers with (400 `invalid_base_url`, 403
 * `host_not_granted` / `secret_not_granted`, naming `base_url` or `secret_name`).
 */
export type UpstreamDecision = { ok: true; url: string | null } | { ok: false; refusal: ApiError };

/** Secret names are upper-case identifiers (anything else could reach an unrelated property). */
const SECRET_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;

const refuse = (
  status: 400 | 403,
  code: RefusalCode,
  param: 'base_url' | 'secret_name',
  message: string,
): UpstreamDecision => ({ ok: false, refusal: new ApiError(status, message, { code, param }) });

/** The base URL a provider calls when the row has none (null: it needs one, or calls no URL). */
function providerDefault(provider: ProviderKind): string | null {
  return provider === 'anthropic' ? ANTHROPIC_BASE_URL : null;
}

/**
 * May this model be called (or stored) as configured, given its tenant's grants?
 *
 * @example
 * checkUpstream({ tenantId: 't1', provider: 'openai', baseUrl: 'https://api.openai.com/v1', secretName: 'OPENAI_API_KEY' },
 *   [{ host: 'api.openai.com', secretName: 'OPENAI_API_KEY', allowHttp: false, allowPrivate: false }]);
 * // { ok: true, url: 'https://api.openai.com/v1' }
 */
export function checkUpstream(
  model: UpstreamConfig,
  grants: readonly UpstreamGrant[],
): UpstreamDecision {
  const secret = model.secretName ?? '';
  if (secret !== '' && !SECRET_NAME.test(secret)) {
    return refuse(
      403,
      'secret_not_granted',
      'secret_name',
      `secret_name ${JSON.stringify(secret)} is not a secret name`,
    );
  }
  if (isWorkerSetting(secret)) {
    return refuse(
      403,
      'secret_not_granted',
      'secret_name',
      `secret_name ${secret} names a worker setting, not a secret`,
    );
  }
  if (model.provider === 'workers-ai') return { ok: true, url: null }; // the AI binding: no URL, no key
  const raw = model.baseUrl || providerDefault(model.provider);
  if (model.tenantId === null) return { ok: true, url: raw };
  if (raw === null) {
    if (secret !== '')
      return refuse(
        403,
        'secret_not_granted',
        'secret_name',
        'a secret can only be granted together with a base_url',
      );
    return { ok: true, url: null }; // nothing to call: the router reports no_base_url
  }
  const parsed = parseBaseUrl(raw);
  if (!parsed.ok) return refuse(400, 'invalid_base_url', 'base_url', parsed.message);
  const { host, scheme, internal } = parsed.url;
  const forHost = grants.filter((g) => g.host === host);
  if (forHost.length === 0)
    return refuse(
      403,
      'host_not_granted',
      'base_url',
      `host ${host} is not granted to this tenant`,
    );
  const grant = forHost.find((g) => g.secretName === secret);
  if (!grant) {
    return secret === ''
      ? refuse(
          403,
          'host_not_granted',
          'base_url',
          `host ${host} is granted to this tenant only with a secret`,
        )
      : refuse(
          403,
          'secret_not_granted',
          'secret_name',
          `secret ${secret} is not granted to this tenant for host ${host}`,
        );
  }
  if (scheme === 'http' && !grant.allowHttp)
    return refuse(403, 'host_not_granted', 'base_url', `host ${host} is granted for https only`);
  if (internal && !grant.allowPrivate)
    return refuse(
      403,
      'host_not_granted',
      'base_url',
      `host ${host} is ${internal}; the grant does not allow private hosts`,
    );
  return { ok: true, url: parsed.url.href };
}
