import type { Db } from './database.js';

export interface ClientCertificateRow {
  id: string;
  common_name: string;
  serial_number: string;
  /** Upper-case hex with colons, as node:crypto's X509Certificate.fingerprint256 gives it. */
  fingerprint_sha256: string;
  certificate_pem: string;
  time_valid_from: string;
  time_valid_to: string;
  lifecycle_state: 'ACTIVE' | 'REVOKED';
  time_created: string;
  time_revoked: string | null;
  revocation_reason: string | null;
}

export function insertClientCertificate(db: Db, row: ClientCertificateRow): void {
  db.prepare(
    `INSERT INTO client_certificates (id, common_name, serial_number, fingerprint_sha256, certificate_pem,
       time_valid_from, time_valid_to, lifecycle_state, time_created, time_revoked, revocation_reason)
     VALUES (@id, @common_name, @serial_number, @fingerprint_sha256, @certificate_pem,
       @time_valid_from, @time_valid_to, @lifecycle_state, @time_created, @time_revoked, @revocation_reason)`,
  ).run(row);
}

export function getClientCertificate(db: Db, id: string): ClientCertificateRow | undefined {
  return db.prepare('SELECT * FROM client_certificates WHERE id = ?').get(id) as ClientCertificateRow | undefined;
}

export function clientCertificateByFingerprint(db: Db, fingerprint: string): ClientCertificateRow | undefined {
  return db.prepare('SELECT * FROM client_certificates WHERE fingerprint_sha256 = ?').get(fingerprint) as
    | ClientCertificateRow
    | undefined;
}

/** Revokes for good: a revoked certificate never logs in again, even if named as authId later. */
export function revokeClientCertificate(db: Db, id: string, time: string, reason: string): void {
  db.prepare(
    `UPDATE client_certificates SET lifecycle_state = 'REVOKED', time_revoked = ?, revocation_reason = ?
     WHERE id = ? AND lifecycle_state = 'ACTIVE'`,
  ).run(time, reason, id);
}
