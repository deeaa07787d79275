import { prepared, type Db } from './database.js';

export interface SecretRow {
  id: string;
  compartment_id: string;
  vault_id: string;
  key_id: string | null;
  secret_name: string;
  description: string | null;
  content_type: string;
  content: string;
  version_number: number;
  lifecycle_state: string;
  freeform_tags: string;
  defined_tags: string;
  time_created: string;
  time_updated: string;
}

export function insertSecret(db: Db, row: SecretRow): void {
  prepared(
    db,
    `INSERT INTO vault_secrets (id, compartment_id, vault_id, key_id, secret_name, description, content_type,
       content, version_number, lifecycle_state, freeform_tags, defined_tags, time_created, time_updated)
     VALUES (@id, @compartment_id, @vault_id, @key_id, @secret_name, @description, @content_type,
       @content, @version_number, @lifecycle_state, @freeform_tags, @defined_tags, @time_created, @time_updated)`,
  ).run(row);
}

export function getSecret(db: Db, id: string): SecretRow | undefined {
  return prepared(db, 'SELECT * FROM vault_secrets WHERE id = ?').get(id) as SecretRow | undefined;
}

export function secretNameTaken(db: Db, vaultId: string, name: string): boolean {
  return prepared(db, 'SELECT 1 FROM vault_secrets WHERE vault_id = ? AND secret_name = ?').get(vaultId, name) !== undefined;
}

/** The device password a secret holds: Vault stores it base64-encoded. */
export function secretPlaintext(row: SecretRow): Buffer {
  return Buffer.from(row.content, 'base64');
}
