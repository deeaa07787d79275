import type { Client } from 'aedes';
import { iso, type Clock } from '../clock/clock.js';
import type { Inbound } from './inbound.js';
import type { DeviceSessionStore } from '../store/device-sessions.js';
import type { StorageHealth } from '../store/storage-health.js';
import type { Connections } from './connections.js';
import type { Gateways } from './gateways.js';
import type { BrokerLog } from './log.js';
import { startsClean } from './mqtt5.js';

export interface PresenceChange {
  instanceId: string;
  kind: 'connected' | 'disconnected' | 'subscriptions';
}

/**
 * Connect and disconnect: the session row of each connection (one per client id), the live
 * connections, and whoever watches presence (the console, metrics), told after the row is
 * written. A connection that is ready gets the commands waiting for it, and a gateway's
 * those of its INDIRECT instances.
 */
export function createPresence(deps: {
  sessions: DeviceSessionStore;
  clock: Clock;
  connections: Connections;
  gateways: Gateways;
  signals: Inbound;
  log: BrokerLog;
  /** A session row the storage refuses (full disk) is written later; the device stays connected. */
  storage?: StorageHealth;
}) {
  const { sessions, clock, connections, gateways, signals, log, storage } = deps;
  /** The session row now, or (storage fault) later, the latest state of that session winning. */
  const sessionRow = (instanceId: string, clientId: string, where: string, write: () => void) => {
    const key = `session:${instanceId}:${clientId}`;
    try {
      write();
      storage?.cancel(key);
    } catch (err) {
      if (!storage) throw err;
      if (storage.failed(err, where)) storage.retry(where, write, key);
      else log('warn', `${where}: session row not written`, { instanceId, clientId, err: String(err) });
    }
  };
  const listeners = new Set<(change: PresenceChange) => void>();
  const announce = (instanceId: string, kind: PresenceChange['kind']) => {
    for (const listener of listeners) listener({ instanceId, kind });
  };

  return {
    announce,
    /** Reports connects, disconnects and subscription changes; returns a function that stops it. */
    onPresence(listener: (change: PresenceChange) => void): () => void {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    clientReady(client: Client): void {
      const id = connections.identityOf(client);
      if (!id) return;
      connections.online(client);
      const at = iso(clock.now());
      sessionRow(id.instanceId, id.clientId, 'device connect', () => sessions.connected(id.instanceId, id.clientId, client.clean, at));
      log('info', 'device connected', { instanceId: id.instanceId, clientId: id.clientId, clean: client.clean, transport: id.transport });
      announce(id.instanceId, 'connected');
      const failed = (err: unknown) => log('warn', 'delivery after connect failed', { err: String(err) });
      // A session resumed (not Clean Start) gets its unacknowledged commands again.
      const ready = () => signals.deviceReady(id.instanceId, { clientId: id.clientId, clean: startsClean(client) });
      // On a full disk the waiting commands are sent once they can be marked SENT.
      ready().catch((err: unknown) => (storage?.failed(err, 'delivery after connect') ? storage.retry('delivery after connect', ready, `ready:${id.instanceId}:${id.clientId}`) : failed(err)));
      for (const served of gateways.servedBy(id).slice(1)) signals.subscribed(served).catch(failed);
    },
    clientDisconnect(client: Client): void {
      const id = connections.identityOf(client);
      if (!id) return;
      connections.offline(client);
      const at = iso(clock.now());
      sessionRow(id.instanceId, id.clientId, 'device disconnect', () => sessions.disconnected(id.instanceId, id.clientId, at));
      log('info', 'device disconnected', { instanceId: id.instanceId, clientId: id.clientId });
      announce(id.instanceId, 'disconnected');
    },
  };
}

export type Presence = ReturnType<typeof createPresence>;
