import type { AedesOptions } from 'aedes';
import type { StorageHealth } from '../store/storage-health.js';
import type { Inbound } from './inbound.js';
import type { WriteBatch } from '../store/write-batch.js';
import { parseSessionId, type Connections } from './connections.js';

/**
 * Every device publish is moved under this `$SYS` prefix once the platform has taken it:
 * Aedes never hands `$` topics to wildcard subscriptions or offline queues, and devices
 * may not subscribe to `$` topics, so no device ever receives another device's message.
 */
export const INGESTED_TOPIC = '$SYS/oci-iot-emulator/device-publish';

/**
 * PUBLISH from a device (or its will): the platform takes it (a response completes its
 * command, anything else becomes raw_data) in the batch of device writes, and Aedes sends
 * the PUBACK only once that batch has committed. Nothing is routed to other clients.
 */
export function devicePublishHooks(deps: {
  connections: Connections;
  batch: WriteBatch;
  signals: Inbound;
  /** A publish the storage refuses (full disk) is held, tried again later and acknowledged once stored. */
  storage?: StorageHealth;
}): Required<Pick<AedesOptions, 'authorizePublish' | 'authorizeForward'>> {
  const { connections, batch, signals, storage } = deps;
  return {
    authorizePublish(client, packet, done) {
      if (packet.topic.startsWith('$SYS')) return done(new Error('$SYS topics are reserved'));
      const identity = client ? connections.identityOf(client) : undefined;
      const instanceId = identity?.instanceId ?? instanceOfStaleWill(packet as unknown as { clientId?: string });
      const topic = packet.topic;
      packet.topic = `${INGESTED_TOPIC}/${instanceId ?? 'unknown'}`;
      packet.retain = false;
      const payload = packet.payload as Buffer;
      if (!instanceId) return done(null);
      const apply = () => signals.published(instanceId, topic, payload);
      batch.add(apply, (err) => {
        if (!err || !client || !storage?.failed(err, 'MQTT publish')) return done(err);
        // No PUBACK and no disconnect: Aedes reads nothing more from this device until the
        // publish is stored, so the device waits instead of resending into a loop.
        storage.retry('an MQTT publish', async () => {
          // A device that went away will send it again when it is back: storing it now would store it twice.
          if (client.closed) return;
          await batch.run(apply);
          done(null);
        });
      });
    },
    authorizeForward() {
      // Commands are written straight to the device's connection; nothing is routed.
      return null;
    },
  };
}

/** A will left by an earlier run is published with no client; its session id names the instance. */
function instanceOfStaleWill(packet: { clientId?: string }): string | undefined {
  return packet.clientId ? parseSessionId(packet.clientId)?.instanceId : undefined;
}
