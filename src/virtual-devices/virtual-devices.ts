import type { MqttClient } from 'mqtt';
import { iso, type Clock } from '../clock/clock.js';
import { sourceRequire } from '../lazy-require.js';
import type { ClockQueue } from '../clock/clock-queue.js';
import { parseDuration } from '../durations.js';
import { conflict, invalid, notFound } from '../errors.js';
import { base32 } from '../ids.js';
import type { Store } from '../store/index.js';
import { secretPlaintext } from '../store/secrets.js';
import type { VirtualDeviceRow } from '../store/virtual-devices.js';
import type { StorageHealth } from '../store/storage-health.js';
import type { JqEngine } from '../telemetry/jq.js';
import { compileGenerator, defaultGenerators, type Generator } from './generators.js';
import { modelTelemetry } from './model-telemetry.js';
import { checkTemplate, render, type ResponseTemplate } from './template.js';

/**
 * MQTT.js, loaded when the first virtual device connects: most runs start none, and the
 * client with its dependencies is a tenth of the package to load.
 */
let mqtt: typeof import('mqtt') | undefined;
const mqttClient = () => (mqtt ??= (sourceRequire ? sourceRequire('mqtt') : require('mqtt')) as typeof import('mqtt'));

export interface VirtualDeviceConfig {
  instanceId: string;
  /** Topic filters it subscribes to for commands (`#` when omitted). */
  endpoints?: string[];
  /** QoS of its subscriptions and publishes (1 when omitted). */
  qos?: 0 | 1;
  /** How it answers a command; `{kind: 'echo'}` when omitted, null never to answer. */
  response?: ResponseTemplate | null;
  /** How long it takes to answer, on the emulator clock (at once when omitted). */
  responseDelay?: string;
  /** Where it answers; the command's own responseEndpoint when omitted. */
  responseEndpoint?: string;
  /** What it publishes on a schedule; nothing when omitted (unless its instance has a model). */
  telemetry?: {
    endpoint: string;
    /** How often, on the emulator clock (ISO 8601, e.g. PT5S). */
    every: string;
    /** One generator per value name; by default one per telemetry property of the instance's model. */
    values?: Record<string, Generator>;
  };
}

export interface TrafficEvent {
  virtualDeviceId: string;
  instanceId: string;
  time: string;
  kind: 'connected' | 'disconnected' | 'command' | 'response' | 'telemetry' | 'error';
  topic?: string;
  payload?: string;
  message?: string;
}

export interface VirtualDeviceView {
  id: string;
  instanceId: string;
  displayName: string | null;
  running: boolean;
  connected: boolean;
  config: VirtualDeviceConfig;
  commandsReceived: number;
  responsesSent: number;
  telemetrySent: number;
  timeCreated: string;
  timeUpdated: string;
}

interface Runtime {
  connected: boolean;
  /** Connected and its subscriptions granted: commands reach it from now on. */
  ready: boolean;
  waiters: Array<() => void>;
  counts: { commandsReceived: number; responsesSent: number; telemetrySent: number };
  stop(): Promise<void>;
}

const TRAFFIC_KEPT = 100;
/** A clock jump past more ticks than this skips ahead instead of publishing every one missed. */
const MAX_CATCH_UP_TICKS = 100;

/** `{"a.b": 1}` as `{"a": {"b": 1}}`: a model component's telemetry is nested, as the default adapter reads it. */
function nest(entries: ReadonlyArray<readonly [string, unknown]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [path, value] of entries) {
    const keys = path.split('.');
    let at = out;
    for (const key of keys.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>;
    at[keys[keys.length - 1]] = value;
  }
  return out;
}

