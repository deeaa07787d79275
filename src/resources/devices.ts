import type { Clock } from '../clock/clock.js';
import type { Store } from '../store/index.js';
import type { InstanceRow } from '../store/instances.js';
import { base32 } from '../ids.js';
import { createInstance, type InstanceFields } from './instances.js';
import { createSecret } from './secrets.js';

/** The instance's own fields (all but its domain and authId, which the one step fills in), and a password. */
export interface NewDevice extends Omit<InstanceFields, 'authId'> {
  /** The device password; a random one when omitted. */
  password?: string;
  /** DIRECT (the default) or GATEWAY: an instance that logs in and carries INDIRECT instances' commands. */
  connectivityType?: 'DIRECT' | 'GATEWAY';
}

export interface CreatedDevice {
  instance: InstanceRow;
  secretId: string;
  /** MQTT user name: the instance's externalKey. */
  username: string;
  /** MQTT password: the plaintext of the Vault secret named by the instance's authId. */
  password: string;
}

/**
 * The two OCI steps a device needs (a Vault secret holding its password, then a digital
 * twin instance whose authId names it) as one transaction: a failed instance leaves no
 * orphan secret behind.
 */
export function createDevice(store: Store, clock: Clock, region: string, domainId: string, d: NewDevice = {}): CreatedDevice {
  // Lower-case letters and digits only, so the password pastes into a shell unquoted.
  const password = d.password ?? base32(24);
  return store.atomically(() => {
    const secret = createSecret(store, clock, region, {
      secretContent: { contentType: 'BASE64', content: Buffer.from(password, 'utf8').toString('base64') },
      description: `MQTT password of ${d.displayName ?? d.externalKey ?? 'a device'}`,
    });
    const { password: _, ...fields } = d;
    const instance = createInstance(store, clock, region, { ...fields, iotDomainId: domainId, authId: secret.id });
    return { instance, secretId: secret.id, username: instance.external_key, password };
  });
}
