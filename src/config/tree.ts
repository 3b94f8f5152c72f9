// What the data tree allows and enforces: extended types (TTL nodes), the super user's digest
// that passes every ACL, how often empty containers are looked for, and hard quotas.

import { javaParseBoolean } from './javavalues.js';
import type { ServerConfig } from './serverconfig.js';
import type { SystemProperties } from './settings.js';

export const DEFAULT_CONTAINER_CHECK_INTERVAL_MS = 60000;

/** The tree's settings; only znode.container.checkIntervalMs can be wrong (it must be positive). */
export function treeSettings(
  sys: SystemProperties,
): Pick<ServerConfig, 'extendedTypesEnabled' | 'superDigest' | 'containerCheckIntervalMs' | 'enforceQuota'> {
  const extendedTypesEnabled = javaParseBoolean(sys.get('extendedTypesEnabled'));
  const superDigestRaw = sys.get('DigestAuthenticationProvider.superDigest');
  const superDigest = superDigestRaw === undefined || superDigestRaw === '' ? undefined : superDigestRaw;
  const containerCheckIntervalMs = sys.positiveInt('znode.container.checkIntervalMs', DEFAULT_CONTAINER_CHECK_INTERVAL_MS);
  const enforceQuota = javaParseBoolean(sys.get('enforceQuota'));
  return { extendedTypesEnabled, superDigest, containerCheckIntervalMs, enforceQuota };
}