function checkTopicFilter(filter: unknown, what: string): string {
  if (typeof filter !== 'string' || !filter || filter.length > 1024) throw invalid(`${what} must be a topic of 1 to 1024 characters`);
  if (filter.startsWith('$')) throw invalid(`${what} "${filter}" may not start with $`);
  return filter;
}
function checkTopic(topic: unknown, what: string): string {
  const t = checkTopicFilter(topic, what);
  if (/[+#]/.test(t)) throw invalid(`${what} "${t}" may not contain + or #`);
  return t;
}
function durationMs(text: unknown, what: string): number {
  if (typeof text !== 'string') throw invalid(`${what} must be an ISO 8601 duration such as PT5S`);
  const parsed = parseDuration(text);
  if (!parsed.ok) throw invalid(`${what} "${text}" ${parsed.reason}`);
  return parsed.ms;
}

/**
 * Devices hosted by the emulator. Each connects to the emulator's own MQTTS listener with
 * its instance's credentials, like any device (presence, limits and the state table apply
 * unchanged), subscribes to its endpoints, answers commands after a delay from a template,
 * and publishes telemetry on the emulator clock. They are configuration: stored, and
 * started again when the emulator starts.
 */
export function createVirtualDevices(deps: {
  store: Store;
  clock: Clock;
  queue: ClockQueue;
  /** The emulator's one jq engine, for jq templates. */
  jq: JqEngine;
  /** A row the storage refuses (full disk) is written later, not thrown at the MQTT client's event. */
  storage?: Pick<StorageHealth, 'retry'>;
}) {
  const { clock, queue } = deps;
  const store = deps.store.virtualDevices;
  const instances = deps.store.instances;
  const running = new Map<string, Runtime>();
  const traffic = new Map<string, TrafficEvent[]>();
  const listeners = new Set<(e: TrafficEvent) => void>();
  let broker: { port: number; ca: string; host: string; servername: string } | null = null;

  function emit(e: Omit<TrafficEvent, 'time'>): void {
    const event = { ...e, time: iso(clock.now()) };
    const list = traffic.get(e.virtualDeviceId) ?? [];
    list.push(event);
    if (list.length > TRAFFIC_KEPT) list.shift();
    traffic.set(e.virtualDeviceId, list);
    for (const listener of listeners) listener(event);
  }

  /** Checks a configuration (400 naming the fault) and fills in its defaults. */
  function check(input: VirtualDeviceConfig): { config: VirtualDeviceConfig; password: string; externalKey: string } {
    if (typeof input !== 'object' || input === null) throw invalid('a virtual device is an object with an instanceId');
    const instance = typeof input.instanceId === 'string' ? instances.get(input.instanceId) : undefined;
    if (!instance || instance.lifecycle_state !== 'ACTIVE') throw invalid(`digital twin instance ${String(input.instanceId)} does not exist`);
    const secret = instance.auth_id ? deps.store.secrets.get(instance.auth_id) : undefined;
    if (!secret) throw invalid(`instance ${instance.id} has no Vault secret as its authId; a virtual device logs in with that password`);
    const endpoints = (input.endpoints ?? ['#']).map((e, i) => checkTopicFilter(e, `endpoints[${i}]`));
    if (endpoints.length === 0 || endpoints.length > 20) throw invalid('endpoints must list 1 to 20 topic filters');
    const qos = input.qos ?? 1;
    if (qos !== 0 && qos !== 1) throw invalid('qos must be 0 or 1');
    const response = input.response === null ? null : checkTemplate(input.response ?? { kind: 'echo' }, deps.jq);
    if (input.responseDelay !== undefined) durationMs(input.responseDelay, 'responseDelay');
    if (input.responseEndpoint !== undefined) checkTopic(input.responseEndpoint, 'responseEndpoint');
    let telemetry = input.telemetry;
    if (telemetry !== undefined) {
      if (typeof telemetry !== 'object' || telemetry === null) throw invalid('telemetry must be an object with endpoint and every');
      checkTopic(telemetry.endpoint, 'telemetry.endpoint');
      const every = durationMs(telemetry.every, 'telemetry.every');
      if (every < 100) throw invalid('telemetry.every must be at least PT0.1S');
      const values = telemetry.values ?? defaultGenerators(modelTelemetry(deps.store, instance.id));
      if (Object.keys(values).length === 0) throw invalid('telemetry.values must name at least one value (the instance has no model to take them from)');
      for (const [name, g] of Object.entries(values)) compileGenerator(name, g);
      telemetry = { ...telemetry, values };
    } else {
      // With a DTDL model, a value for each of its telemetry properties by default.
      const values = defaultGenerators(modelTelemetry(deps.store, instance.id));
      if (Object.keys(values).length) telemetry = { endpoint: 'telemetry', every: 'PT10S', values };
    }
    const known = ['instanceId', 'endpoints', 'qos', 'response', 'responseDelay', 'responseEndpoint', 'telemetry'];
    for (const key of Object.keys(input)) if (!known.includes(key)) throw invalid(`${key} is not a virtual device setting (${known.join(', ')})`);
    const config: VirtualDeviceConfig = { instanceId: instance.id, endpoints, qos, response, ...(input.responseDelay ? { responseDelay: input.responseDelay } : {}), ...(input.responseEndpoint ? { responseEndpoint: input.responseEndpoint } : {}), ...(telemetry ? { telemetry } : {}) };
    return { config, password: secretPlaintext(secret).toString('utf8'), externalKey: instance.external_key };
  }

  function launch(row: VirtualDeviceRow): void {
    if (!broker || running.has(row.id)) return;
    let checked: ReturnType<typeof check>;
    try {
      checked = check(JSON.parse(row.config) as VirtualDeviceConfig);
    } catch (err) {
      // The instance or its secret went away since: the device stays stopped, and says why.
      emit({ virtualDeviceId: row.id, instanceId: row.digital_twin_instance_id, kind: 'error', message: (err as Error).message });
      return;
    }
    const { config, password, externalKey } = checked;
    const id = row.id;
    const instanceId = config.instanceId;
    const cancels = new Set<() => void>();
    const later = (at: number, action: () => void) => {
      const cancel = queue.at(at, () => {
        cancels.delete(cancel);
        action();
      });
      cancels.add(cancel);
    };
    const client: MqttClient = mqttClient().connect({
      protocol: 'mqtts',
      host: broker.host,
      port: broker.port,
      // The TLS SNI host name says which domain a device logs into: its instance's.
      servername: deps.store.controlPlane.domain(instances.get(instanceId)?.iot_domain_id ?? '')?.device_host ?? broker.servername,
      ca: broker.ca,
      username: externalKey,
      password,
      clientId: `virtual-${id}`,
      protocolVersion: 4,
      clean: true,
      keepalive: 60,
      // A restart of the emulator or a fault's disconnect: it comes back, like a device would.
      reconnectPeriod: 1_000,
    });
    const runtime: Runtime = {
      connected: false,
      ready: false,
      waiters: [],
      counts: { commandsReceived: 0, responsesSent: 0, telemetrySent: 0 },
      async stop() {
        for (const cancel of cancels) cancel();
        cancels.clear();
        await client.endAsync(true).catch(() => {});
      },
    };
    running.set(id, runtime);

    client.on('connect', () => {
      runtime.connected = true;
      emit({ virtualDeviceId: id, instanceId, kind: 'connected' });
      client.subscribe(config.endpoints!, { qos: config.qos ?? 1 }, (err) => {
        if (err) return emit({ virtualDeviceId: id, instanceId, kind: 'error', message: `subscribe failed: ${err.message}` });
        runtime.ready = true;
        for (const resolve of runtime.waiters.splice(0)) resolve();
      });
    });
    client.on('close', () => {
      if (runtime.connected) emit({ virtualDeviceId: id, instanceId, kind: 'disconnected' });
      runtime.connected = false;
      runtime.ready = false;
    });
    client.on('error', (err) => {
      emit({ virtualDeviceId: id, instanceId, kind: 'error', message: err.message });
      // Refused as a bad login: the instance was deleted, or its credentials changed.
      const code = (err as { code?: number }).code;
      if (code !== 4 && code !== 5) return;
      const instance = instances.get(instanceId);
      if (!instance || instance.lifecycle_state !== 'ACTIVE') {
        const at = iso(clock.now());
        const stopped = () => store.setRunning(id, false, at);
        try {
          stopped();
        } catch (err) {
          if (!deps.storage) throw err;
          deps.storage.retry('a virtual device stopped', stopped, `virtual-device-running:${id}`);
        }
        void retire().then(() => emit({ virtualDeviceId: id, instanceId, kind: 'error', message: 'its instance was deleted: stopped' }));
        return;
      }
      const secret = instance.auth_id ? deps.store.secrets.get(instance.auth_id) : undefined;
      const current = secret ? secretPlaintext(secret).toString('utf8') : null;
      if (current !== null && (current !== password || instance.external_key !== externalKey)) {
        void retire().then(() => launch(store.get(id)!));
      }
    });
    const retire = async () => {
      await runtime.stop();
      if (running.get(id) === runtime) running.delete(id);
    };

    client.on('message', (topic, payload) => {
      runtime.counts.commandsReceived++;
      emit({ virtualDeviceId: id, instanceId, kind: 'command', topic, payload: payload.toString('utf8').slice(0, 2000) });
      if (!config.response) return;
      const awaiting = store.awaitingCommand(instanceId, topic);
      const target = config.responseEndpoint ?? awaiting?.response_endpoint;
      if (!target) return; // a one-way command: nothing to answer
      const delay = config.responseDelay ? durationMs(config.responseDelay, 'responseDelay') : 0;
      // The delay counts from when the command was sent, not from when its bytes arrived, so
      // a test that moves the manual clock right after invoking does not race the network.
      const sentAt = awaiting?.time_sent ? Date.parse(awaiting.time_sent) : clock.now();
      const answerWith = (answer: Buffer) =>
        later(sentAt + delay, () => {
          client.publish(target, answer, { qos: config.qos ?? 1 });
          runtime.counts.responsesSent++;
          emit({ virtualDeviceId: id, instanceId, kind: 'response', topic: target, payload: answer.toString('utf8').slice(0, 2000) });
        });
      const answer = render(config.response, payload, deps.jq);
      if (Buffer.isBuffer(answer)) answerWith(answer);
      else void answer.then(answerWith);
    });

    const telemetry = config.telemetry;
    if (telemetry) {
      const every = durationMs(telemetry.every, 'telemetry.every');
      const sources = Object.entries(telemetry.values!).map(([name, g]) => [name, compileGenerator(name, g)] as const);
      const start = clock.now();
      const publishTick = (tickNumber: number) => {
        let n = tickNumber;
        // After a long jump of the clock, skip to the latest ticks rather than flood the broker.
        const behind = Math.floor((clock.now() - start) / every) - n;
        if (behind > MAX_CATCH_UP_TICKS) n += behind - MAX_CATCH_UP_TICKS;
        const body = JSON.stringify(nest(sources.map(([name, source]) => [name, source(n, n * every)] as const)));
        if (client.connected) {
          client.publish(telemetry.endpoint, body, { qos: config.qos ?? 1 });
          runtime.counts.telemetrySent++;
          emit({ virtualDeviceId: id, instanceId, kind: 'telemetry', topic: telemetry.endpoint, payload: body });
        }
        later(start + (n + 1) * every, () => publishTick(n + 1));
      };
      later(start + every, () => publishTick(1));
    }
  }

  function view(row: VirtualDeviceRow): VirtualDeviceView {
    const runtime = running.get(row.id);
    const instance = instances.get(row.digital_twin_instance_id);
    return {
      id: row.id,
      instanceId: row.digital_twin_instance_id,
      displayName: instance?.display_name ?? null,
      running: row.running === 1,
      connected: runtime?.connected ?? false,
      config: JSON.parse(row.config) as VirtualDeviceConfig,
      commandsReceived: runtime?.counts.commandsReceived ?? 0,
      responsesSent: runtime?.counts.responsesSent ?? 0,
      telemetrySent: runtime?.counts.telemetrySent ?? 0,
      timeCreated: row.time_created,
      timeUpdated: row.time_updated,
    };
  }

  const existing = (id: string) => {
    const row = store.get(id);
    if (!row) throw notFound('Virtual device', id);
    return row;
  };

  return {
    /** Starts the stored, running virtual devices once the MQTT listener accepts connections. */
    attach(target: { port: number; ca: string; host: string; servername: string }): void {
      broker = target;
      for (const row of store.all()) if (row.running) launch(row);
    },
    /** Adds a virtual device to an instance (one per instance) and starts it. */
    create(input: VirtualDeviceConfig): VirtualDeviceView {
      const { config } = check(input);
      if (store.forInstance(config.instanceId)) throw conflict(`instance ${config.instanceId} already has a virtual device; remove it first`);
      const time = iso(clock.now());
      const row: VirtualDeviceRow = { id: `vd-${base32(12)}`, digital_twin_instance_id: config.instanceId, config: JSON.stringify(config), running: 1, time_created: time, time_updated: time };
      store.insert(row);
      launch(row);
      return view(row);
    },
    list: (): VirtualDeviceView[] => store.all().map(view),
    get: (id: string): VirtualDeviceView => view(existing(id)),
    start(id: string): VirtualDeviceView {
      existing(id);
      store.setRunning(id, true, iso(clock.now()));
      launch(store.get(id)!);
      return view(store.get(id)!);
    },
    async stop(id: string): Promise<VirtualDeviceView> {
      existing(id);
      store.setRunning(id, false, iso(clock.now()));
      await running.get(id)?.stop();
      running.delete(id);
      return view(store.get(id)!);
    },
    async remove(id: string): Promise<void> {
      existing(id);
      await running.get(id)?.stop();
      running.delete(id);
      store.remove(id);
      traffic.delete(id);
    },
    /** Resolves once the virtual device is connected and subscribed: commands sent from then on reach it. */
    ready(id: string): Promise<void> {
      existing(id);
      const runtime = running.get(id);
      if (!runtime) return Promise.reject(new Error(`virtual device ${id} is not running`));
      if (runtime.ready) return Promise.resolve();
      return new Promise((resolve) => runtime.waiters.push(resolve));
    },
    traffic: (id: string): TrafficEvent[] => (existing(id), [...(traffic.get(id) ?? [])]),
    /** Hears every virtual device's traffic (the console's live view); returns a function that stops it. */
    onTraffic(listener: (e: TrafficEvent) => void): () => void {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async close(): Promise<void> {
      await Promise.all([...running.values()].map((r) => r.stop()));
      running.clear();
    },
  };
}

export type VirtualDevices = ReturnType<typeof createVirtualDevices>;
