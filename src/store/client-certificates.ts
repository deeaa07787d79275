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

/** The `client_certificates` table: what the emulator CA issued for device logins. */
export function clientCertificateStore(db: Db) {
  const insert = db.prepare(
    `INSERT INTO client_certificates (id, common_name, serial_number, fingerprint_sha256, certificate_pem,
       time_valid_from, time_valid_to, lifecycle_state, time_created, time_revoked, revocation_reason)
     VALUES (@id, @common_name, @serial_number, @fingerprint_sha256, @certificate_pem,
       @time_valid_from, @time_valid_to, @lifecycle_state, @time_created, @time_revoked, @revocation_reason)`,
  );
  const byId = db.prepare('SELECT * FROM client_certificates WHERE id = ?');
  const byFingerprint = db.prepare('SELECT * FROM client_certificates WHERE fingerprint_sha256 = ?');
  const revoke = db.prepare(
    `UPDATE client_certificates SET lifecycle_state = 'REVOKED', time_revoked = ?, revocation_reason = ?
     WHERE id = ? AND lifecycle_state = 'ACTIVE'`,
  );

  return {
    insert: (row: ClientCertificateRow) => void insert.run(row),
    get: (id: string) => byId.get(id) as ClientCertificateRow | undefined,
    byFingerprint: (fingerprint: string) => byFingerprint.get(fingerprint) as ClientCertificateRow | undefined,
    /** Revokes for good: a revoked certificate never logs in again, even if named as authId later. */
    revoke: (id: string, time: string, reason: string) => void revoke.run(time, reason, id),
  };
}

export type ClientCertificateStore = ReturnType<typeof clientCertificateStore>;
