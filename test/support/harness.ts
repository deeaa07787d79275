import mqtt, { type MqttClient, type IClientOptions } from 'mqtt';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isManual } from '../../src/clock.js';
import { startEmulator, type Emulator, type EmulatorOptions } from '../../src/emulator.js';
import type { DeliveryStatus } from '../../src/commands/states.js';
import type { CommandRow } from '../../src/store/commands.js';

/** One CA for the whole test file: generating certificates is the slowest part of a start. */
const sharedCerts = mkdtempSync(join(tmpdir(), 'oci-iot-certs-'));

export interface RestReply<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

export interface Device {
  instanceId: string;
  externalKey: string;
  password: string;
  secretId: string;
}

export interface Received {
  topic: string;
  payload: Buffer;
  qos: number;
  dup: boolean;
}

export interface TestDevice {
  client: MqttClient;
  received: Received[];
  /** Resolves with the next message on `topic` (or one already received and not yet taken). */
  next(topic?: string): Promise<Received>;
  close(): Promise<void>;
}

export interface TestEmulator {
  emu: Emulator;
  dataDir: string;
  rest<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<RestReply<T>>;
  createDevice(fields?: Record<string, unknown>, password?: string): Promise<Device>;
  connect(device: Device, opts?: IClientOptions & { subscribe?: Array<[string, 0 | 1 | 2]> }): Promise<TestDevice>;
  invoke(instanceId: string, body: Record<string, unknown>, headers?: Record<string, string>): Promise<number>;
  command(id: number): CommandRow;
  waitFor(id: number, status: DeliveryStatus): Promise<CommandRow>;
  advance(ms: number): void;
  close(): Promise<void>;
}

export const SEED_COMMAND = {
  requestDataFormat: 'JSON',
  requestEndpoint: '/endpoints/1234',
  requestDuration: 'PT3M',
  requestData: { temp: 33 },
  responseEndpoint: '/endpoints/4321',
  responseDuration: 'PT3M',
};

export async function startTestEmulator(options: EmulatorOptions & { dataDir?: string } = {}): Promise<TestEmulator> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'oci-iot-data-'));
  const emu = await startEmulator({
    restPort: 0,
    mqttPort: 0,
    certsDir: sharedCerts,
    clock: 'manual',
    logLevel: 'silent',
    ...options,
    dataDir,
  });
  const devices: TestDevice[] = [];
  const mqttPort = emu.mqttPort;

  const rest: TestEmulator['rest'] = async (method, path, body, headers = {}) => {
    const res = await fetch(emu.restUrl + path, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  };

  const t: TestEmulator = {
    emu,
    dataDir,
    rest,
    async createDevice(fields = {}, password = `pw-${Math.random().toString(36).slice(2)}`) {
      const secret = await rest('POST', '/20180608/secrets', {
        secretContent: { contentType: 'BASE64', content: Buffer.from(password).toString('base64') },
      });
      if (secret.status !== 200) throw new Error(`secret: ${JSON.stringify(secret.body)}`);
      const inst = await rest('POST', '/20250531/digitalTwinInstances', {
        iotDomainId: emu.domain.id,
        authId: secret.body.id,
        ...fields,
      });
      if (inst.status !== 200) throw new Error(`instance: ${JSON.stringify(inst.body)}`);
      return { instanceId: inst.body.id, externalKey: inst.body.externalKey, password, secretId: secret.body.id };
    },
    async connect(device, opts = {}) {
      const { subscribe, ...clientOpts } = opts;
      const client = await mqtt.connectAsync(`mqtts://localhost:${mqttPort}`, {
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
      const d: TestDevice = {
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
    async invoke(instanceId, body, headers) {
      const res = await rest('POST', `/20250531/digitalTwinInstances/${instanceId}/actions/invokeRawCommand`, body, headers);
      if (res.status !== 202) throw new Error(`invoke: ${res.status} ${JSON.stringify(res.body)}`);
      return Number(res.headers.get('location')!.split('/').pop());
    },
    command(id) {
      return emu.db.prepare('SELECT * FROM commands WHERE id = ?').get(id) as CommandRow;
    },
    waitFor(id, status) {
      return new Promise((resolve, reject) => {
        let stop = () => {};
        const check = () => {
          const row = t.command(id);
          if (row?.delivery_status === status) return stop(), resolve(row), true;
          if (row && ['REFUSED', 'EXPIRED', 'NOT_RESPONDED', 'COMPLETED'].includes(row.delivery_status)) {
            return stop(), reject(new Error(`command ${id} ended ${row.delivery_status}, not ${status}`)), true;
          }
          return false;
        };
        if (check()) return;
        stop = emu.engine.onTransition((tr) => {
          if (tr.command.id === id) check();
        });
      });
    },
    advance(ms) {
      if (!isManual(emu.clock)) throw new Error('not a manual clock');
      emu.clock.advance(ms);
    },
    async close() {
      await Promise.all(devices.map((d) => d.client.endAsync(true).catch(() => {})));
      await emu.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
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
