import { iso, type Clock } from '../clock/clock.js';
import { parseDuration } from '../durations.js';
import { invalid } from '../errors.js';
import { ocid } from '../ids.js';
import { issueClientCertificate } from '../pki/client-certs.js';
import type { ClientCertificateRow } from '../store/client-certificates.js';
import type { Store } from '../store/index.js';

export interface CreateCertificateDetails {
  /** The device's externalKey: a device presenting the certificate logs in as the instance with that key. */
  commonName: string;
  /** ISO 8601 duration; one year when omitted. */
  validity?: string;
}

export const DEFAULT_CERTIFICATE_VALIDITY = 'P365D';
const MAX_VALIDITY_MS = 3650 * 86_400_000;

/**
 * Issues a device certificate from the emulator CA and records it, so its OCID can be
 * an instance's authId. The private key is returned once and never stored.
 */
export async function createClientCertificate(
  store: Store,
  clock: Clock,
  region: string,
  certsDir: string,
  d: CreateCertificateDetails,
): Promise<{ row: ClientCertificateRow; privateKeyPem: string; caCertificatePem: string }> {
  const validity = d.validity ?? DEFAULT_CERTIFICATE_VALIDITY;
  const parsed = parseDuration(validity);
  if (!parsed.ok) throw invalid(`validity "${validity}" ${parsed.reason}`);
  if (parsed.ms > MAX_VALIDITY_MS) throw invalid(`validity "${validity}" is longer than ten years`);
  if (parsed.ms < 1000) throw invalid(`validity "${validity}" is shorter than one second`);
  const issued = await issueClientCertificate(certsDir, d.commonName, { now: clock.now(), ms: parsed.ms });
  const row: ClientCertificateRow = {
    id: ocid('certificate', region),
    common_name: d.commonName,
    serial_number: issued.serialNumber,
    fingerprint_sha256: issued.fingerprintSha256,
    certificate_pem: issued.certificatePem,
    time_valid_from: iso(issued.notBefore.getTime()),
    time_valid_to: iso(issued.notAfter.getTime()),
    lifecycle_state: 'ACTIVE',
    time_created: iso(clock.now()),
    time_revoked: null,
    revocation_reason: null,
  };
  store.clientCertificates.insert(row);
  return { row, privateKeyPem: issued.privateKeyPem, caCertificatePem: issued.caCertificatePem };
}
