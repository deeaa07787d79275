import { isIP } from 'node:net';
import type { ControlPlaneStore, DomainRow } from '../store/control-plane.js';

/**
 * Host names of the domains the API creates, shaped like OCI's
 * (`<shortId>.device.iot.<region>.oci.oraclecloud.com`) but under a suffix that resolves to
 * this machine: names under `localhost` do on systems with systemd-resolved or
 * nss-myhostname and in curl and browsers, without editing /etc/hosts.
 */
export const deviceHostOf = (shortId: string, suffix: string): string => `${shortId}.device.${suffix}`;
export const dataHostOf = (groupShortId: string, suffix: string): string => `${groupShortId}.data.${suffix}`;

/** The certificate name that covers every domain made under `suffix`, now and later, without a restart. */
export const deviceHostWildcard = (suffix: string): string => `*.device.${suffix}`;

/**
 * Which domain a device means, from the host name it sent in TLS SNI, as OCI tells its
 * domains apart. A device that sends no SNI (or an IP address, which SNI cannot carry), or
 * a name that is no domain's deviceHost (the machine's own name, say), lands on the first
 * domain, so clients configured for one domain keep working. A name that is a domain's
 * but not a live one (being deleted) finds no domain: the login is refused.
 */
export function domainResolver(store: Pick<ControlPlaneStore, 'domainByDeviceHost' | 'liveDomains'>) {
  return function domainForServername(servername: string | false | null | undefined): DomainRow | null {
    if (servername && !isIP(servername)) {
      const named = store.domainByDeviceHost(servername.replace(/\.$/, ''));
      if (named) return usable(named) ? named : null;
    }
    return store.liveDomains().find(usable) ?? null;
  };
}

/** Devices log in to a domain that is ACTIVE, or being changed (its devices keep working meanwhile). */
const usable = (d: DomainRow) => d.lifecycle_state === 'ACTIVE' || d.lifecycle_state === 'UPDATING';

export type DomainForServername = ReturnType<typeof domainResolver>;
