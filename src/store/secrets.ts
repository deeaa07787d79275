import type { Db } from './database.js';

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

/** The `vault_secrets` table. */
export function secretStore(db: Db) {
  const insert = db.prepare(
    `INSERT INTO vault_secrets (id, compartment_id, vault_id, key_id, secret_name, description, content_type,
       content, version_number, lifecycle_state, freeform_tags, defined_tags, time_created, time_updated)
     VALUES (@id, @compartment_id, @vault_id, @key_id, @secret_name, @description, @content_type,
       @content, @version_number, @lifecycle_state, @freeform_tags, @defined_tags, @time_created, @time_updated)`,
  );
  const byId = db.prepare('SELECT * FROM vault_secrets WHERE id = ?');
  const named = db.prepare('SELECT 1 FROM vault_secrets WHERE vault_id = ? AND secret_name = ?');

  return {
    insert: (row: SecretRow) => void insert.run(row),
    get: (id: string) => byId.get(id) as SecretRow | undefined,
    nameTaken: (vaultId: string, name: string) => named.get(vaultId, name) !== undefined,
  };
}

export type SecretStore = ReturnType<typeof secretStore>;

/** The device password a secret holds: Vault stores it base64-encoded. */
export function secretPlaintext(row: SecretRow): Buffer {
  return Buffer.from(row.content, 'base64');
}
