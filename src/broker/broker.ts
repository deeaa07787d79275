import { Aedes, type AuthenticateError, type Client } from 'aedes';
import mqttPacket from 'mqtt-packet';
import { X509Certificate } from 'node:crypto';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import type { AddressInfo, Socket } from 'node:net';
import { iso, type Clock } from '../clock.js';
import type { DevicePort, DeviceSignals, DeliveryRoute, OutboundCommand } from '../commands/device-port.js';
import type { TlsMaterial } from '../pki/certificates.js';
import { deviceTlsOptions } from '../pki/tls-policy.js';
import { DEFAULTS } from '../config.js';
import type { Db } from '../store/database.js';
import { afterCommit, runBatch } from '../store/after-commit.js';
import { deviceSessionStore } from '../store/device-sessions.js';
import { createDeviceLogin } from './device-login.js';
import { GuardedConnection } from './guarded-connection.js';
import { brokerLimits, type BrokerLimits, type ConnectFacts } from './limits.js';
import { createLoginThrottle, THROTTLE_DEFAULTS } from './login-throttle.js';
import { bestMatch } from './topics.js';
import type { BrokerPersistence } from './persistence.js';

export interface DeviceIdentity {
  instanceId: string;
  externalKey: string;
  /** The client id the device sent; the broker's own id for it is namespaced by instance. */
  clientId: string;
}

export interface PresenceChange {
  instanceId: string;
  kind: 'connected' | 'disconnected' | 'subscriptions';
}

export interface BrokerOptions {
  db: Db;
  domainId: string;
  tls: TlsMaterial;
  host: string;
  port: number;
  clock: Clock;
  /** Device sessions: the SQLite persistence, so they survive a restart with the commands. */
  persistence: BrokerPersistence;
  /** What Aedes 1.2 does not enforce itself; the configuration's defaults when omitted. */
  limits?: BrokerLimits;
  log?: (level: 'info' | 'warn' | 'debug', msg: string, fields?: Record<string, unknown>) => void;
  /** Asked once a device's credentials are accepted: a refusal to impose instead (faults/), or null. */
  loginGate?: (instanceId: string) => { returnCode: 3 | 4 | 5; reason: string } | null;
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
  // Who watches presence (the console, metrics); told after the session row is written.
  const presenceListeners = new Set<(change: PresenceChange) => void>();
  const presence = (instanceId: string, kind: PresenceChange['kind']) => {
    for (const listener of presenceListeners) listener({ instanceId, kind });
  };
  let signals: DeviceSignals | null = null;
  const persistence = opts.persistence;
  const limits = opts.limits ?? brokerLimits(DEFAULTS);
  const login = createDeviceLogin({
    db,
    domainId: opts.domainId,
    clock,
    maxKeepalive: limits.maxKeepalive,
    throttle: createLoginThrottle(clock, { ...THROTTLE_DEFAULTS, ...limits.login }),
    ca: new X509Certificate(opts.tls.ca),
  });
  // authenticate sees neither the keepalive nor the client id as sent; preConnect does.
  const connectFacts = new WeakMap<Client, ConnectFacts>();

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
    connectTimeout: limits.connectTimeoutMs,
    drainTimeout: limits.drainTimeoutMs,
    preConnect(client, packet, done) {
      connectFacts.set(client, { clientId: packet.clientId, clean: packet.clean !== false, keepalive: packet.keepalive ?? 0 });
      done(null, true);
    },
    authenticate(client, username, password, done) {
      const conn = client.conn instanceof GuardedConnection ? client.conn : null;
      const outcome = login({
        facts: connectFacts.get(client),
        username,
        password,
        address: normalizeAddress((conn?.socket ?? (client.conn as Socket)).remoteAddress),
        peerCertificate: conn?.socket.getPeerX509Certificate(),
      });
      if (!outcome.ok) {
        log('info', 'device login refused', { username, clientId: client.id, returnCode: outcome.returnCode, reason: outcome.reason });
        const err = new Error(outcome.reason) as AuthenticateError;
        err.returnCode = outcome.returnCode;
        return done(err, false);
      }
      const { instance } = outcome;
      const refusal = opts.loginGate?.(instance.id);
      if (refusal) {
        log('info', 'device login refused', { username, clientId: client.id, returnCode: refusal.returnCode, reason: refusal.reason });
        const err = new Error(refusal.reason) as AuthenticateError;
        err.returnCode = refusal.returnCode;
        return done(err, false);
      }
      conn?.authenticated();
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
    authorizeSubscribe(_client, sub, done) {
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
      // Commands the engine sends meanwhile (a PUBACK frees room in a device's in-flight
      // window) are written once the batch has committed (afterCommit in send).
      runBatch(db, () => {
        batch.forEach((write, i) => {
          try {
            write.apply();
          } catch (err) {
            errors[i] = err as Error;
          }
        });
      });
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
    presence(id.instanceId, 'connected');
    signals?.deviceReady(id.instanceId, { clean: client.clean }).catch((err) => log('warn', 'delivery after connect failed', { err: String(err) }));
  });
  aedes.on('clientDisconnect', (client) => {
    const id = identities.get(client);
    if (!id) return;
    if (live.get(id.instanceId) === client) live.delete(id.instanceId);
    sessions.disconnected(id.instanceId, id.clientId, iso(clock.now()));
    log('info', 'device disconnected', { instanceId: id.instanceId, clientId: id.clientId });
    presence(id.instanceId, 'disconnected');
  });
  aedes.on('subscribe', (_subs, client) => {
    const id = identities.get(client);
    if (id) signals?.subscribed(id.instanceId).catch((err) => log('warn', 'delivery after subscribe failed', { err: String(err) }));
    if (id) presence(id.instanceId, 'subscriptions');
  });
  aedes.on('unsubscribe', (_topics, client) => {
    const id = identities.get(client);
    if (id) presence(id.instanceId, 'subscriptions');
  });

