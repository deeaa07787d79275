import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCommandRequest, type InvokeRawCommandDetails } from '../commands/request.js';
import { createDevice } from '../resources/devices.js';
import { startEmulator, type Emulator } from '../emulator.js';
import type { VirtualDeviceConfig } from '../virtual-devices/virtual-devices.js';
import type { EmulatorConfig } from '../config.js';

/** The demo's devices: what each answers and publishes. */
const DEMO_DEVICES: Array<{ externalKey: string; displayName: string; config: Omit<VirtualDeviceConfig, 'instanceId'>; command: InvokeRawCommandDetails }> = [
  {
    externalKey: 'demo-thermostat',
    displayName: 'thermostat',
    config: {
      endpoints: ['cmd/#'],
      response: { kind: 'jq', expression: '{applied: .setpoint, status: "ok"}' },
      responseDelay: 'PT1S',
      telemetry: {
        endpoint: 'telemetry/thermostat',
        every: 'PT2S',
        values: { temperature: { kind: 'sine', offset: 21, amplitude: 2, period: 'PT1M' }, humidity: { kind: 'randomWalk', start: 45, step: 1.5, min: 30, max: 60 } },
      },
    },
    command: { requestDataFormat: 'JSON', requestEndpoint: 'cmd/setpoint', requestData: { setpoint: 21.5 }, responseEndpoint: 'rsp/setpoint', requestDuration: 'PT1M', responseDuration: 'PT30S' },
  },
  {
    externalKey: 'demo-pump',
    displayName: 'pump',
    config: {
      endpoints: ['cmd/#'],
      response: { kind: 'json', value: { status: 'running' } },
      responseDelay: 'PT2S',
      telemetry: {
        endpoint: 'telemetry/pump',
        every: 'PT3S',
        values: { pressure: { kind: 'randomWalk', start: 2.5, step: 0.2, min: 1, max: 4 }, rpm: { kind: 'ramp', start: 1200, step: 50, min: 1200, max: 1800 } },
      },
    },
    command: { requestDataFormat: 'JSON', requestEndpoint: 'cmd/start', requestData: { speed: 'high' }, responseEndpoint: 'rsp/start', requestDuration: 'PT1M', responseDuration: 'PT30S' },
  },
  {
    externalKey: 'demo-door',
    displayName: 'door sensor',
    config: {
      endpoints: ['cmd/#'],
      response: { kind: 'echo' },
      telemetry: { endpoint: 'telemetry/door', every: 'PT5S', values: { open: { kind: 'constant', value: false }, battery: { kind: 'ramp', start: 100, step: -1, min: 20, max: 100 } } },
    },
    command: { requestDataFormat: 'TEXT', requestEndpoint: 'cmd/ping', requestData: 'ping', responseEndpoint: 'rsp/ping', requestDuration: 'PT1M', responseDuration: 'PT30S' },
  },
];

/** How often the demo sends one of its devices a command, so the commands table moves too. */
const COMMAND_EVERY_MS = 5_000;

export interface Demo {
  emu: Emulator;
  consoleUrl: string;
  devices: Array<{ displayName: string; instanceId: string; virtualDeviceId: string }>;
  stop(): Promise<void>;
}

/**
 * `oci-iot-emulator demo`: the emulator with a few virtual devices that answer commands and
 * publish telemetry, and a command sent to one of them every few seconds. With no
 * --data-dir it runs on a fresh temporary database, removed on stop.
 */
export async function startDemo(options: Partial<EmulatorConfig>, env: NodeJS.ProcessEnv): Promise<Demo> {
  const ownDir = options.dataDir === undefined && !env.OCI_IOT_DATA_DIR ? mkdtempSync(join(tmpdir(), 'oci-iot-demo-')) : undefined;
  const emu = await startEmulator({ ...options, ...(ownDir ? { dataDir: ownDir } : {}), env });
  const devices: Demo['devices'] = [];
  for (const d of DEMO_DEVICES) {
    const existing = emu.store.instances.activeByExternalKey(emu.domain.id, d.externalKey);
    const instanceId = existing?.id ?? createDevice(emu.store, emu.clock, emu.config.region, emu.domain.id, { externalKey: d.externalKey, displayName: d.displayName }).instance.id;
    const vd = emu.virtualDevices.list().find((v) => v.instanceId === instanceId) ?? emu.virtualDevices.create({ instanceId, ...d.config });
    devices.push({ displayName: d.displayName, instanceId, virtualDeviceId: vd.id });
  }

  let next = 0;
  const invoke = async () => {
    const d = DEMO_DEVICES[next % DEMO_DEVICES.length];
    const target = devices[next % devices.length];
    next++;
    const request = parseCommandRequest(d.command, { requestDuration: 'PT1M', responseDuration: 'PT30S' });
    await emu.engine.invoke({ instanceId: target.instanceId, domainId: emu.domain.id, request, createdBy: 'demo' }).catch(() => {});
  };
  // The first soon after the devices connect, so there is something to see at once.
  let timer: NodeJS.Timeout = setTimeout(function tick() {
    void invoke();
    timer = setTimeout(tick, COMMAND_EVERY_MS);
    timer.unref();
  }, 1_500);
  timer.unref();

  const token = emu.adminToken ? `?token=${emu.adminToken}` : '';
  return {
    emu,
    consoleUrl: `${emu.restUrl}/console/${token}`,
    devices,
    async stop() {
      clearTimeout(timer);
      await emu.close();
      if (ownDir) rmSync(ownDir, { recursive: true, force: true });
    },
  };
}
