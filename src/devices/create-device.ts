import type { Clock } from '../clock.js';
import type { Store } from '../store/index.js';
import type { InstanceRow } from '../store/instances.js';
import { base32 } from '../ids.js';
import { createInstance } from '../resources/instances.js';
import { createSecret } from '../resources/secrets.js';

export interface NewDevice {
  displayName?: string;
  externalKey?: string;
  /** The device password; a random one when omitted. */
  password?: string;
  description?: string;
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
    const instance = createInstance(store, clock, region, {
      iotDomainId: domainId,
      authId: secret.id,
      externalKey: d.externalKey,
      displayName: d.displayName,
      description: d.description,
    });
    return { instance, secretId: secret.id, username: instance.external_key, password };
  });
}
