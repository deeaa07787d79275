/**
 * The example from docs/testing-api.md, run as part of the project's own suite: a test
 * suite that needs an OCI IoT Platform starts one in-process, creates a device, connects
 * it with MQTT.js, invokes the seed's command, and moves time with the manual clock.
 */
import mqtt from 'mqtt';
import { startEmulator, type StartedEmulator } from 'oci-iot-emulator';
import { afterAll, beforeAll, expect, it } from 'vitest';

const command = {
  requestDataFormat: 'JSON',
  requestEndpoint: '/endpoints/1234',
  requestDuration: 'PT3M',
  requestData: { temp: 33 },
  responseEndpoint: '/endpoints/4321',
  responseDuration: 'PT3M',
};

let emulator: StartedEmulator;
beforeAll(async () => {
  emulator = await startEmulator(); // free ports, temporary database, manual clock
});
afterAll(async () => {
  await emulator.close();
});

it('a device answers a command, which becomes COMPLETED', async () => {
  const device = await emulator.createDevice({ displayName: 'thermostat' });
  const client = await mqtt.connectAsync(device.mqttOptions);
  await client.subscribeAsync('/endpoints/1234', { qos: 1 });
  client.on('message', (topic, payload) => {
    // The device's firmware: answer every command on the response endpoint.
    if (topic === '/endpoints/1234') void client.publishAsync('/endpoints/4321', JSON.stringify({ ok: true, got: JSON.parse(payload.toString()) }));
  });

  const id = await emulator.invoke(device.instanceId, command);
  const row = await emulator.waitForCommand(id, 'COMPLETED');

  expect(row.response_data).toBe('{"ok":true,"got":{"temp":33}}');
  expect(emulator.sql(`select delivery_status from raw_command_data where id = ${id}`).rows).toEqual([{ delivery_status: 'COMPLETED' }]);
  await client.endAsync();
});

it('a device that never answers makes the command NOT_RESPONDED once the clock passes responseDuration', async () => {
  const device = await emulator.createDevice();
  const client = await mqtt.connectAsync(device.mqttOptions);
  await client.subscribeAsync('/endpoints/#', { qos: 1 });

  const id = await emulator.invoke(device.instanceId, command);
  await emulator.waitForCommand(id, 'SENT');
  emulator.advance('PT3M');

  expect(emulator.command(id)?.delivery_status).toBe('NOT_RESPONDED');
  await client.endAsync();
});

it('waitForCommand rejects, saying why, when the command ends in another state', async () => {
  const offline = await emulator.createDevice();
  const id = await emulator.invoke(offline.instanceId, command);
  await expect(emulator.waitForCommand(id, 'COMPLETED')).rejects.toThrow(`command ${id} ended REFUSED, so it will never be COMPLETED`);
});