  function liveClient(instanceId: string): Client | undefined {
    const client = live.get(instanceId);
    return client && !client.closed ? client : undefined;
  }
  function liveSubscriptions(client: Client): Array<{ topic: string; qos: number }> {
    const subs = (client as unknown as { subscriptions: Record<string, { qos: number }> }).subscriptions;
    return Object.entries(subs).map(([topic, s]) => ({ topic, qos: s.qos }));
  }
  /** The subscriptions of the device's last persistent session, which outlive its connection. */
  async function persistentSubscriptions(instanceId: string): Promise<Array<{ topic: string; qos: number }>> {
    const clientId = sessions.lastPersistentClientId(instanceId);
    if (!clientId) return [];
    const subs = await persistence.subscriptionsByClient({ id: `${instanceId}/${clientId}` });
    return subs.map((s) => ({ topic: s.topic, qos: s.qos }));
  }

  const devices: DevicePort = {
    async route(instanceId, topic): Promise<DeliveryRoute> {
      const client = liveClient(instanceId);
      if (client) return { online: true, qos: bestMatch(liveSubscriptions(client), topic) };
      return { online: false, qos: bestMatch(await persistentSubscriptions(instanceId), topic) };
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
      const write = () => void client.conn.write(bytes, (err) => written(!err));
      // A command's bytes never leave before the row that says it was SENT is committed.
      afterCommit(db, write);
      return true;
    },
  };

  const server: TlsServer = createTlsServer(deviceTlsOptions(opts.tls, limits.connectTimeoutMs), (socket) =>
    aedes.handle(
      new GuardedConnection(socket, {
        maxPacketSize: limits.maxPacketSize,
        maxConnectSize: limits.maxConnectSize,
        drainTimeoutMs: limits.drainTimeoutMs,
        onRefused: (reason) => log('info', 'device connection closed', { reason, address: socket.remoteAddress }),
      }),
    ),
  );
  // A client that is not speaking TLS never reaches MQTT; there is nothing to answer. With a
  // listener attached Node leaves the socket open, so a silent TCP peer would stay forever.
  server.on('tlsClientError', (err, socket) => {
    log('debug', 'TLS handshake failed', { err: err.message });
    socket.destroy();
  });
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
    /** The subscriptions a device has now: its live connection's, else its last persistent session's. */
    subscriptionsOf(instanceId: string): Promise<Array<{ topic: string; qos: number }>> {
      const client = liveClient(instanceId);
      return client ? Promise.resolve(liveSubscriptions(client)) : persistentSubscriptions(instanceId);
    },
    /** Reports connects, disconnects and subscription changes; returns a function that stops it. */
    onPresence(listener: (change: PresenceChange) => void): () => void {
      presenceListeners.add(listener);
      return () => void presenceListeners.delete(listener);
    },
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

/** IPv4 peers of a dual-stack listener show up as ::ffff:a.b.c.d; one address, one backoff. */
function normalizeAddress(address: string | undefined): string {
  return address?.startsWith('::ffff:') ? address.slice(7) : (address ?? 'unknown');
}

export type Broker = Awaited<ReturnType<typeof startBroker>>;
