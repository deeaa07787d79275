import { Aedes, type AuthenticateError, type Client } from 'aedes';
import mqttPacket from 'mqtt-packet';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { iso, type Clock } from '../clock.js';
import type { DevicePort, DeviceSignals, DeliveryRoute, OutboundCommand } from '../commands/device-port.js';
import type { TlsMaterial } from '../pki/certificates.js';
import type { Db } from '../store/database.js';
import { deviceSessionStore } from '../store/device-sessions.js';
import { checkDeviceLogin } from './authenticate.js';
import { bestMatch } from './topics.js';
import { memoryPersistence, type BrokerPersistence } from './persistence.js';

export interface DeviceIdentity {
  instanceId: string;
  externalKey: string;
  /** The client id the device sent; the broker's own id for it is namespaced by instance. */
  clientId: string;
}

export interface BrokerOptions {
  db: Db;
  domainId: string;
  tls: TlsMaterial;
  host: string;
  port: number;
  clock: Clock;
  persistence?: BrokerPersistence;
  log?: (level: 'info' | 'warn' | 'debug', msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * Every device publish is moved under this `$SYS` prefix once the platform has taken it:
 * Aedes never hands `$` topics to wildcard subscriptions or offline queues, and devices
 * may not subscribe to `$` topics, so no device ever receives another device's message.
 */
const INGESTED_TOPIC = '$SYS/oci-iot-emulator/device-publish';

export async function startBroker(opts: BrokerOptions) {
  const { db, clock } = opts;
  const log = opts.log ?? (() => {});
  const sessions = deviceSessionStore(db);
  const identities = new WeakMap<Client, DeviceIdentity>();
  const live = new Map<string, Client>();
  let signals: DeviceSignals | null = null;
  const persistence = opts.persistence ?? memoryPersistence();

  // Aedes reports a PUBACK by clearing the packet id from the persistence; commands are
  // written by us rather than queued there, so this is where their acknowledgement shows.
  const clearMessageId = persistence.outgoingClearMessageId.bind(persistence);
  persistence.outgoingClearMessageId = async (client, packet) => {
    const id = identities.get(client as unknown as Client);
    const messageId = packet.messageId;
    if (id && signals && typeof messageId === 'number') {
      enqueueWrite(
        () => signals!.puback(id.instanceId, messageId),
        (err) => err && log('warn', 'PUBACK not recorded', { instanceId: id.instanceId, messageId, err: String(err) }),
      );
    }
    return clearMessageId(client, packet);
  };

  sessions.resetOnline(iso(clock.now()));

  const aedes = await Aedes.createBroker({
    persistence,
    heartbeatInterval: 60_000,
    authenticate(client, username, password, done) {
      const instance = checkDeviceLogin(db, opts.domainId, username, password);
      if (!instance) {
        log('info', 'device login refused', { username, clientId: client.id });
        const err = new Error('not authorized') as AuthenticateError;
        err.returnCode = 5;
        return done(err, false);
      }
      const identity = { instanceId: instance.id, externalKey: instance.external_key, clientId: client.id };
      identities.set(client, identity);
      // Namespacing the session id by instance keeps one device from taking over or
      // inheriting another device's session by reusing its client id.
      (client as { id: string }).id = `${instance.id}/${client.id}`;
      // One live connection per device: a second login takes over, as in OCI.
      const previous = live.get(instance.id);
      if (previous && previous.id !== client.id) previous.close();
      done(null, true);
    },
    authorizeSubscribe(client, sub, done) {
      // `$` topics are the broker's own; refusing them keeps ingested publishes unreachable.
      done(null, sub.topic.startsWith('$') ? null : sub);
    },
    authorizePublish(client, packet, done) {
      if (packet.topic.startsWith('$SYS')) return done(new Error('$SYS topics are reserved'));
      const identity = client ? identities.get(client) : undefined;
      const instanceId = identity?.instanceId ?? instanceOfStaleWill(packet as unknown as { clientId?: string });
      const topic = packet.topic;
      packet.topic = `${INGESTED_TOPIC}/${instanceId ?? 'unknown'}`;
      packet.retain = false;
      const payload = packet.payload as Buffer;
      if (instanceId && signals) enqueueWrite(() => signals!.published(instanceId, topic, payload), done);
      else done(null);
    },
    authorizeForward() {
      // Commands are written straight to the device's connection; nothing is routed.
      return null;
    },
  });

  /**
   * What devices send that changes the database (publishes, and PUBACKs of commands) is
   * applied in arrival order, in one SQLite transaction per turn of the event loop: a
   * commit per message was the largest cost under load
   * (bench/results/fix-3-batch-device-publishes.md). The engine's own transactions nest
   * as savepoints, so a message that fails undoes only itself; a publish is still
   * acknowledged (PUBACK) only after the commit.
   */
  const pending: Array<{ apply: () => void; done: (err: Error | null) => void }> = [];
  function enqueueWrite(apply: () => void, done: (err: Error | null) => void): void {
    if (pending.push({ apply, done }) === 1) setImmediate(flushWrites);
  }
  function flushWrites(): void {
    const batch = pending.splice(0);
    const errors = batch.map((): Error | null => null);
    try {
      db.transaction(() => {
        batch.forEach((write, i) => {
          try {
            write.apply();
          } catch (err) {
            errors[i] = err as Error;
          }
        });
      })();
    } catch (err) {
      errors.fill(err as Error);
    }
    // A publish that was not stored is not acknowledged: the connection closes and the device may retry.
    batch.forEach((write, i) => write.done(errors[i]));
  }

  function instanceOfStaleWill(packet: { clientId?: string }): string | undefined {
    const id = packet.clientId;
    return id && id.startsWith('ocid1.') ? id.slice(0, id.indexOf('/')) : undefined;
  }

  aedes.on('clientReady', (client) => {
    const id = identities.get(client);
    if (!id) return;
    live.set(id.instanceId, client);
    sessions.connected(id.instanceId, id.clientId, client.clean, iso(clock.now()));
    log('info', 'device connected', { instanceId: id.instanceId, clientId: id.clientId, clean: client.clean });
    signals?.deviceReady(id.instanceId, { clean: client.clean }).catch((err) => log('warn', 'delivery after connect failed', { err: String(err) }));
  });
  aedes.on('clientDisconnect', (client) => {
    const id = identities.get(client);
    if (!id) return;
    if (live.get(id.instanceId) === client) live.delete(id.instanceId);
    sessions.disconnected(id.instanceId, id.clientId, iso(clock.now()));
    log('info', 'device disconnected', { instanceId: id.instanceId, clientId: id.clientId });
  });
  aedes.on('subscribe', (_subs, client) => {
    const id = identities.get(client);
    if (id) signals?.subscribed(id.instanceId).catch((err) => log('warn', 'delivery after subscribe failed', { err: String(err) }));
  });

  const devices: DevicePort = {
    async route(instanceId, topic): Promise<DeliveryRoute> {
      const client = live.get(instanceId);
      if (client && !client.closed) {
        const subs = (client as unknown as { subscriptions: Record<string, { qos: number }> }).subscriptions;
        return { online: true, qos: bestMatch(Object.entries(subs).map(([t, s]) => ({ topic: t, qos: s.qos })), topic) };
      }
      const clientId = sessions.lastPersistentClientId(instanceId);
      if (!clientId) return { online: false, qos: null };
      const subs = await persistence.subscriptionsByClient({ id: `${instanceId}/${clientId}` });
      return { online: false, qos: bestMatch(subs, topic) };
    },
    liveClientId(instanceId) {
      const client = live.get(instanceId);
      return client && !client.closed ? identities.get(client)!.clientId : null;
    },
    send(instanceId, message: OutboundCommand, written) {
      const client = live.get(instanceId);
      if (!client || client.closed) return false;
      const bytes = mqttPacket.generate({
        cmd: 'publish',
        topic: message.topic,
        payload: message.payload,
        qos: message.qos,
        messageId: message.messageId,
        dup: message.dup,
        retain: false,
      });
      client.conn.write(bytes, (err) => written(!err));
      return true;
    },
  };

  const server: TlsServer = createTlsServer(
    { key: opts.tls.key, cert: opts.tls.cert, minVersion: 'TLSv1.2' },
    (socket) => aedes.handle(socket),
  );
  // A client that is not speaking TLS never reaches MQTT; there is nothing to answer.
  server.on('tlsClientError', (err) => log('debug', 'TLS handshake failed', { err: err.message }));
  return {
    aedes,
    devices,
    /** Starts accepting devices; signals must be attached first so no event is missed. */
    async listen(s: DeviceSignals): Promise<number> {
      signals = s;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port, opts.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return (server.address() as AddressInfo).port;
    },
    isOnline: (instanceId: string) => live.has(instanceId),
    /** Closes a device's live connection, e.g. when its instance is deleted or its credentials change. */
    disconnect(instanceId: string) {
      live.get(instanceId)?.close();
    },
    async close() {
      // The server's close waits for open connections, which closing Aedes ends.
      const stopped = server.listening ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await stopped;
    },
  };
}

export type Broker = Awaited<ReturnType<typeof startBroker>>;
