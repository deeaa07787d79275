import type { ConnectionView } from '../broker/delivery.js';
import type { Store } from '../store/index.js';
import type { InstanceRow } from '../store/instances.js';

/** What the broker can tell about a device right now. */
export interface PresenceSource {
  isOnline(instanceId: string): boolean;
  subscriptionsOf(instanceId: string): Promise<Array<{ topic: string; qos: number }>>;
  connectionsOf(instanceId: string): ConnectionView[];
}

export interface DeviceView {
  instanceId: string;
  iotDomainId: string;
  displayName: string;
  /** The MQTT user name. */
  externalKey: string;
  authId: string | null;
  timeCreated: string;
  /** DIRECT, GATEWAY, INDIRECT or NONE. */
  connectivityType: string;
  /** For an INDIRECT instance, the gateways its commands travel through. */
  gateways: string[];
  /** It, or (INDIRECT) one of its gateways, has a live connection. */
  online: boolean;
  /** Every live connection, one per client id: the device's own, or its gateways'. */
  connections: ConnectionView[];
  /** The client id of its latest connection, live or not; null if it never connected. */
  clientId: string | null;
  /** Whether that session is persistent (clean session false), so it outlives the connection. */
  persistentSession: boolean | null;
  /** When the device last connected or disconnected. */
  lastSeen: string | null;
  subscriptions: Array<{ topic: string; qos: number }>;
}

export async function deviceView(store: Store, presence: PresenceSource, row: InstanceRow): Promise<DeviceView> {
  const [latest] = store.deviceSessions.list(row.id);
  return {
    instanceId: row.id,
    iotDomainId: row.iot_domain_id,
    displayName: row.display_name,
    externalKey: row.external_key,
    authId: row.auth_id,
    timeCreated: row.time_created,
    connectivityType: row.connectivity_type,
    gateways: row.gateways ? (JSON.parse(row.gateways) as string[]) : [],
    online: presence.isOnline(row.id),
    connections: presence.connectionsOf(row.id),
    clientId: latest?.client_id ?? null,
    persistentSession: latest ? latest.clean_session === 0 : null,
    lastSeen: latest ? (latest.online ? latest.time_connected : (latest.time_disconnected ?? latest.time_connected)) : null,
    subscriptions: await presence.subscriptionsOf(row.id),
  };
}

/** Every active instance of the given domains, newest first, with its live MQTT state. */
export async function listDeviceViews(store: Store, presence: PresenceSource, domainIds: string[], limit = 1000): Promise<DeviceView[]> {
  const rows = domainIds
    .flatMap((iotDomainId) => store.instances.list({ iotDomainId, sortBy: 'timeCreated', sortOrder: 'DESC', offset: 0, limit }).rows)
    .sort((a, b) => (a.time_created < b.time_created ? 1 : a.time_created > b.time_created ? -1 : 0))
    .slice(0, limit);
  return Promise.all(rows.map((row) => deviceView(store, presence, row)));
}
