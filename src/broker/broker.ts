import { Aedes } from 'aedes';
import { X509Certificate } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { iso, type Clock } from '../clock/clock.js';
import { DEFAULTS } from '../config.js';
import type { TlsMaterial } from '../pki/certificates.js';
import type { Db } from '../store/database.js';
import type { Store } from '../store/index.js';
import { isStorageFault } from '../store/storage-errors.js';
import { notingStorageFaults, type StorageHealth } from '../store/storage-health.js';
import { createSqlitePersistence } from '../store/mqtt-persistence.js';
import type { WriteBatch } from '../store/write-batch.js';
import { acknowledgementHandler } from './acknowledgement.js';
import type { Inbound } from './inbound.js';
import { createConnections } from './connections.js';
import { createGateways } from './gateways.js';
import { createDelivery } from './delivery.js';
import { createDeviceLogin, type DeviceLogin } from './device-login.js';
import { devicePublishHooks } from './device-publish.js';
import { createHttpsListener } from './https-listener.js';
import { httpsPublishHandler } from './https-publish.js';
import { brokerLimits, type BrokerLimits } from './limits.js';
import { createTlsListener } from './listener.js';
import type { BrokerLog } from './log.js';
import { createLoginThrottle, THROTTLE_DEFAULTS } from './login-throttle.js';
import { loginHooks } from './login.js';
import { startsClean, TOPIC_ALIAS_MAXIMUM } from './mqtt5.js';
import { createPresence } from './presence.js';
import { authorizeSubscribe, subscriptionHandlers } from './subscribe.js';

export type { DeviceIdentity } from './connections.js';
export type { PresenceChange } from './presence.js';

export interface BrokerOptions {
  db: Db;
  store: Pick<Store, 'instances' | 'secrets' | 'clientCertificates' | 'deviceSessions'>;
  /** Which IoT domain a device means, from the host name it sent in TLS SNI (control/hosts.ts). */
  domainOf(servername: string | false | null | undefined): string | null;
  tls: TlsMaterial;
  host: string;
  /** MQTTS. */
  port: number;
  /** Device HTTPS: MQTT over secure WebSockets at /mqtt, and HTTPS POST. */
  httpsPort: number;
  clock: Clock;
  /** The batch of device writes, shared with the command engine (see store/write-batch.ts). */
  batch: WriteBatch;
  /** Outgoing packets the SQLite session persistence keeps per client. */
  maxQueuedPerClient?: number;
  /** What Aedes 1.2 does not enforce itself; the configuration's defaults when omitted. */
  limits?: BrokerLimits;
  log?: BrokerLog;
  /** Where every device event goes (inbound.ts); its stages are attached before listen(). */
  inbound: Inbound;
  /** Asked once a device's credentials are accepted, on every transport: a refusal to impose instead (faults/), or null. */
  loginGate?: (instanceId: string) => { returnCode: 3 | 5; reason: string } | null;
  /** Bytes one connection may have waiting before QoS 0 commands to it are dropped (delivery.ts's default when omitted). */
  qos0HighWaterBytes?: number;
  /** Where storage faults are noted and writes tried again (a full disk holds PUBACKs, not the process). */
  storage?: StorageHealth;
}

/**
 * The device side: Aedes with one handler module per concern, wired here and nowhere
 * else. Device sessions live in the SQLite persistence, in the same database as the
 * commands, so both survive a restart together.
 */
