import type { Client } from 'aedes';

export interface DeviceIdentity {
  instanceId: string;
  externalKey: string;
  /** The client id the device sent; the broker's own id for it is namespaced by instance. */
  clientId: string;
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
 * Who is connected: the identity each logged-in client proved, and the live connection of
 * each device. Login writes identities, presence writes liveness; every other handler reads.
 */
export function createConnections() {
  const identities = new WeakMap<Client, DeviceIdentity>();
  const live = new Map<string, Client>();

  return {
    identify(client: Client, identity: DeviceIdentity): void {
      identities.set(client, identity);
    },
    identityOf: (client: Client): DeviceIdentity | undefined => identities.get(client),
    /** The device's connection, as last registered, even if it is closing. */
    registered: (instanceId: string): Client | undefined => live.get(instanceId),
    /** The device's connection if it is still open. */
    liveClient(instanceId: string): Client | undefined {
      const client = live.get(instanceId);
      return client && !client.closed ? client : undefined;
    },
    /** The client is ready: it is now the device's connection. */
    online(instanceId: string, client: Client): void {
      live.set(instanceId, client);
    },
    /** The client went away; a newer connection of the device stays registered. */
    offline(instanceId: string, client: Client): void {
      if (live.get(instanceId) === client) live.delete(instanceId);
    },
    isOnline: (instanceId: string): boolean => live.has(instanceId),
  };
}

export type Connections = ReturnType<typeof createConnections>;

/** The subscriptions a live client holds now (Aedes keeps them on the client). */
export function liveSubscriptions(client: Client): Array<{ topic: string; qos: number }> {
  const subs = (client as unknown as { subscriptions: Record<string, { qos: number }> }).subscriptions;
  return Object.entries(subs).map(([topic, s]) => ({ topic, qos: s.qos }));
}
