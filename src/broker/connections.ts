import type { Client } from 'aedes';
import type { Transport } from './guarded-connection.js';

export interface DeviceIdentity {
  instanceId: string;
  externalKey: string;
  /** The client id the device sent; the broker's own id for it is namespaced by instance. */
  clientId: string;
  /** DIRECT, GATEWAY, …: a gateway's connections also carry its INDIRECT instances' commands. */
  connectivityType: string;
  transport: Transport;
}

/**
 * The broker's id for a device's MQTT session: the client id the device sent, namespaced
 * by its instance, so one device can neither take over nor inherit another device's
 * session by reusing its client id. Instance OCIDs never contain '/'.
 */
export function sessionId(instanceId: string, clientId: string): string {
  return `${instanceId}/${clientId}`;
}

/** The instance and client id behind a session id; null for an id the broker did not give. */
export function parseSessionId(id: string): { instanceId: string; clientId: string } | null {
  const slash = id.indexOf('/');
  if (slash <= 0 || !id.startsWith('ocid1.')) return null;
  return { instanceId: id.slice(0, slash), clientId: id.slice(slash + 1) };
}

/**
 * Who is connected: the identity each logged-in client proved, and the live connections
 * of each device, one per client id (a second connection with the same client id takes
 * that session over, which Aedes does itself). Login writes identities, presence writes
 * liveness; every other handler reads.
 */
export function createConnections() {
  const identities = new WeakMap<Client, DeviceIdentity>();
  const live = new Map<string, Map<string, Client>>();

  return {
    identify(client: Client, identity: DeviceIdentity): void {
      identities.set(client, identity);
    },
    identityOf: (client: Client): DeviceIdentity | undefined => identities.get(client),
    /** The client is ready: it is now the device's connection for its client id. */
    online(client: Client): void {
      const id = identities.get(client)!;
      let byClientId = live.get(id.instanceId);
      if (!byClientId) live.set(id.instanceId, (byClientId = new Map()));
      byClientId.set(id.clientId, client);
    },
    /** The client went away; a newer connection with the same client id stays registered. */
    offline(client: Client): void {
      const id = identities.get(client)!;
      const byClientId = live.get(id.instanceId);
      if (byClientId?.get(id.clientId) !== client) return;
      byClientId.delete(id.clientId);
      if (byClientId.size === 0) live.delete(id.instanceId);
    },
    /** The device's open connections, oldest first. */
    liveClients(instanceId: string): Client[] {
      return [...(live.get(instanceId)?.values() ?? [])].filter((c) => !c.closed);
    },
    /** One open connection of the device, by the client id it sent. */
    liveClient(instanceId: string, clientId: string): Client | undefined {
      const client = live.get(instanceId)?.get(clientId);
      return client && !client.closed ? client : undefined;
    },
    /** Every registered connection of the device, even one that is closing. */
    registered: (instanceId: string): Client[] => [...(live.get(instanceId)?.values() ?? [])],
    isOnline: (instanceId: string): boolean => live.has(instanceId),
  };
}

export type Connections = ReturnType<typeof createConnections>;

/** The subscriptions a live client holds now (Aedes keeps them on the client). */
export function liveSubscriptions(client: Client): Array<{ topic: string; qos: number }> {
  const subs = (client as unknown as { subscriptions: Record<string, { qos: number }> }).subscriptions;
  return Object.entries(subs).map(([topic, s]) => ({ topic, qos: s.qos }));
}
