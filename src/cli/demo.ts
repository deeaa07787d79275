import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCommandRequest, type InvokeRawCommandDetails } from '../commands/request.js';
import { startEmulator, type Emulator } from '../emulator.js';
import type { SeedFile } from '../seed/format.js';
import demoSeed from './demo-seed.json' with { type: 'json' };
import type { EmulatorConfig } from '../config.js';

/** What the demo starts with: models, adapters, devices and the virtual devices that play them (docs/seed.md). */
export const DEMO_SEED = demoSeed as unknown as SeedFile;

/** The command the demo sends each of its devices in turn, by externalKey. */
const DEMO_COMMANDS: Array<{ externalKey: string; command: InvokeRawCommandDetails }> = [
  { externalKey: 'demo-thermostat', command: { requestDataFormat: 'JSON', requestEndpoint: 'cmd/setpoint', requestData: { setpoint: 21.5 }, responseEndpoint: 'rsp/setpoint', requestDuration: 'PT1M', responseDuration: 'PT30S' } },
  { externalKey: 'demo-pump', command: { requestDataFormat: 'JSON', requestEndpoint: 'cmd/start', requestData: { speed: 'high' }, responseEndpoint: 'rsp/start', requestDuration: 'PT1M', responseDuration: 'PT30S' } },
  { externalKey: 'demo-door', command: { requestDataFormat: 'TEXT', requestEndpoint: 'cmd/ping', requestData: 'ping', responseEndpoint: 'rsp/ping', requestDuration: 'PT1M', responseDuration: 'PT30S' } },
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
  // Made again if gone, left as they are if there (a --data-dir of an earlier demo).
  const emu = await startEmulator({ ...options, ...(ownDir ? { dataDir: ownDir } : {}), env, seed: DEMO_SEED });
  const devices: Demo['devices'] = DEMO_COMMANDS.map(({ externalKey }) => {
    const instance = emu.store.instances.activeByExternalKey(emu.domain.id, externalKey)!;
    const vd = emu.virtualDevices.list().find((v) => v.instanceId === instance.id)!;
    return { displayName: instance.display_name, instanceId: instance.id, virtualDeviceId: vd.id };
  });

  let next = 0;
  const invoke = async () => {
    const d = DEMO_COMMANDS[next % DEMO_COMMANDS.length];
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
