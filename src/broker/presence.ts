import type { Client } from 'aedes';
import { iso, type Clock } from '../clock.js';
import type { DeviceSignals } from '../commands/device-port.js';
import type { DeviceSessionStore } from '../store/device-sessions.js';
import type { Connections } from './connections.js';
import type { BrokerLog } from './log.js';

export interface PresenceChange {
  instanceId: string;
  kind: 'connected' | 'disconnected' | 'subscriptions';
}

/**
 * Connect and disconnect: the device's session row, its live connection, and whoever
 * watches presence (the console, metrics), told after the row is written. A device that
 * is ready gets the commands waiting for it.
 */
export function createPresence(deps: {
  sessions: DeviceSessionStore;
  clock: Clock;
  connections: Connections;
  signals: DeviceSignals;
  log: BrokerLog;
}) {
  const { sessions, clock, connections, signals, log } = deps;
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
      connections.online(id.instanceId, client);
      sessions.connected(id.instanceId, id.clientId, client.clean, iso(clock.now()));
      log('info', 'device connected', { instanceId: id.instanceId, clientId: id.clientId, clean: client.clean });
      announce(id.instanceId, 'connected');
      signals.deviceReady(id.instanceId, { clean: client.clean }).catch((err) => log('warn', 'delivery after connect failed', { err: String(err) }));
    },
    clientDisconnect(client: Client): void {
      const id = connections.identityOf(client);
      if (!id) return;
      connections.offline(id.instanceId, client);
      sessions.disconnected(id.instanceId, id.clientId, iso(clock.now()));
      log('info', 'device disconnected', { instanceId: id.instanceId, clientId: id.clientId });
      announce(id.instanceId, 'disconnected');
    },
  };
}

export type Presence = ReturnType<typeof createPresence>;
