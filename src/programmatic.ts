import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isManual, iso } from './clock/clock.js';
import { parseDuration } from './durations.js';
import type { InvokeRawCommandDetails } from './commands/request.js';
import { createDevice as createDeviceRows, type NewDevice } from './resources/devices.js';
import { deviceConnection, type DeviceConnection } from './views/connection.js';
import { startEmulator as startCore, type Emulator, type EmulatorOptions } from './emulator.js';
import { readOnlyConnection, runOn, type SqlResult } from './sql/query.js';
import { TERMINAL, type DeliveryStatus } from './store/delivery-states.js';
import type { RawCommandData } from './store/commands.js';

export type { RawCommandData };

/** Options for MQTT.js's `connect` / `connectAsync` (and close to what other clients take). */
export interface MqttConnectOptions {
  host: string;
  port: number;
  protocol: 'mqtts' | 'wss';
  /** The WebSocket path, for `wss` only. */
  path?: string;
  protocolVersion: 4;
  ca: string;
  username: string;
  password: string;
  clientId: string;
}

/** A device created in one step: its instance, its credentials and how to connect. */
export interface TestDevice extends DeviceConnection {
  instanceId: string;
  externalKey: string;
  displayName: string;
  secretId: string;
  /** PEM of the CA to trust. */
  ca: string;
  /** Ready for `mqtt.connectAsync(device.mqttOptions)`: MQTT over TLS. */
  mqttOptions: MqttConnectOptions;
  /** Ready for `mqtt.connectAsync(device.wssOptions)`: MQTT over secure WebSockets at /mqtt. */
  wssOptions: MqttConnectOptions;
}

export type StartOptions = EmulatorOptions;

/** A running emulator for a test suite. */
export interface StartedEmulator extends Emulator {
  /** The web console, e.g. http://127.0.0.1:41234/console/ */
  consoleUrl: string;
  /** Creates a Vault secret and a digital twin instance, and returns how the device logs in. */
  createDevice(device?: NewDevice): Promise<TestDevice>;
  /**
   * Invokes a raw command through the REST API (the body of invokeRawCommand, e.g. the
   * seed's command.json) and returns its raw_command_data id. An OCI error is thrown as
   * an Error whose message starts with its status and code.
   */
  invoke(instanceId: string, command: InvokeRawCommandDetails): Promise<number>;
  /** The command's raw_command_data row now, or undefined for an unknown id. */
  command(id: number): RawCommandData | undefined;
  /** The command's history from `command_events`, oldest first: every transition, and every fault's effect, with its cause. */
  commandEvents(id: number): Array<{ from_status: DeliveryStatus | null; to_status: DeliveryStatus | null; cause: string }>;
  /**
   * Resolves with the row once the command is in `state` (at once if it already is).
   * Rejects as soon as the command ends in another final state, saying which.
   */
  waitForCommand(id: number, state: DeliveryStatus): Promise<RawCommandData>;
  /** Moves the manual clock forward (`'PT3M'` or milliseconds), firing every deadline passed. */
  advance(by: string | number): string;
  /** Runs one read-only SQL statement against the database. */
  sql(query: string): SqlResult;
}

// One CA per process, kept in memory: a suite that starts an emulator per test does not pay
// for a new key pair each time, and nothing of it outlives the emulator's close() on disk.
const CERT_FILES = ['ca.pem', 'ca-key.pem', 'server.pem', 'server-key.pem'] as const;
let processCerts: Map<string, string> | undefined;

/** A temporary certificates directory with the process's CA in it (made by the first emulator). */
function ownCertsDirectory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'oci-iot-emulator-certs-'));
  for (const [name, pem] of processCerts ?? []) writeFileSync(join(dir, name), pem, { mode: 0o600 });
  return dir;
}

function keepCerts(dir: string): void {
  if (processCerts) return;
  const files = CERT_FILES.filter((name) => existsSync(join(dir, name)));
  processCerts = new Map(files.map((name) => [name, readFileSync(join(dir, name), 'utf8')]));
}

/**
 * Starts an emulator for a test suite: every listener on a free loopback port, a fresh
 * database in a temporary directory (removed by `close()`), the manual clock, no logs.
 * Every option of the CLI can still be given; environment variables are not read.
 */
