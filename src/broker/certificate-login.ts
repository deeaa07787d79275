import type { X509Certificate } from 'node:crypto';
import type { Store } from '../store/index.js';
import type { InstanceRow } from '../store/instances.js';

export type CertificateLogin = { ok: true; instance: InstanceRow; commonName: string } | { ok: false; commonName: string; reason: string };

/** The subject's CN, from node's "CN=...\n..." rendering of the subject. */
export function commonNameOf(cert: X509Certificate): string {
  for (const line of cert.subject.split('\n')) if (line.startsWith('CN=')) return line.slice(3);
  return '';
}

/**
 * A device presenting a client certificate logs in with no password when the
 * certificate is one the emulator issued (same fingerprint, signed by its CA), is
 * within its validity in the emulator's time, is still ACTIVE, is the authId of the
 * ACTIVE instance whose externalKey equals its CN, and the user name, if sent, is that CN.
 * The TLS handshake has already proved the device holds the certificate's key.
 */
export function checkCertificateLogin(
  store: Pick<Store, 'instances' | 'clientCertificates'>,
  domainId: string,
  peer: X509Certificate,
  ca: X509Certificate,
  username: string | undefined,
  now: number,
): CertificateLogin {
  let commonName = commonNameOf(peer);
  const refuse = (reason: string): CertificateLogin => ({ ok: false, commonName, reason });
  if (!peer.checkIssued(ca) || !peer.verify(ca.publicKey)) return refuse('certificate not issued by the emulator CA');
  const issued = store.clientCertificates.byFingerprint(peer.fingerprint256);
  if (!issued) return refuse('certificate unknown to this emulator');
  // The record of what was issued is the authority on the CN, not a parse of the subject text.
  commonName = issued.common_name;
  if (issued.lifecycle_state !== 'ACTIVE') return refuse(`certificate ${issued.id} revoked: ${issued.revocation_reason}`);
  if (now < Date.parse(issued.time_valid_from)) return refuse(`certificate ${issued.id} not valid before ${issued.time_valid_from}`);
  if (now > Date.parse(issued.time_valid_to)) return refuse(`certificate ${issued.id} expired at ${issued.time_valid_to}`);
  if (username !== undefined && username !== '' && username !== commonName) {
    return refuse(`user name "${username}" is not the certificate's CN "${commonName}"`);
  }
  const instance = store.instances.activeByExternalKey(domainId, commonName);
  if (!instance) return refuse(`no active instance has externalKey "${commonName}"`);
  if (instance.auth_id !== issued.id) return refuse(`certificate ${issued.id} is not the authId of ${instance.id}`);
  return { ok: true, instance, commonName };
}
