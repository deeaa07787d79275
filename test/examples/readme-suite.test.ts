// The README's test-suite example, word for word (test/examples/docs-in-sync.test.ts checks;
// test/cli/packed-tarball.test.ts runs it in a fresh project that installed the packed tarball).
import mqtt from 'mqtt';
import { startEmulator } from 'oci-iot-emulator';
import { expect, it } from 'vitest';

it('a device answers a command, which becomes COMPLETED', async () => {
  const emulator = await startEmulator(); // free ports, temporary database, manual clock
  const device = await emulator.createDevice();
  const client = await mqtt.connectAsync(device.mqttOptions);
  await client.subscribeAsync('cmd/setpoint', { qos: 1 });
  client.on('message', () => void client.publishAsync('rsp/setpoint', '{"applied":21}'));
  const id = await emulator.invoke(device.instanceId, { requestDataFormat: 'JSON', requestEndpoint: 'cmd/setpoint', requestData: { setpoint: 21 }, responseEndpoint: 'rsp/setpoint' });
  expect((await emulator.waitForCommand(id, 'COMPLETED')).response_data).toBe('{"applied":21}');
  await client.endAsync();
  await emulator.close();
});