export async function startEmulator(options: StartOptions = {}): Promise<StartedEmulator> {
  const ownDataDir = options.dataDir === undefined ? mkdtempSync(join(tmpdir(), 'oci-iot-emulator-data-')) : undefined;
  const ownCertsDir = options.certsDir === undefined ? ownCertsDirectory() : undefined;
  const removeOwnDirs = () => {
    for (const dir of [ownDataDir, ownCertsDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  };
  let emu: Emulator;
  try {
    emu = await startCore({
      bindHost: '127.0.0.1',
      restPort: 0,
      mqttPort: 0,
      httpsPort: 0,
      clock: 'manual',
      logLevel: 'silent',
      ...options,
      dataDir: options.dataDir ?? ownDataDir,
      certsDir: options.certsDir ?? ownCertsDir,
    });
  } catch (err) {
    removeOwnDirs();
    throw err;
  }
  if (ownCertsDir) keepCerts(ownCertsDir);

  const command = (id: number) => emu.store.commands.rawCommandData(id);

  const started: StartedEmulator = {
    ...emu,
    consoleUrl: `${emu.restUrl}/console/`,

    async createDevice(device = {}) {
      const created = createDeviceRows(emu.store, emu.clock, emu.config.region, emu.domain.id, device);
      const conn = deviceConnection({
        // The first domain's devices connect to --device-host (localhost), which lands on it.
        host: emu.config.deviceHost,
        port: emu.mqttPort,
        httpsPort: emu.httpsPort,
        caFile: emu.caFile,
        username: created.username,
        password: created.password,
      });
      return {
        ...conn,
        instanceId: created.instance.id,
        externalKey: created.instance.external_key,
        displayName: created.instance.display_name,
        secretId: created.secretId,
        ca: emu.ca,
        mqttOptions: {
          host: conn.host,
          port: conn.port,
          protocol: 'mqtts',
          protocolVersion: 4,
          ca: emu.ca,
          username: conn.username,
          password: conn.password,
          clientId: conn.clientId,
        },
        wssOptions: {
          host: conn.host,
          port: conn.httpsPort,
          protocol: 'wss',
          path: '/mqtt',
          protocolVersion: 4,
          ca: emu.ca,
          username: conn.username,
          password: conn.password,
          clientId: conn.clientId,
        },
      };
    },

    async invoke(instanceId, body) {
      const res = await fetch(`${emu.restUrl}/20250531/digitalTwinInstances/${encodeURIComponent(instanceId)}/actions/invokeRawCommand`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (res.status !== 202) {
        const error = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
        throw new Error(`invokeRawCommand failed: ${res.status} ${error.code ?? ''}: ${error.message ?? ''}`);
      }
      return Number(res.headers.get('location')!.split('/').pop());
    },

    command,
    commandEvents: (id) => emu.store.commands.events(id),

    waitForCommand(id, state) {
      return new Promise((resolve, reject) => {
        const settle = (): boolean => {
          const current = command(id);
          if (!current) {
            reject(new Error(`command ${id} does not exist`));
            return true;
          }
          if (current.delivery_status === state) {
            resolve(current);
            return true;
          }
          if (TERMINAL.includes(current.delivery_status)) {
            reject(new Error(`command ${id} ended ${current.delivery_status}, so it will never be ${state}`));
            return true;
          }
          return false;
        };
        // Listen first, then look: a change between the two cannot be missed.
        const stop = emu.engine.onTransition((t) => {
          if (t.command.id === id && settle()) stop();
        });
        if (settle()) stop();
      });
    },

    advance(by) {
      if (!isManual(emu.clock)) throw new Error('advance() needs the manual clock; start the emulator with clock: "manual" (the default here)');
      let ms: number;
      if (typeof by === 'number') ms = by;
      else {
        const parsed = parseDuration(by);
        if (!parsed.ok) throw new Error(`advance("${by}"): ${parsed.reason}`);
        ms = parsed.ms;
      }
      return iso(emu.clock.advance(ms));
    },

    sql(query) {
      const conn = readOnlyConnection(emu.db, emu.config.dataDir);
      try {
        const { columns, rows } = runOn(conn, query);
        return { columns, rows };
      } finally {
        conn.close();
      }
    },

    async close() {
      await emu.close();
      removeOwnDirs();
    },
  };
  return started;
}