export async function startBroker(opts: BrokerOptions) {
  const { db, clock, batch } = opts;
  const log = opts.log ?? (() => {});
  const limits = opts.limits ?? brokerLimits(DEFAULTS);
  const sessions = opts.store.deviceSessions;
  const connections = createConnections();
  const signals = opts.inbound;
  // One login for every transport, so failures on any of them count towards one backoff.
  const credentials = createDeviceLogin({
    store: opts.store,
    domainOf: opts.domainOf,
    clock,
    maxKeepalive: limits.maxKeepalive,
    throttle: createLoginThrottle(clock, { ...THROTTLE_DEFAULTS, ...limits.login }),
    ca: new X509Certificate(opts.tls.ca),
  });
  // A login whose credentials are right may still be refused on purpose (faults/ refusing the next N).
  const login: DeviceLogin = (attempt) => {
    const outcome = credentials(attempt);
    const refusal = outcome.ok ? opts.loginGate?.(outcome.instance.id) : null;
    return refusal ? { ok: false, returnCode: refusal.returnCode, reason: refusal.reason, key: attempt.username ?? '' } : outcome;
  };

  // Aedes chains `delWill(...).finally(...)` at every CONNECT and never handles its rejection:
  // on a read-only disk that is an unhandled rejection, the end of the process. A will that
  // cannot be deleted there is left as it is, and the login goes on.
  const persistence = notingStorageFaults(createSqlitePersistence(db, { maxQueuedPerClient: opts.maxQueuedPerClient }), 'MQTT session', opts.storage, ['delWill']);
  const gateways = createGateways(opts.store.instances);
  const presence = createPresence({ sessions, clock, connections, gateways, signals, log, storage: opts.storage });
  const subscriptions = subscriptionHandlers({ connections, gateways, signals, presence, log });
  const delivery = createDelivery({ connections, sessions, gateways, persistence, batch, qos0HighWaterBytes: opts.qos0HighWaterBytes });

  sessions.resetOnline(iso(clock.now()));
  const aedes = await Aedes.createBroker({
    persistence,
    heartbeatInterval: 60_000,
    connectTimeout: limits.connectTimeoutMs,
    drainTimeout: limits.drainTimeoutMs,
    // MQTT 5: the limits a v5 device is told in its CONNACK (Aedes 2 enforces both inbound).
    maximumPacketSize: limits.maxPacketSize,
    topicAliasMaximum: TOPIC_ALIAS_MAXIMUM,
    ...loginHooks({ login, connections, log, maxKeepalive: limits.maxKeepalive }),
    authorizeSubscribe,
    ...devicePublishHooks({ connections, batch, signals, storage: opts.storage }),
  });
  // Aedes 2 reports a session-store failure it has no client to hand to (an expired session's
  // wipe, a will's clean-up) as its `error` event, which ends the process with no listener:
  // a storage fault is noted (and the write left, as delWill above); anything else still throws.
  // (Aedes' types leave the `error` event out; the broker is an EventEmitter.)
  (aedes as unknown as EventEmitter).on('error', (err: unknown) => {
    if (!opts.storage?.failed(err, 'MQTT session')) throw err;
  });
  // A device's PUBACK: Aedes clears the packet id in the persistence, then emits `ack`.
  aedes.on('ack', acknowledgementHandler({ batch, signals, log, storage: opts.storage }));
  // Aedes 2.0.0-beta.1 predates 1.2's fix GHSA-p8r9-qf8w-p73r: a session that starts clean,
  // or ends with its connection, takes its QoS 2 duplicate-detection entries with it.
  // On a read-only or full disk the entries stay (the persistence noted the fault): nothing can be stored meanwhile.
  const cleanIncoming = (client: { id: string }) =>
    void persistence.cleanIncoming(client).catch((err: unknown) => {
      if (!opts.storage || !isStorageFault(err)) throw err;
    });
  aedes.on('client', (client) => startsClean(client) && cleanIncoming(client));
  aedes.on('clientDisconnect', (client) => client.clean && cleanIncoming(client));
  aedes.on('clientReady', presence.clientReady);
  aedes.on('clientDisconnect', presence.clientDisconnect);
  aedes.on('subscribe', subscriptions.subscribed);
  aedes.on('unsubscribe', subscriptions.unsubscribed);

  const mqtts = createTlsListener({ tls: opts.tls, limits, handle: aedes.handle, log });
  const https = createHttpsListener({
    tls: opts.tls,
    limits,
    handle: aedes.handle,
    publish: httpsPublishHandler({ login, batch, signals, maxBodySize: limits.maxPacketSize, log, storage: opts.storage }),
    log,
  });

  return {
    aedes,
    devices: delivery.devices,
    /** Starts accepting devices; the inbound stages must be attached first so no event is missed. */
    async listen(): Promise<{ mqttPort: number; httpsPort: number }> {
      const mqttPort = await mqtts.listen(opts.port, opts.host);
      const httpsPort = await https.listen(opts.httpsPort, opts.host);
      return { mqttPort, httpsPort };
    },
    /** The REST API under OCI's host names on the device HTTPS port (see https-listener.ts). */
    serveApi: https.serveApi,
    /** Takes a tunneled connection as if it had reached the device HTTPS port. */
    acceptHttps: https.accept,
    /** The device ports' connection counts for /metrics. */
    metricFamilies: () => [...mqtts.metricFamilies(), ...https.metricFamilies()],
    isOnline: delivery.isOnline,
    qos0Dropped: delivery.qos0Dropped,
    subscriptionsOf: delivery.subscriptionsOf,
    connectionsOf: delivery.connectionsOf,
    onPresence: presence.onPresence,
    /** Closes every live connection of a device, e.g. when its instance is deleted or its credentials change. */
    disconnect(instanceId: string) {
      for (const client of connections.registered(instanceId)) client.close();
    },
    async close() {
      // The servers' close waits for open connections, which closing Aedes ends.
      const stopped = Promise.all([mqtts.close(), https.close()]);
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await stopped;
    },
  };
}

export type Broker = Awaited<ReturnType<typeof startBroker>>;
