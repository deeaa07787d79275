/** What survives a restart on the same data directory. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { SEED_COMMAND, startTestEmulator, type TestEmulator } from '../support/harness.js';

const MIN = 60_000;
let dataDir: string;
let running: TestEmulator[] = [];

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'oci-iot-restart-'));
});
afterEach(async () => {
  for (const t of running) await t.close();
  running = [];
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(at?: number): Promise<TestEmulator> {
  const t = await startTestEmulator({ dataDir, manualClockStart: at });
  running.push(t);
  return t;
}
async function stop(t: TestEmulator): Promise<void> {
  running = running.filter((r) => r !== t);
  await t.close();
}

it('keeps the domain, domain group, instances and secrets, with the same ids', async () => {
  const first = await start();
  const device = await first.createDevice({ displayName: 'kept' });
  const domain = first.emu.domain;
  await stop(first);
  const second = await start();
  expect(second.emu.domain).toEqual(domain);
  const inst = await second.rest('GET', `/20250531/digitalTwinInstances/${device.instanceId}`);
  expect(inst.body.displayName).toBe('kept');
  // The same credentials still log in.
  await second.connect(device);
});

it('finishes, at start, commands whose deadline passed while it was down, with time_finished at the deadline', async () => {
  const t0 = Date.parse('2030-01-01T00:00:00Z');
  const first = await start(t0);
  const device = await first.createDevice();
  const dev = await first.connect(device, { clientId: 'p', clean: false, subscribe: [['/endpoints/1234', 1]] });
  const sent = await first.invoke(device.instanceId, { ...SEED_COMMAND, responseDuration: 'PT2M' });
  await dev.next();
  await dev.close();
  const pending = await first.invoke(device.instanceId, { ...SEED_COMMAND, requestDuration: 'PT1M' });
  expect([first.command(sent).delivery_status, first.command(pending).delivery_status]).toEqual(['SENT', 'PENDING']);
  await stop(first);

  const second = await start(t0 + 10 * MIN);
  expect(second.command(pending)).toMatchObject({ delivery_status: 'EXPIRED', time_finished: '2030-01-01T00:01:00.000Z' });
  expect(second.command(sent)).toMatchObject({ delivery_status: 'NOT_RESPONDED', time_finished: '2030-01-01T00:02:00.000Z' });
  const order = second.emu.db
    .prepare("SELECT command_id FROM command_events WHERE to_status IN ('EXPIRED','NOT_RESPONDED') ORDER BY id")
    .all();
  expect(order).toEqual([{ command_id: pending }, { command_id: sent }]);
});

it('delivers a PENDING command when the persistent session comes back after a restart', async () => {
  const first = await start();
  const device = await first.createDevice();
  const dev = await first.connect(device, { clientId: 'sensor-7', clean: false, subscribe: [['/endpoints/+', 1]] });
  await dev.close();
  await stop(first);

  const second = await start();
  // The session's subscription survived: the command waits instead of being refused.
  const id = await second.invoke(device.instanceId, SEED_COMMAND);
  expect(second.command(id).delivery_status).toBe('PENDING');
  const back = await second.connect(device, { clientId: 'sensor-7', clean: false });
  expect(back.client.options.clean).toBe(false);
  expect((await back.next('/endpoints/1234')).payload.toString()).toBe('{"temp":33}');
  await back.client.publishAsync('/endpoints/4321', 'done', { qos: 1 });
  expect((await second.waitFor(id, 'COMPLETED')).response_data).toBe('done');
});

it('an MQTT 5 session with a Session Expiry Interval outlives a restart: its PENDING command arrives on return', async () => {
  const first = await start();
  const device = await first.createDevice();
  const v5 = { clientId: 'v5-sensor', protocolVersion: 5 as const, properties: { sessionExpiryInterval: 86_400 } };
  const dev = await first.connect(device, { ...v5, clean: true, subscribe: [['/endpoints/+', 1]] });
  await dev.close();
  await stop(first);

  const second = await start();
  const id = await second.invoke(device.instanceId, SEED_COMMAND);
  expect(second.command(id).delivery_status).toBe('PENDING');
  const back = await second.connect(device, { ...v5, clean: false });
  expect((await back.next('/endpoints/1234')).payload.toString()).toBe('{"temp":33}');
  await back.client.publishAsync('/endpoints/4321', 'done', { qos: 1 });
  expect((await second.waitFor(id, 'COMPLETED')).response_data).toBe('done');
});

it('redelivers, after a restart, a QoS 1 command the device never acknowledged, flagged DUP', async () => {
  const first = await start();
  const device = await first.createDevice();
  const dev = await first.connect(device, { clientId: 'slow', clean: false, subscribe: [['/endpoints/1234', 1]] });
  const received = new Promise<void>((resolve) => dev.client.once('packetreceive', (p) => p.cmd === 'publish' && resolve()));
  // The device takes the command but its PUBACK never leaves: MQTT.js's send is intercepted.
  const write = (dev.client as unknown as { _sendPacket: (...a: unknown[]) => void })._sendPacket.bind(dev.client);
  (dev.client as unknown as { _sendPacket: (p: { cmd: string }, ...r: unknown[]) => void })._sendPacket = (p, ...rest) => {
    if (p.cmd !== 'puback') write(p, ...rest);
  };
  const id = await first.invoke(device.instanceId, SEED_COMMAND);
  await received;
  (dev.client.stream as unknown as { destroy(): void }).destroy();
  await stop(first);

  const second = await start();
  expect(second.command(id)).toMatchObject({ delivery_status: 'SENT', time_acknowledged: null });
  const back = await second.connect(device, { clientId: 'slow', clean: false });
  const again = await back.next('/endpoints/1234');
  expect(again.dup).toBe(true);
  expect(again.payload.toString()).toBe('{"temp":33}');
  await back.client.publishAsync('/endpoints/4321', 'ok', { qos: 1 });
  const done = await second.waitFor(id, 'COMPLETED');
  expect(done.delivery_count).toBe(2);
});

it('a work request running when the emulator stopped finishes on the next start, in order', async () => {
  const first = await start();
  const created = await first.rest('POST', '/20250531/iotDomainGroups', { compartmentId: 'ocid1.compartment.oc1..restart' });
  const workRequestId = created.headers.get('opc-work-request-id')!;
  expect((await first.rest('GET', `/20250531/workRequests/${workRequestId}`)).body.status).toBe('ACCEPTED');
  const stoppedAt = first.emu.clock.now();
  await stop(first);

  const second = await start(stoppedAt + MIN);
  const wr = (await second.rest('GET', `/20250531/workRequests/${workRequestId}`)).body;
  expect(wr).toMatchObject({ status: 'SUCCEEDED', percentComplete: 100 });
  // Each step carries the time it was due, not the time of the restart.
  expect(Date.parse(wr.timeFinished) - Date.parse(wr.timeAccepted)).toBe(500);
  expect((await second.rest('GET', `/20250531/iotDomainGroups/${created.body.id}`)).body.lifecycleState).toBe('ACTIVE');
});
