/**
 * The one harness of the suite: a thin layer over the public programmatic API
 * (src/programmatic.ts, `startEmulator`), which already gives free ports, a temporary
 * database, one CA per process, the manual clock, devices in one step, invoke, waits on
 * the engine's events and the clock. What is added here is what only this project's own
 * tests need: a raw REST call, an MQTT.js device that collects what it receives, and the
 * wide `commands` row (delivery facts beside OCI's columns).
 */
import { request } from 'node:https';
import mqtt, { type MqttClient, type IClientOptions } from 'mqtt';
import type { DeliveryStatus } from '../../src/store/delivery-states.js';
import type { InvokeRawCommandDetails } from '../../src/commands/request.js';
import { startEmulator, type StartedEmulator, type StartOptions, type TestDevice as CreatedDevice } from '../../src/programmatic.js';
import type { NewDevice } from '../../src/resources/devices.js';
import type { CommandRow } from '../../src/store/commands.js';

export interface RestReply<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** What a device logs in with; `createDevice` returns more (see the programmatic API's TestDevice). */
export type Device = Pick<CreatedDevice, 'instanceId' | 'externalKey' | 'password' | 'secretId'>;

export interface Received {
  topic: string;
  payload: Buffer;
  qos: number;
  dup: boolean;
}

/** A device connected with MQTT.js, keeping what it receives until a test takes it. */
export interface ConnectedDevice {
  client: MqttClient;
  received: Received[];
  /** Resolves with the next message on `topic` (or one already received and not yet taken). */
  next(topic?: string): Promise<Received>;
  close(): Promise<void>;
}

export interface TestEmulator {
  /** The emulator as the programmatic API returns it. */
  emu: StartedEmulator;
  dataDir: string;
  rest<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<RestReply<T>>;
  createDevice(device?: NewDevice): Promise<CreatedDevice>;
  connect(device: Pick<Device, 'externalKey' | 'password'> & Partial<Device>, opts?: IClientOptions & { subscribe?: Array<[string, 0 | 1 | 2]> }): Promise<ConnectedDevice>;
  invoke(instanceId: string, body: InvokeRawCommandDetails): Promise<number>;
  /** The command's wide row: raw_command_data's columns and what the emulator tracks besides. */
  command(id: number): CommandRow;
  /** The command's `command_events` rows, oldest first: its transitions, and what faults did to it (their cause names the fault). */
  events(id: number): CommandEvent[];
  waitFor(id: number, status: DeliveryStatus): Promise<CommandRow>;
  advance(by: string | number): void;
  close(): Promise<void>;
}

export interface CommandEvent {
  from_status: string | null;
  to_status: string | null;
  cause: string;
  detail: string | null;
}

export const SEED_COMMAND = {
  requestDataFormat: 'JSON',
  requestEndpoint: '/endpoints/1234',
  requestDuration: 'PT3M',
  requestData: { temp: 33 },
  responseEndpoint: '/endpoints/4321',
  responseDuration: 'PT3M',
};

export async function startTestEmulator(options: StartOptions = {}): Promise<TestEmulator> {
  const emu = await startEmulator(options);
  const devices: ConnectedDevice[] = [];

  const rest: TestEmulator['rest'] = async (method, path, body, headers = {}) => {
    const res = await fetch(emu.restUrl + path, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };

  const command = (id: number) => emu.engine.get(id)!;
  let eventsOf: ReturnType<StartedEmulator['db']['prepare']> | undefined;
  const events = (id: number) =>
    (eventsOf ??= emu.db.prepare('SELECT from_status, to_status, cause, detail FROM command_events WHERE command_id = ? ORDER BY id')).all(id) as CommandEvent[];

  const t: TestEmulator = {
    emu,
    dataDir: emu.config.dataDir,
    rest,
    createDevice: (device) => emu.createDevice(device),
    async connect(device, opts = {}) {
      const { subscribe, ...clientOpts } = opts;
      // No client id unless the test gives one: two connections of a device must not take each other over.
      const client = await mqtt.connectAsync(`mqtts://localhost:${emu.mqttPort}`, {
        ca: emu.ca,
        username: device.externalKey,
        password: device.password,
        protocolVersion: 4,
        reconnectPeriod: 0,
        connectTimeout: 5000,
        ...clientOpts,
      });
      const received: Received[] = [];
      const waiters: Array<{ topic?: string; resolve: (m: Received) => void }> = [];
      client.on('message', (topic, payload, packet) => {
        const msg = { topic, payload, qos: packet.qos, dup: packet.dup };
        const i = waiters.findIndex((w) => w.topic === undefined || w.topic === topic);
        if (i >= 0) waiters.splice(i, 1)[0].resolve(msg);
        else received.push(msg);
      });
      for (const [topic, qos] of subscribe ?? []) await client.subscribeAsync(topic, { qos });
      const d: ConnectedDevice = {
        client,
        received,
        next(topic) {
          const i = received.findIndex((m) => topic === undefined || m.topic === topic);
          if (i >= 0) return Promise.resolve(received.splice(i, 1)[0]);
          return new Promise((resolve) => waiters.push({ topic, resolve }));
        },
        close: () => client.endAsync(),
      };
      devices.push(d);
      return d;
    },
    invoke: (instanceId, body) => emu.invoke(instanceId, body),
    command,
    events,
    waitFor: (id, status) => emu.waitForCommand(id, status).then(() => command(id)),
    advance(by) {
      emu.advance(by);
    },
    async close() {
      await Promise.all(devices.map((d) => d.client.endAsync(true).catch(() => {})));
      await emu.close();
    },
  };
  return t;
}

/**
 * Waits until the broker has done something with no event of its own to wait on (such as
 * storing a will): re-checks on each turn of the event loop, never on a timer.
 */
export function until(predicate: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (predicate() ? resolve() : setImmediate(check));
    check();
  });
}


/** POSTs `body` to the device HTTPS endpoint as `device` (Basic auth), as Oracle's publish-https sample does; resolves with the status. */
export function devicePost(emu: StartedEmulator, device: { username: string; password: string }, path: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: 'localhost', port: emu.httpsPort, path, method: 'POST', ca: emu.ca, auth: `${device.username}:${device.password}`, headers: { 'content-length': body.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
