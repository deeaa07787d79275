import { timingSafeEqual } from 'node:crypto';
import type { Store } from '../store/index.js';
import type { InstanceRow } from '../store/instances.js';
import { secretPlaintext } from '../store/secrets.js';

/**
 * A device logs in with its instance's external key as user name and the plaintext of
 * the Vault secret named by the instance's authId as password. Returns the instance,
 * or null for any mismatch (the caller answers every failure the same way).
 */
export function checkDeviceLogin(
  store: Pick<Store, 'instances' | 'secrets'>,
  domainId: string,
  username: string | undefined,
  password: Buffer | undefined,
): InstanceRow | null {
  if (!username || !password) return null;
  const instance = store.instances.activeByExternalKey(domainId, username);
  if (!instance?.auth_id) return null;
  const secret = store.secrets.get(instance.auth_id);
  if (!secret || secret.lifecycle_state !== 'ACTIVE') return null;
  const expected = secretPlaintext(secret);
  if (expected.length !== password.length || !timingSafeEqual(expected, password)) return null;
  return instance;
}
