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

/** OCI's commercial realm: the second-level domain of every service host name. */
export const OCI_REALM_DOMAIN = 'oraclecloud.com';

/** The suffix OCI's IoT host names have in `region`: `iot.<region>.oci.oraclecloud.com`. */
export const ociIotSuffix = (region: string): string => `iot.${region}.oci.${OCI_REALM_DOMAIN}`;

/**
 * The names OCI's clients reach the services by, in `region`, as the SDKs build them from
 * their endpoint templates (`https://iot.{region}.oci.{secondLevelDomain}`,
 * `vaults.…`, `secrets.vaults.…`, `identity.…`), the data and device hosts of every domain,
 * and identity domains (`idcs-<id>.identity.oraclecloud.com`), where OAuth tokens come from.
 * The emulator's server certificate carries them.
 */
export function ociServiceNames(region: string, hostSuffix: string): string[] {
  const oci = `${region}.oci.${OCI_REALM_DOMAIN}`;
  return [
    `iot.${oci}`,
    `vaults.${oci}`,
    `secrets.vaults.${oci}`,
    `identity.${oci}`,
    `*.data.iot.${oci}`,
    `*.device.iot.${oci}`,
    `*.identity.${OCI_REALM_DOMAIN}`,
    `*.data.${hostSuffix}`,
    deviceHostWildcard(hostSuffix),
  ];
}

const label = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const API_HOST = new RegExp(
  `^(?:(?:iot|vaults|secrets\\.vaults|identity)\\.${label}\\.oci\\.oraclecloud\\.com|${label}\\.data\\.iot\\.${label}\\.oci\\.oraclecloud\\.com|${label}\\.identity\\.oraclecloud\\.com)$`,
);
const DEVICE_HOST = new RegExp(`^${label}\\.device\\.iot\\.${label}\\.oci\\.oraclecloud\\.com$`);

/** A request's host name from its Host header (no port, no trailing dot, lower case). */
export function hostNameOf(hostHeader: string | undefined): string {
  if (!hostHeader) return '';
  const host = hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.replace(/:\d*$/, '');
  return host.replace(/\.$/, '').toLowerCase();
}

/**
 * Whether a host name is one of the service APIs (IoT, Vault, Secrets, Identity, a data
 * host, an identity domain) rather than a device host: requests for it on the HTTPS port go
 * to the REST API; every other name (a domain's device host, localhost, an address) stays
 * the device listener's, as before.
 */
export function isApiHost(host: string, hostSuffix: string): boolean {
  if (API_HOST.test(host)) return true;
  const dataSuffix = `.data.${hostSuffix.toLowerCase()}`;
  return host.endsWith(dataSuffix) && host.length > dataSuffix.length && !host.slice(0, -dataSuffix.length).includes('.');
}

/**
 * The names the HTTPS proxy mode tunnels to: OCI's API hosts and device hosts, and the
 * emulator's own domain names. Nothing else: it is not an open proxy.
 */
export function isTunneledHost(host: string, hostSuffix: string): boolean {
  if (isApiHost(host, hostSuffix) || DEVICE_HOST.test(host)) return true;
  const deviceSuffix = `.device.${hostSuffix.toLowerCase()}`;
  return host.endsWith(deviceSuffix) && !host.slice(0, -deviceSuffix.length).includes('.');
}

/**
 * The host a device of `domain` is told to connect to: for the first domain (where devices
 * without SNI land), `--device-host` (localhost by default), so quick starts need no name
 * resolution; for any other, its deviceHost, which names it in SNI.
 */
export function connectHostOf(domain: Pick<DomainRow, 'id' | 'device_host'>, first: Pick<DomainRow, 'id'> | null | undefined, deviceHost: string): string {
  return first && domain.id === first.id ? deviceHost : domain.device_host;
}

/**
 * A domain group's `dbConnectionString` in the shape OCI gives it (`tcps:<host>:<port>/<service>`,
 * what Oracle's samples hand to python-oracledb and JDBC thin). No database listens there:
 * the emulator's data is SQLite, read through the data API or `sql`.
 */
export const dbConnectionStringOf = (groupShortId: string, region: string): string =>
  `tcps:adb.${region}.oraclecloud.com:1522/${groupShortId}_iot.adb.oraclecloud.com`;
