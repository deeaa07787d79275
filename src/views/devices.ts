import type { Store } from '../store/index.js';
import type { InstanceRow } from '../store/instances.js';

/** What the broker can tell about a device right now. */
export interface PresenceSource {
  isOnline(instanceId: string): boolean;
  subscriptionsOf(instanceId: string): Promise<Array<{ topic: string; qos: number }>>;
}

export interface DeviceView {
  instanceId: string;
  iotDomainId: string;
  displayName: string;
  /** The MQTT user name. */
  externalKey: string;
  authId: string | null;
  timeCreated: string;
  online: boolean;
  /** The live connection's client id, or the last one seen; null if it never connected. */
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
    online: presence.isOnline(row.id),
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
