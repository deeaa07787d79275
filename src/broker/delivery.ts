import mqttPacket from 'mqtt-packet';
import type { DeliveryRoute, DevicePort, OutboundCommand } from '../commands/device-port.js';
import type { DeviceSessionStore } from '../store/device-sessions.js';
import type { WriteBatch } from '../store/write-batch.js';
import { liveSubscriptions, sessionId, type Connections } from './connections.js';
import { bestMatch } from './topics.js';

/**
 * The engine's view of the devices (its DevicePort): whether a command can reach a device
 * now or later, and the command's PUBLISH written straight to the device's connection,
 * never routed through Aedes' topic matching.
 */
export function createDelivery(deps: {
  connections: Connections;
  sessions: DeviceSessionStore;
  /** Where a persistent session's subscriptions outlive its connection. */
  persistence: { subscriptionsByClient(client: { id: string }): Promise<Array<{ topic: string; qos: number }>> };
  batch: WriteBatch;
}) {
  const { connections, sessions, persistence, batch } = deps;

  /** The subscriptions of the device's last persistent session, which outlive its connection. */
  async function persistentSubscriptions(instanceId: string): Promise<Array<{ topic: string; qos: number }>> {
    const clientId = sessions.lastPersistentClientId(instanceId);
    if (!clientId) return [];
    const subs = await persistence.subscriptionsByClient({ id: sessionId(instanceId, clientId) });
    return subs.map((s) => ({ topic: s.topic, qos: s.qos }));
  }

  const devices: DevicePort = {
    async route(instanceId, topic): Promise<DeliveryRoute> {
      const client = connections.liveClient(instanceId);
      if (client) return { online: true, qos: bestMatch(liveSubscriptions(client), topic) };
      return { online: false, qos: bestMatch(await persistentSubscriptions(instanceId), topic) };
    },
    liveClientId(instanceId) {
      const client = connections.liveClient(instanceId);
      return client ? connections.identityOf(client)!.clientId : null;
    },
    send(instanceId, message: OutboundCommand, written) {
      const client = connections.liveClient(instanceId);
      if (!client) return false;
      const bytes = mqttPacket.generate({
        cmd: 'publish',
        topic: message.topic,
        payload: message.payload,
        qos: message.qos,
        messageId: message.messageId,
        dup: message.dup,
        retain: false,
      });
      // A command's bytes never leave before the row that says it was SENT is committed.
      batch.afterCommit(() => void client.conn.write(bytes, (err) => written(!err)));
      return true;
    },
  };

  return {
    devices,
    /** The subscriptions a device has now: its live connection's, else its last persistent session's. */
    subscriptionsOf(instanceId: string): Promise<Array<{ topic: string; qos: number }>> {
      const client = connections.liveClient(instanceId);
      return client ? Promise.resolve(liveSubscriptions(client)) : persistentSubscriptions(instanceId);
    },
  };
}
