/**
 * GATEWAY and INDIRECT instances as in Oracle's node-red-gateway sample: the gateway logs in
 * with its own credentials and subscribes with wildcards (`m5/+/cmd/+`); a command invoked on
 * an INDIRECT instance travels over the gateway's connection, and the gateway's publish on
 * the response endpoint completes it.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startEmulator, type StartedEmulator } from '../../src/index.js';
import { until } from '../support/harness.js';

let emulator: StartedEmulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});

async function rest<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${emulator.restUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

const createInstance = (fields: Record<string, unknown>) =>
  rest<{ id: string; code?: string; message?: string }>('POST', '/20250531/digitalTwinInstances', { iotDomainId: emulator.domain.id, ...fields });

async function gatewayDevice() {
  const gw = await emulator.createDevice({ displayName: 'node-red gateway', connectivityType: 'GATEWAY' });
  // Its client id is its external key, as in the sample.
  return { id: gw.instanceId, username: gw.username, password: gw.password, mqttOptions: gw.mqttOptions };
}

it("a command to an INDIRECT instance goes over its gateway's connection; the gateway's answer completes it", async () => {
  const gateway = await gatewayDevice();
  const m501 = await createInstance({ connectivityType: 'INDIRECT', externalKey: 'm5-01', gateways: [gateway.id] });
  expect(m501.status).toBe(200);
  expect(m501.body).toMatchObject({ connectivityType: 'INDIRECT', gateways: [gateway.id] });

  const client = await mqtt.connectAsync({ ...gateway.mqttOptions, clean: false });
  await client.subscribeAsync('m5/+/cmd/+', { qos: 1 });
  client.on('message', (topic, payload) => {
    // The gateway's flow: pass the command to the local device, publish its answer.
    const [, device, , key] = topic.split('/');
    void client.publishAsync(`m5/${device}/rsp/${key}`, JSON.stringify({ status: 'acknowledged', got: JSON.parse(payload.toString()) }), { qos: 1 });
  });

  const id = await emulator.invoke(m501.body.id, {
    requestDataFormat: 'JSON',
    requestEndpoint: 'm5/m5-01/cmd/identify-001',
    requestData: { identify: true },
    responseEndpoint: 'm5/m5-01/rsp/identify-001',
  });
  const row = await emulator.waitForCommand(id, 'COMPLETED');
  expect(row.digital_twin_instance_id).toBe(m501.body.id);
  expect(row.response_data).toBe('{"status":"acknowledged","got":{"identify":true}}');
  const sent = emulator.sql(`select cause from command_events where command_id = ${id} and to_status = 'SENT'`).rows[0] as { cause: string };
  expect(sent.cause).toBe(`published to ${gateway.username} at QoS 1 via gateway ${gateway.id}`);
  // The gateway's own telemetry stays its own raw_data.
  await client.publishAsync('gateway/metrics', '{"up":1}', { qos: 1 });
  expect(emulator.sql(`select digital_twin_instance_id as id from raw_data where endpoint = 'gateway/metrics'`).rows).toEqual([{ id: gateway.id }]);

  // Presence of the INDIRECT instance follows its gateway's.
  const view = async () =>
    ((await rest<{ items: Array<{ instanceId: string; online: boolean; connections: Array<{ clientId: string; gatewayId?: string }> }> }>('GET', '/emulator/devices')).body.items.find(
      (d) => d.instanceId === m501.body.id,
    ))!;
  expect(await view()).toMatchObject({ online: true, connections: [{ clientId: gateway.username, gatewayId: gateway.id }] });
  await client.endAsync();
  await until(() => !emulator.devices.isOnline(gateway.id));
  expect(await view()).toMatchObject({ online: false, connections: [] });

  // The gateway's persistent session subscribed for its devices: a command waits for it.
  const later = await emulator.invoke(m501.body.id, { requestDataFormat: 'TEXT', requestEndpoint: 'm5/m5-01/cmd/blink', requestData: 'x' });
  expect(emulator.command(later)!.delivery_status).toBe('PENDING');
  const back = await mqtt.connectAsync({ ...gateway.mqttOptions, clean: false });
  await emulator.waitForCommand(later, 'COMPLETED');
  await back.endAsync();
});

it('an INDIRECT instance whose gateway is offline with no persistent session gets REFUSED', async () => {
  const gateway = await gatewayDevice();
  const indirect = await createInstance({ connectivityType: 'INDIRECT', gateways: [gateway.id] });
  const id = await emulator.invoke(indirect.body.id, { requestDataFormat: 'TEXT', requestEndpoint: 'x/cmd', requestData: 'x' });
  expect(emulator.command(id)!.delivery_status).toBe('REFUSED');
});

it('refuses gateways that are not GATEWAY instances of the same domain, and gateways on a non-INDIRECT instance (400)', async () => {
  const gateway = await gatewayDevice();
  const direct = await emulator.createDevice();
  const notGateway = await createInstance({ connectivityType: 'INDIRECT', gateways: [direct.instanceId] });
  expect(notGateway.status).toBe(400);
  expect(notGateway.body).toMatchObject({ code: 'InvalidParameter', message: expect.stringMatching(/not a GATEWAY/) });

  const unknown = await createInstance({ connectivityType: 'INDIRECT', gateways: ['ocid1.iotdigitaltwininstance.oc1.us-ashburn-1.nosuch'] });
  expect(unknown.status).toBe(400);
  expect(unknown.body.code).toBe('RelatedResourceNotAuthorizedOrNotFound');

  const onDirect = await createInstance({ connectivityType: 'DIRECT', gateways: [gateway.id] });
  expect(onDirect.status).toBe(400);
  expect(onDirect.body.message).toMatch(/only an INDIRECT instance has gateways/);

  const indirect = await createInstance({ connectivityType: 'INDIRECT' });
  const update = await rest<{ code: string }>('PUT', `/20250531/digitalTwinInstances/${indirect.body.id}`, { gateways: [direct.instanceId] });
  expect(update.status).toBe(400);
  const good = await rest<{ gateways: string[] }>('PUT', `/20250531/digitalTwinInstances/${indirect.body.id}`, { gateways: [gateway.id] });
  expect(good.status).toBe(200);
  expect(good.body.gateways).toEqual([gateway.id]);
});

it('a gateway of another IoT domain is refused (400)', async () => {
  // A second domain of the same group, written straight into the database.
  const other = 'ocid1.iotdomain.oc1.us-ashburn-1.otherdomain';
  emulator.db
    .prepare(
      `INSERT INTO iot_domains (id, iot_domain_group_id, compartment_id, display_name, short_id, device_host, lifecycle_state, time_created, time_updated)
       SELECT ?, iot_domain_group_id, compartment_id, 'other', 'otherdomain0', device_host, 'ACTIVE', time_created, time_updated FROM iot_domains LIMIT 1`,
    )
    .run(other);
  const foreign = await rest<{ id: string }>('POST', '/20250531/digitalTwinInstances', { iotDomainId: other, connectivityType: 'GATEWAY' });
  expect(foreign.status).toBe(200);
  const res = await createInstance({ connectivityType: 'INDIRECT', gateways: [foreign.body.id] });
  expect(res.status).toBe(400);
  expect(res.body.code).toBe('RelatedResourceNotAuthorizedOrNotFound');
});
