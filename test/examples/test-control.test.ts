// The example of docs/test-control.md, word for word (test/examples/docs-in-sync.test.ts checks).
import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import mqtt from 'mqtt';
import { startEmulator, type StartedEmulator } from 'oci-iot-emulator';
import { afterAll, beforeAll, expect, it } from 'vitest';

const command = {
  requestDataFormat: 'JSON',
  requestEndpoint: 'cmd/setpoint',
  requestDuration: 'PT1M',
  requestData: { setpoint: 21 },
  responseEndpoint: 'rsp/setpoint',
  responseDuration: 'PT1M',
} as const;

let emulator: StartedEmulator;
beforeAll(async () => {
  emulator = await startEmulator(); // manual clock
});
afterAll(async () => {
  await emulator.close();
});

it('a device fault: the command is lost on its way, ends NOT_RESPONDED, and its history says why', async () => {
  const device = await emulator.createDevice();
  const client = await mqtt.connectAsync(device.mqttOptions);
  await client.subscribeAsync('cmd/#', { qos: 1 });
  const fault = emulator.faults.set({ instanceId: device.instanceId, kind: 'drop', count: 1 });

  const id = await emulator.invoke(device.instanceId, command);
  emulator.advance('PT1M');

  expect(emulator.command(id)?.delivery_status).toBe('NOT_RESPONDED');
  expect(emulator.commandEvents(id).map((e) => e.cause)).toContain(`fault ${fault.id} (drop): command dropped on the way to the device (never written)`);
  await client.endAsync();
});

it('an API fault: the next InvokeRawCommand answers 429 TooManyRequests, the one after goes through', async () => {
  emulator.faults.set({ operation: 'InvokeRawCommand', kind: 'throttle', count: 1, retryAfter: 2 });
  const device = await emulator.createDevice();
  await expect(emulator.invoke(device.instanceId, command)).rejects.toThrow('invokeRawCommand failed: 429 TooManyRequests');
  expect(await emulator.invoke(device.instanceId, command)).toBeGreaterThan(0);
});

it('a virtual device answers with jq, 2 s (emulator clock) after the command was sent', async () => {
  const device = await emulator.createDevice({ displayName: 'thermostat' });
  const virtual = emulator.virtualDevices.create({
    instanceId: device.instanceId,
    endpoints: ['cmd/#'],
    response: { kind: 'jq', expression: '{applied: .setpoint}' },
    responseDelay: 'PT2S',
  });
  await emulator.virtualDevices.ready(virtual.id);

  const id = await emulator.invoke(device.instanceId, command);
  emulator.advance('PT2S');

  expect((await emulator.waitForCommand(id, 'COMPLETED')).response_data).toBe('{"applied":21}');
});

it('a webhook gets each transition, signed with its secret', async () => {
  const secret = 'my-webhook-secret';
  const seen: string[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const signature = 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
      if (req.headers['x-emulator-signature'] !== signature) return void res.writeHead(401).end();
      const { data } = JSON.parse(body);
      seen.push(`${data.from ?? 'new'} → ${data.to}`);
      res.writeHead(204).end();
    });
  }).listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  emulator.webhooks.add({ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, secret });
  const delivered = new Promise((resolve) => emulator.webhooks.onAttempt((a) => a.ok && resolve(a)));

  const offline = await emulator.createDevice();
  await emulator.invoke(offline.instanceId, command); // no device connected: REFUSED at once
  await delivered;

  expect(seen).toEqual(['new → REFUSED']);
  receiver.close();
});
