import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import type { AddressInfo } from 'node:net';
import { adminTokenFor } from './api/admin-auth.js';
import { buildApi, type RouteEntry } from './api/server.js';
import { startBroker, type Broker } from './broker/broker.js';
import { createInbound } from './broker/inbound.js';
import { brokerLimits } from './broker/limits.js';
import { iso, manualClock, systemClock, type Clock } from './clock/clock.js';
import { createCommandEngine, type CommandEngine } from './commands/engine.js';
import type { DevicePort } from './commands/device-port.js';
import { DEFAULTS, durationMs, resolveConfig, type EmulatorConfig } from './config.js';
import { createControlPlane, type ControlPlane } from './control/control-plane.js';
import { dataHostOf, dbConnectionStringOf, deviceHostOf, deviceHostWildcard, hostNameOf, isApiHost, isTunneledHost, ociIotSuffix, ociServiceNames } from './control/hosts.js';
import { createHttpsProxy } from './proxy/https-proxy.js';
import { headAsGet } from './api/head-requests.js';
import { checkCertificates, ensureCertificates } from './pki/certificates.js';
import { databasePath, openDatabase, startCheckFor, type Db } from './store/database.js';
import { checkDataDir } from './store/data-files.js';
import { createStore, type Store } from './store/index.js';
import { lockDataDir } from './store/data-dir-lock.js';
import { createWriteBatch } from './store/write-batch.js';
import { createCheckpointer } from './store/checkpointer.js';
import { createStorageHealth, type StorageHealth } from './store/storage-health.js';
import { createLogger } from './ops/logger.js';
import { createMetrics, family } from './ops/metrics.js';
import { twinResources, type TwinResources } from './resources/twins.js';
import { createJqEngine } from './telemetry/jq.js';
import { createTelemetryPipeline, type TelemetryPipeline } from './telemetry/pipeline.js';
import { createTestControl, type TestControl } from './test-control/test-control.js';
import { deviceUrls } from './views/connection.js';
import type { SeedFile } from './seed/format.js';
import type { LoadedSeed } from './seed/read.js';
import type { SeedSummary } from './seed/apply.js';

/** The seed files to load (read and checked for shape), null without a seed; the seed modules load only for one. */
async function loadSeeds(given: string | SeedFile | undefined, path: string): Promise<LoadedSeed[] | null> {
  if (given !== undefined && typeof given === 'object') {
    const { checkShape } = await import('./seed/format.js');
    return [{ file: 'the seed option', seed: checkShape(given, 'the seed option') }];
  }
  if (!path) return null;
  const { readSeed } = await import('./seed/read.js');
  return readSeed(path);
}

export interface EmulatorOptions extends Omit<Partial<EmulatorConfig>, 'seed'> {
  /** A seed file or directory of them (like --seed), or a seed's content itself (docs/seed.md). */
  seed?: string | SeedFile;
  /** A pino logger to use instead of the one built from `logLevel`. */
  logger?: Logger;
  /** Environment to read OCI_IOT_* settings from; none unless given. */
  env?: NodeJS.ProcessEnv;
  /** Where a manual clock starts (epoch ms); now by default. */
  manualClockStart?: number;
}

export interface Emulator {
  config: EmulatorConfig;
  /** Base URL of the REST API, e.g. http://127.0.0.1:8080 (OCI paths are below /20250531). */
  restUrl: string;
  /** mqtts://host:port devices connect to. */
  mqttUrl: string;
  /** wss://host:port/mqtt: MQTT over secure WebSockets. */
  wssUrl: string;
  /** https://host:port: devices POST telemetry to /<endpoint>. */
  httpsUrl: string;
  restPort: number;
  mqttPort: number;
  /** The device HTTPS port (WSS at /mqtt and HTTPS POST). */
  httpsPort: number;
  /** http://host:port of the HTTPS proxy mode (HTTPS_PROXY for OCI's clients); null when it is off. */
  proxyUrl: string | null;
  caFile: string;
  /** PEM of the local CA that signed the broker's certificate. */
  ca: string;
  domain: { id: string; shortId: string; deviceHost: string; groupId: string };
  databaseFile: string;
  clock: Clock;
  db: Db;
  /** Every read and write of the emulator's tables, over `db`. */
  store: Store;
  engine: CommandEngine;
  /** The adapter pipeline (device telemetry into historized, snapshot and rejected data). */
  telemetry: TelemetryPipeline;
  twins: TwinResources;
  /** Domain groups, domains and the work requests that change them. */
  control: ControlPlane;
  /**
   * The token the console and /emulator/* require: given (--admin-token), or generated when
   * bound beyond loopback; null when they are open (loopback, none given).
   */
  adminToken: string | null;
  /** Every route the REST server serves: method, template, and whether it is on the admin surface. */
  routes: readonly RouteEntry[];
  /** Device and API faults, set and cleared at run time (also under /emulator/faults). */
  faults: TestControl['faults'];
  /** URLs that get each command transition (and telemetry) POSTed (also under /emulator/webhooks). */
  webhooks: TestControl['webhooks'];
  /** Devices the emulator hosts, answering commands and publishing telemetry (also under /emulator/virtual-devices). */
  virtualDevices: TestControl['virtualDevices'];
  /** Whether the storage takes writes (a full or failing disk makes it degraded), and the retries waiting on it. */
  storage: StorageHealth;
  /** The broker as the engine sees it: presence and subscriptions per instance. */
  devices: DevicePort & { isOnline(instanceId: string): boolean };
  /** What the seed (--seed, `seed`) created and found already there; null without one. */
  seeded: SeedSummary | null;
  close(): Promise<void>;
}

