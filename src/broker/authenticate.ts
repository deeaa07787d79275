import { timingSafeEqual } from 'node:crypto';
import type { Db } from '../store/database.js';
import { findActiveByExternalKey, type InstanceRow } from '../store/instances.js';
import { getSecret, secretPlaintext } from '../store/secrets.js';

/**
 * A device logs in with its instance's external key as user name and the plaintext of
 * the Vault secret named by the instance's authId as password. Returns the instance,
 * or null for any mismatch (the caller answers every failure the same way).
 */
export function checkDeviceLogin(
  db: Db,
  domainId: string,
  username: string | undefined,
  password: Buffer | undefined,
): InstanceRow | null {
  if (!username || !password) return null;
  const instance = findActiveByExternalKey(db, domainId, username);
  if (!instance?.auth_id) return null;
  const secret = getSecret(db, instance.auth_id);
  if (!secret || secret.lifecycle_state !== 'ACTIVE') return null;
  const expected = secretPlaintext(secret);
  if (expected.length !== password.length || !timingSafeEqual(expected, password)) return null;
  return instance;
}
