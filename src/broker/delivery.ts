import type { Client } from 'aedes';
import type { DeliveryRoute, DeliveryTarget, DevicePort, OutboundCommand } from '../commands/device-port.js';
import type { DeviceSessionStore } from '../store/device-sessions.js';
import type { WriteBatch } from '../store/write-batch.js';
import { liveSubscriptions, sessionId, type Connections } from './connections.js';
import type { Gateways } from './gateways.js';
import { commandPublishBytes, receiveMaximumOf } from './mqtt5.js';
import { bestMatch } from './topics.js';

type Subscription = { topic: string; qos: number };

/**
 * What one connection may have waiting to be written before QoS 0 commands to it are
 * dropped: a device that reads keeps it near zero; 1 MiB is many commands of any usual size.
 */
export const QOS0_HIGH_WATER_BYTES = 1024 * 1024;

/** One live connection that carries a device's commands, as the console and /emulator/devices show it. */
export interface ConnectionView {
  clientId: string;
  transport: 'mqtts' | 'wss';
  persistentSession: boolean;
  subscriptions: Subscription[];
  /** Set for a connection of the instance's gateway (an INDIRECT instance has none of its own). */
  gatewayId?: string;
}

/**
 * The engine's view of the devices (its DevicePort): which live connections a command
 * goes to now (the device's own, or its gateway's), whether it can reach the device later
 * (a persistent session), and the command's PUBLISH written straight to one connection,
 * never routed through Aedes' topic matching.
 */
export function createDelivery(deps: {
  connections: Connections;
  sessions: DeviceSessionStore;
  gateways: Gateways;
  /** Where a persistent session's subscriptions outlive its connection. */
  persistence: { subscriptionsByClient(client: { id: string }): Promise<Subscription[]> };
  batch: WriteBatch;
  /** Bytes a connection may have waiting to be written before QoS 0 commands to it are dropped. */
  qos0HighWaterBytes?: number;
}) {
  const { connections, sessions, gateways, persistence, batch } = deps;
  const highWater = deps.qos0HighWaterBytes ?? QOS0_HIGH_WATER_BYTES;
  let qos0Dropped = 0;

  function matching(sessionInstanceId: string, topic: string): DeliveryTarget[] {
    const targets: DeliveryTarget[] = [];
    for (const client of connections.liveClients(sessionInstanceId)) {
      const qos = bestMatch(liveSubscriptions(client), topic);
      if (qos === null) continue;
      const receiveMaximum = receiveMaximumOf(client);
      targets.push({ sessionInstanceId, clientId: connections.identityOf(client)!.clientId, qos, ...(receiveMaximum !== undefined && { receiveMaximum }) });
    }
    return targets;
  }

  /** The device itself, then the gateways its commands may travel through. */
  const carriers = (instanceId: string) => [instanceId, ...gateways.gatewaysOf(instanceId)];

  /** Subscriptions of the persistent sessions that are not connected now: they will be back. */
  async function offlineSessionSubscriptions(instanceId: string): Promise<Subscription[]> {
    const subs: Subscription[] = [];
    for (const clientId of sessions.persistentClientIds(instanceId)) {
      if (connections.liveClient(instanceId, clientId)) continue;
      subs.push(...(await persistence.subscriptionsByClient({ id: sessionId(instanceId, clientId) })));
    }
    return subs;
  }

  const devices: DevicePort = {
    targets(instanceId, topic) {
      if (connections.isOnline(instanceId)) {
        const own = matching(instanceId, topic);
        if (own.length > 0) return own;
      }
      // One gateway carries it: the first, in the instance's order, with a matching connection.
      for (const gateway of gateways.gatewaysOf(instanceId)) {
        const via = matching(gateway, topic);
        if (via.length > 0) return via;
      }
      return [];
    },
    async route(instanceId, topic): Promise<DeliveryRoute> {
      const now = devices.targets(instanceId, topic);
      if (now.length > 0) return { online: true, qos: Math.max(...now.map((t) => t.qos)) as 0 | 1 | 2 };
      const all = carriers(instanceId);
      for (const carrier of all) {
        const later = bestMatch(await offlineSessionSubscriptions(carrier), topic);
        if (later !== null) return { online: false, qos: later };
      }
      return { online: all.some((c) => connections.isOnline(c)), qos: null };
    },
    send(to, message: OutboundCommand, written) {
      const client = connections.liveClient(to.sessionInstanceId, to.clientId);
      if (!client) return false;
      const bytes = commandPublishBytes(client, message);
      // Larger than the device's Maximum Packet Size: MQTT 5 forbids sending it; it never arrives.
      if (!bytes) {
        written(false);
        return true;
      }
      // A command's bytes never leave before the row that says it was SENT is committed.
      batch.afterCommit(() => {
        // A device that does not read its socket: QoS 0 is dropped (as Mosquitto does), so
        // the emulator's memory does not grow with what it cannot take. The command is not
        // COMPLETED, and ends EXPIRED at its deadline.
        if (message.qos === 0 && client.conn.writableLength >= highWater) {
          qos0Dropped++;
          return written(false);
        }
        client.conn.write(bytes, (err) => written(!err));
      });
      return true;
    },
  };

  const view = (client: Client, gatewayId?: string): ConnectionView => {
    const id = connections.identityOf(client)!;
    return {
      clientId: id.clientId,
      transport: id.transport,
      persistentSession: !client.clean,
      subscriptions: liveSubscriptions(client),
      ...(gatewayId ? { gatewayId } : {}),
    };
  };

  return {
    devices,
    /** QoS 0 commands dropped because their connection had `qos0HighWaterBytes` or more waiting, since start. */
    qos0Dropped: () => qos0Dropped,
    /** Online: it, or (INDIRECT) one of its gateways, has a live connection. */
    isOnline: (instanceId: string) => carriers(instanceId).some((c) => connections.isOnline(c)),
    /** Each live connection that carries the device's commands: its own, or its gateways'. */
    connectionsOf(instanceId: string): ConnectionView[] {
      const own = connections.liveClients(instanceId).map((c) => view(c));
      const via = gateways.gatewaysOf(instanceId).flatMap((g) => connections.liveClients(g).map((c) => view(c, g)));
      return [...own, ...via];
    },
    /**
     * The subscriptions a device has now: those of its live connections (or its gateways'),
     * else those of its persistent sessions, which outlive their connections.
     */
    async subscriptionsOf(instanceId: string): Promise<Subscription[]> {
      const all = carriers(instanceId);
      const live = all.flatMap((c) => connections.liveClients(c).flatMap(liveSubscriptions));
      if (live.length > 0) return union(live);
      const later: Subscription[] = [];
      for (const c of all) later.push(...(await offlineSessionSubscriptions(c)));
      return union(later);
    },
  };
}

/** One entry per topic filter, at the highest QoS any connection holds it. */
function union(subs: Subscription[]): Subscription[] {
  const byTopic = new Map<string, number>();
  for (const s of subs) byTopic.set(s.topic, Math.max(s.qos, byTopic.get(s.topic) ?? 0));
  return [...byTopic].map(([topic, qos]) => ({ topic, qos }));
}
