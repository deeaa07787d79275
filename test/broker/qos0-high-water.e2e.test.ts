/**
 * A device that subscribes at QoS 0 and then never reads its socket: commands to it beyond
 * the connection's high-water mark are dropped (as Mosquitto does), counted in /metrics,
 * and the emulator does not keep them in memory; a device that reads gets every one.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { QOS0_HIGH_WATER_BYTES } from '../../src/broker/delivery.js';
import { rawLogin } from '../support/raw-mqtt.js';
import { startTestEmulator, until, type TestEmulator } from '../support/harness.js';

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(async () => {
  await t.close();
});

const dropped = async () => {
  const text = await (await fetch(`${t.emu.restUrl}/metrics`)).text();
  return Number(/^oci_iot_mqtt_qos0_dropped_total (\d+)$/m.exec(text)![1]);
};

it('QoS 0 commands to a device that never reads are dropped past the high-water mark and counted; the emulator stays up', async () => {
  const device = await t.createDevice();
  const { device: raw, returnCode } = await rawLogin({ port: t.emu.mqttPort, ca: t.emu.ca }, { clientId: 'never-reads', username: device.username, password: Buffer.from(device.password) });
  expect(returnCode).toBe(0);
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'cmd/#', qos: 0 }] });
  await raw.next('suback');
  // From now on the device reads nothing: what the emulator writes piles up in the kernel, then in Node.
  raw.socket.pause();
  raw.socket.removeAllListeners('data');

  expect(await dropped()).toBe(0);
  const blob = 'x'.repeat(48 * 1024);
  const ids: number[] = [];
  // Far more than the kernel's socket buffers and the high-water mark together.
  const total = Math.ceil((16 * QOS0_HIGH_WATER_BYTES) / blob.length);
  for (let i = 0; i < total; i++) {
    ids.push(await t.invoke(device.instanceId, { requestDataFormat: 'JSON', requestEndpoint: 'cmd/big', requestData: { i, blob }, requestDuration: 'PT1M' }));
  }
  await until(() => t.command(ids.at(-1)!).delivery_status === 'SENT');
  const n = await dropped();
  expect(n).toBeGreaterThan(0);
  // What was dropped never completes: the device did not get it. It ends EXPIRED at its deadline.
  const completed = ids.filter((id) => t.command(id).delivery_status === 'COMPLETED').length;
  expect(completed + n).toBeLessThanOrEqual(total);
  // What was not dropped is at most what the kernel took plus the high-water mark (and the one that crossed it).
  expect((total - n) * blob.length).toBeLessThan(16 * QOS0_HIGH_WATER_BYTES);
  t.advance('PT2M');
  expect(ids.filter((id) => t.command(id).delivery_status === 'EXPIRED').length).toBeGreaterThanOrEqual(n);
  // The emulator goes on: a device that reads gets its commands.
  const reader = await t.createDevice();
  const d = await t.connect(reader, { subscribe: [['cmd/#', 0]] });
  const id = await t.invoke(reader.instanceId, { requestDataFormat: 'JSON', requestEndpoint: 'cmd/small', requestData: { ok: true } });
  await d.next('cmd/small');
  await t.waitFor(id, 'COMPLETED');
  raw.socket.destroy();
});