/** The composition root: opens the store, the broker, the engine and the API, in that order. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const { logger: givenLogger, env, manualClockStart, seed: givenSeed, ...overrides } = options;
  const config = resolveConfig({ ...overrides, ...(typeof givenSeed === 'string' ? { seed: givenSeed } : {}) }, env);
  // A bad seed is refused before anything is opened or written.
  const seeds = await loadSeeds(givenSeed, config.seed);
  const log = givenLogger ?? createLogger(config.logLevel);
  const clock: Clock = config.clock === 'manual' ? manualClock(manualClockStart) : systemClock();

  // Before anything is written: a certs or data directory it cannot use, or a second
  // emulator on the data directory, stops here with one line.
  const certs = checkCertificates(config.certsDir, [config.deviceHost, deviceHostWildcard(config.domainHostSuffix), ...ociServiceNames(config.region, config.domainHostSuffix)]);
  if (config.dataDir !== ':memory:') checkDataDir(config.dataDir);
  const lock = config.dataDir === ':memory:' ? null : lockDataDir(config.dataDir);
  let db: Db;
  try {
    const check = startCheckFor(config.dataDir, config.checkDatabase);
    if (check === 'none' && config.dataDir !== ':memory:' && existsSync(databasePath(config.dataDir))) {
      log.info({ databaseFile: databasePath(config.dataDir) }, 'database over 64 MiB: not checked at start (--check-database checks it in full)');
    }
    db = openDatabase(config.dataDir, config.durability, check);
  } catch (err) {
    lock?.release();
    throw err;
  }
  const store = createStore(db);
  // A full, read-only or failing disk: every write path answers or retries through it, logged once.
  const storage = createStorageHealth({ dataDir: resolve(config.dataDir), clock, log: log.child({ component: 'storage' }) });
  const closers: Array<() => Promise<void> | void> = [() => lock?.release(), () => void db.close(), () => storage.stop()];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close();
  };
  try {
    // Domains' host names: OCI's own in proxy mode (the proxy answers for them), else under the configured suffix.
    const hostSuffix = config.proxyPort !== null && config.domainHostSuffix === DEFAULTS.domainHostSuffix ? ociIotSuffix(config.region) : config.domainHostSuffix;
    const { domain, group } = store.controlPlane.ensureDefault({
      region: config.region,
      hostsOf: (domainShort, groupShort) => ({
        deviceHost: deviceHostOf(domainShort, hostSuffix),
        dataHost: dataHostOf(groupShort, hostSuffix),
        dbConnectionString: dbConnectionStringOf(groupShort, config.region),
      }),
      now: iso(clock.now()),
    });
    let broker: Broker | undefined;
    const control = createControlPlane({
      store,
      clock,
      region: config.region,
      hostSuffix,
      workRequestMs: durationMs(config.workRequestDuration),
      // A deleted domain's devices are deleted with it; their live sessions end too.
      onDomainDeleted: (_domainId, instanceIds) => instanceIds.forEach((id) => broker?.disconnect(id)),
      purge: {
        onError: (err) => {
          if (!storage.failed(err, 'retention purge')) log.warn({ err }, 'retention purge failed; it runs again next minute');
        },
        onPassed: () => storage.succeeded(),
      },
      storage,
    });
    closers.push(() => control.stop());
    // The wildcard covers every domain made later without a restart; older names stay covered.
    const tls = await ensureCertificates(
      config.certsDir,
      [
      config.deviceHost,
      deviceHostWildcard(config.domainHostSuffix),
      // OCI's own host names, served on the HTTPS port (and through the proxy mode).
      ...ociServiceNames(config.region, config.domainHostSuffix),
      ...control.store.liveDomains().map((d) => d.device_host),
      ],
      certs,
    );

    // What devices send is applied in one transaction per event-loop turn; the engine's
    // announcements and command bytes caused by it wait for that commit.
    const checkpointer = createCheckpointer(db, { onError: (err) => storage.failed(err, 'WAL checkpoint') });
    let commandsInFlight = () => 0;
    // Device writes wait for a shared commit only while two or more commands are under way.
    const batch = createWriteBatch(db, {
      onCommit: (applied) => {
        checkpointer.noteCommit();
        if (applied > 0) storage.succeeded();
      },
      paceWhen: () => commandsInFlight() >= 2,
      // The live commands in memory follow the rows: a write undone makes them load again.
      onRollback: () => store.commands.forgetLive(),
      onError: (err, what) => {
        if (!storage.failed(err, what)) log.error({ err }, `${what} failed`);
      },
    });
    // Run in reverse: what is still queued commits, then the worker lets go, then the database closes.
    closers.push(() => checkpointer.close(), () => batch.drain());
    const metrics = createMetrics(store);
    // One jq engine for adapters and virtual devices' templates.
    const jq = createJqEngine();
    closers.push(() => jq.close());
    // Faults, virtual devices and webhooks: what tests and demos steer the emulator with.
    const testControl = createTestControl({ store, clock, metrics, jq, storage });
    closers.push(() => testControl.stop());
    const brokerLog = log.child({ component: 'broker' });
    // Every device event's way in; its stages are attached once the engine exists (it needs the broker).
    const inbound = createInbound();
    broker = await startBroker({
      inbound,
      db,
      store,
      clock,
      tls,
      batch,
      domainOf: (servername) => control.domainForServername(servername)?.id ?? null,
      host: config.bindHost,
      port: config.mqttPort,
      httpsPort: config.httpsPort,
      maxQueuedPerClient: config.maxPendingPerDevice,
      limits: brokerLimits(config),
      log: (level, msg, fields) => brokerLog[level](fields ?? {}, msg),
      loginGate: testControl.loginGate,
      storage,
    });
    const started = broker;
    metrics.extend(broker.metricFamilies);
    closers.push(() => started.close());
    metrics.extend(() => [
      family('oci_iot_mqtt_qos0_dropped_total', 'counter', 'QoS 0 commands dropped because their device did not read its connection (more than the high-water mark waiting)', [
        ['oci_iot_mqtt_qos0_dropped_total', {}, started.qos0Dropped()],
      ]),
      family('oci_iot_storage_degraded', 'gauge', '1 while the database refuses writes (a full, read-only or failing disk; see /emulator/health), else 0', [
        ['oci_iot_storage_degraded', {}, storage.status().ok ? 0 : 1],
      ]),
    ]);
    testControl.attachBroker(broker);
    const adminToken = adminTokenFor(config.bindHost, config.adminToken);

    const telemetry = createTelemetryPipeline({
      store,
      jq,
      timeLimitMs: durationMs(config.adapterTimeLimit),
      atEndOfBatch: (flush, split) => batch.atEnd(flush, split),
      afterCommit: (effect) => batch.afterCommit(effect),
      // Messages whose adapter ran past the wait are mapped in a write of their own.
      write: (apply) => batch.add(apply, (err) => err && log.warn({ err }, 'mapping telemetry through an adapter failed to commit'), 'next-turn'),
    });
    metrics.watchAdapters(telemetry.stats);
    const twins = twinResources(store, clock, config.region, jq);
    const engine = createCommandEngine({
      db,
      clock,
      // Faults sit between the engine and the broker; the engine never learns of them.
      devices: testControl.devicePort(metrics.countSent(broker.devices)),
      maxPendingPerDevice: config.maxPendingPerDevice,
      maxInFlight: config.mqttMaxInflight,
      batch,
      storage,
      // The store the broker's classification reads: one copy of the live commands.
      commands: store.commands,
    });
    commandsInFlight = engine.commandsInFlight;
    engine.onTransition(metrics.transition);
    testControl.attachEngine(engine);
    closers.push(() => engine.stop());
    // No per-command work for a log level that drops it.
    if (log.isLevelEnabled('debug')) {
      engine.onTransition((t) =>
        log.debug({ commandId: t.command.id, from: t.from, to: t.to, cause: t.cause }, 'command transition'),
      );
    }
    // Deadlines that passed while the emulator was down are settled before anyone connects.
    engine.recover();

    inbound.attach({
      clock,
      classify: store.commands.classifyPublish,
      faults: testControl.deviceFaults,
      engine: engine.signals,
      telemetry,
      webhooks: testControl.webhooks,
      metrics,
    });
    // The seed goes in before devices can connect; its virtual devices start with the listener.
    let seeded: SeedSummary | null = null;
    if (seeds) {
      const { applySeed } = await import('./seed/apply.js');
      seeded = applySeed(
        { store, clock, region: config.region, control, twins, virtualDevices: testControl.virtualDevices, defaultDomainId: domain.id, defaultGroupId: group.id },
        seeds,
      );
    }

    const { mqttPort, httpsPort } = await broker.listen();
    // Virtual devices log in over the listener like any device, on loopback.
    closers.push(() => testControl.virtualDevices.close());
    testControl.attachListener({ port: mqttPort, ca: tls.ca, host: config.bindHost === '0.0.0.0' || config.bindHost === '::' ? '127.0.0.1' : config.bindHost, servername: domain.device_host });
    // Work requests that came due while the emulator was down finish now, in order.
    control.start();
    const api = buildApi(
      { store, db, clock, config, domain, group, engine, control, twins, telemetry, devices: broker, storage },
      {
        logger: false,
        // Request lines are debug detail; at the default info level the API logs only problems.
        loggerInstance: givenLogger ? undefined : log.child({ component: 'api' }, { level: config.logLevel === 'info' ? 'warn' : config.logLevel }),
        ops: { mqttPort, httpsPort, caFile: resolve(tls.caFile), ca: tls.ca, presence: broker, metrics },
        testControl,
        adminToken,
      },
    );
    closers.push(() => api.close());
    await api.listen({ port: config.restPort, host: config.bindHost });
    // The same routes under OCI's host names over TLS, on the device HTTPS port, told apart by Host.
    const routeApi = headAsGet((req, res) => api.routing(req, res));
    broker.serveApi({
      accepts: (req) => isApiHost(hostNameOf(req.headers.host), config.domainHostSuffix),
      handle: routeApi,
    });
    const restPort = (api.server.address() as AddressInfo).port;
    const host = config.bindHost === '0.0.0.0' || config.bindHost === '::' ? 'localhost' : config.bindHost;
    const urlHost = host.includes(':') ? `[${host}]` : host;
    let proxyUrl: string | null = null;
    if (config.proxyPort !== null) {
      const proxyLog = log.child({ component: 'proxy' });
      const proxy = createHttpsProxy({
        tunnels: (name) => isTunneledHost(name, config.domainHostSuffix),
        accept: broker.acceptHttps,
        adminToken,
        log: (msg, fields) => proxyLog.info(fields, msg),
      });
      closers.push(() => proxy.close());
      proxyUrl = `http://${urlHost}:${await proxy.listen(config.proxyPort, config.bindHost)}`;
    }

    return {
      config,
      restUrl: `http://${urlHost}:${restPort}`,
      proxyUrl,
      mqttUrl: deviceUrls(config.deviceHost, mqttPort, httpsPort).mqttUrl,
      wssUrl: deviceUrls(config.deviceHost, mqttPort, httpsPort).wssUrl,
      httpsUrl: deviceUrls(config.deviceHost, mqttPort, httpsPort).httpsUrl,
      restPort,
      mqttPort,
      httpsPort,
      caFile: resolve(tls.caFile),
      ca: tls.ca,
      domain: { id: domain.id, shortId: domain.short_id, deviceHost: domain.device_host, groupId: group.id },
      databaseFile: databasePath(config.dataDir),
      clock,
      db,
      store,
      engine,
      telemetry,
      twins,
      control,
      devices: { ...broker.devices, isOnline: broker.isOnline },
      adminToken,
      routes: api.routeList,
      storage,
      faults: testControl.faults,
      webhooks: testControl.webhooks,
      virtualDevices: testControl.virtualDevices,
      seeded,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
