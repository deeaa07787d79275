import { Aedes } from 'aedes';
import { iso, type Clock } from '../clock.js';
import type { DeviceSignals } from '../commands/device-port.js';
import { DEFAULTS } from '../config.js';
import type { TlsMaterial } from '../pki/certificates.js';
import type { Db } from '../store/database.js';
import type { Store } from '../store/index.js';
import { createSqlitePersistence } from '../store/mqtt-persistence.js';
import type { WriteBatch } from '../store/write-batch.js';
import { acknowledgementHandler } from './acknowledgement.js';
import { createConnections } from './connections.js';
import { createDelivery } from './delivery.js';
import { devicePublishHooks } from './device-publish.js';
import { brokerLimits, type BrokerLimits } from './limits.js';
import { createTlsListener } from './listener.js';
import type { BrokerLog } from './log.js';
import { loginHooks, type LoginGate } from './login.js';
import { createPresence } from './presence.js';
import { relaySignals } from './signals.js';
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
  port: number;
  clock: Clock;
  /** The batch of device writes, shared with the command engine (see store/write-batch.ts). */
  batch: WriteBatch;
  /** Outgoing packets the SQLite session persistence keeps per client. */
  maxQueuedPerClient?: number;
  /** What Aedes 1.2 does not enforce itself; the configuration's defaults when omitted. */
  limits?: BrokerLimits;
  log?: BrokerLog;
  /** Asked once a device's credentials are accepted: a refusal to impose instead (faults/), or null. */
  loginGate?: LoginGate;
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
  const engine = relaySignals();
  const signals = engine.signals;

  const persistence = createSqlitePersistence(db, {
    maxQueuedPerClient: opts.maxQueuedPerClient,
    onAcknowledged: acknowledgementHandler({ batch, signals, log }),
  });
  const presence = createPresence({ sessions, clock, connections, signals, log });
  const subscriptions = subscriptionHandlers({ connections, signals, presence, log });
  const delivery = createDelivery({ connections, sessions, persistence, batch });

  sessions.resetOnline(iso(clock.now()));
  const aedes = await Aedes.createBroker({
    persistence,
    heartbeatInterval: 60_000,
    connectTimeout: limits.connectTimeoutMs,
    drainTimeout: limits.drainTimeoutMs,
    ...loginHooks({ store: opts.store, domainOf: opts.domainOf, clock, ca: opts.tls.ca, limits, connections, log, gate: opts.loginGate }),
    authorizeSubscribe,
    ...devicePublishHooks({ connections, batch, signals }),
  });
  aedes.on('clientReady', presence.clientReady);
  aedes.on('clientDisconnect', presence.clientDisconnect);
  aedes.on('subscribe', subscriptions.subscribed);
  aedes.on('unsubscribe', subscriptions.unsubscribed);

  const listener = createTlsListener({ tls: opts.tls, limits, handle: aedes.handle, log });

  return {
    aedes,
    devices: delivery.devices,
    /** Starts accepting devices; signals must be attached first so no event is missed. */
    listen(s: DeviceSignals): Promise<number> {
      engine.attach(s);
      return listener.listen(opts.port, opts.host);
    },
    isOnline: connections.isOnline,
    subscriptionsOf: delivery.subscriptionsOf,
    onPresence: presence.onPresence,
    /** Closes a device's live connection, e.g. when its instance is deleted or its credentials change. */
    disconnect(instanceId: string) {
      connections.registered(instanceId)?.close();
    },
    async close() {
      // The server's close waits for open connections, which closing Aedes ends.
      const stopped = listener.close();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await stopped;
    },
  };
}

export type Broker = Awaited<ReturnType<typeof startBroker>>;
