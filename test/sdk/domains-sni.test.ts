/**
 * Several IoT domains at once: each has its own short id, deviceHost and data API path, and
 * devices are told apart by the host name they send in TLS SNI, as OCI tells its domains
 * apart. The same external key in two domains is two devices.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator, type TestEmulator } from '../support/harness.js';
import { authProvider, newApiKey, provisionDevice, sdkClients, type SdkClients } from './support.js';

let t: TestEmulator;
let sdk: SdkClients;
let second: { id: string; deviceHost: string; shortId: string };
const clients: MqttClient[] = [];

beforeAll(async () => {
  t = await startTestEmulator();
  sdk = sdkClients(t.emu.restUrl, authProvider(newApiKey()));
  const group = await sdk.iot.createIotDomainGroup({ createIotDomainGroupDetails: { compartmentId: 'ocid1.compartment.oc1..aaaa' } });
  t.advance(1000);
  const domain = await sdk.iot.createIotDomain({
    createIotDomainDetails: { iotDomainGroupId: group.iotDomainGroup.id, compartmentId: 'ocid1.compartment.oc1..aaaa', displayName: 'second' },
  });
  t.advance(1000);
  const host = domain.iotDomain.deviceHost!;
  second = { id: domain.iotDomain.id, deviceHost: host, shortId: host.split('.')[0] };
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
  await t?.close();
});

/**
 * A device connecting to 127.0.0.1 and naming `servername` in SNI, verifying the server
 * certificate against the emulator's CA for that name (names under localhost need not
 * resolve on this machine for that). No servername: no SNI at all, as for an IP address.
 */
function connect(servername: string | undefined, username: string, password: string, extra: IClientOptions = {}) {
  return mqtt.connectAsync({
    host: '127.0.0.1',
    port: t.emu.mqttPort,
    protocol: 'mqtts',
    ...(servername ? { servername } : {}),
    ca: t.emu.ca,
    rejectUnauthorized: true,
    username,
    password,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...extra,
  });
}

async function refused(servername: string | undefined, username: string, password: string): Promise<string> {
  const error = await connect(servername, username, password).then(
    (c) => {
      clients.push(c);
      return null;
    },
    (err: Error) => err,
  );
  expect(error, 'the login is refused').not.toBeNull();
  return error!.message;
}

describe('domains told apart by TLS SNI', () => {
  it('the same external key in two domains is two devices: each logs in with its own password on its own host', async () => {
    const inFirst = await provisionDevice(sdk, t.emu.domain.id, { externalKey: 'sensor-1' });
    const inSecond = await provisionDevice(sdk, second.id, { externalKey: 'sensor-1' });
    expect(inFirst.instanceId).not.toBe(inSecond.instanceId);

    // The first domain's own host name is the first domain.
    const aByName = await connect(t.emu.domain.deviceHost, 'sensor-1', inFirst.password, { clientId: 'a' });
    clients.push(aByName);
    await aByName.endAsync();
    // So is no SNI (an IP address), as a one-domain setup always was.
    const a = await connect(undefined, 'sensor-1', inFirst.password, { clientId: 'a' });
    const b = await connect(second.deviceHost, 'sensor-1', inSecond.password, { clientId: 'b' });
    clients.push(a, b);

    // Each password only opens its own domain's device.
    expect(await refused(undefined, 'sensor-1', inSecond.password)).toMatch(/Not authorized/i);
    expect(await refused(second.deviceHost, 'sensor-1', inFirst.password)).toMatch(/Not authorized/i);

    // A command to the second domain's device reaches only the connection on the second host.
    await a.subscribeAsync('cmd/#', { qos: 1 });
    await b.subscribeAsync('cmd/#', { qos: 1 });
    const gotB = new Promise<[string, Buffer]>((resolve) => b.once('message', (topic, payload) => resolve([topic, payload])));
    const location = (
      await sdk.iot.invokeRawCommand({
        digitalTwinInstanceId: inSecond.instanceId,
        invokeRawCommandDetails: { requestDataFormat: 'TEXT', requestEndpoint: 'cmd/hello', requestData: 'to the second domain' } as never,
      })
    ).location!;
    const [topic, payload] = await gotB;
    expect([topic, payload.toString()]).toEqual(['cmd/hello', 'to the second domain']);
    await t.waitFor(Number(location.split('/').pop()), 'COMPLETED');

    // What a device publishes is data of its own domain, on that domain's data API path.
    await b.publishAsync('telemetry', '{"t":1}', { qos: 1 });
    const rows = async (shortId: string) =>
      ((await (await fetch(`${t.emu.restUrl}/ords/${shortId}/20250531/rawData`)).json()) as { items: Array<{ digital_twin_instance_id: string }> }).items;
    expect((await rows(second.shortId)).map((r) => r.digital_twin_instance_id)).toEqual([inSecond.instanceId]);
    expect((await rows(t.emu.domain.shortId)).map((r) => r.digital_twin_instance_id)).not.toContain(inSecond.instanceId);
    expect(a.connected && b.connected).toBe(true);
  });

  it('a domain made while the emulator runs is covered by the server certificate at once', async () => {
    const group = await sdk.iot.createIotDomainGroup({ createIotDomainGroupDetails: { compartmentId: 'ocid1.compartment.oc1..aaaa' } });
    t.advance(1000);
    const created = await sdk.iot.createIotDomain({ createIotDomainDetails: { iotDomainGroupId: group.iotDomainGroup.id, compartmentId: 'ocid1.compartment.oc1..aaaa' } });
    t.advance(1000);
    const device = await provisionDevice(sdk, created.iotDomain.id);
    const c = await connect(created.iotDomain.deviceHost!, device.externalKey, device.password);
    clients.push(c);
    expect(c.connected).toBe(true);
  });

  it('a host name of a deleted domain logs nobody in; its live devices were disconnected', async () => {
    const group = await sdk.iot.createIotDomainGroup({ createIotDomainGroupDetails: { compartmentId: 'ocid1.compartment.oc1..aaaa' } });
    t.advance(1000);
    const created = await sdk.iot.createIotDomain({ createIotDomainDetails: { iotDomainGroupId: group.iotDomainGroup.id, compartmentId: 'ocid1.compartment.oc1..aaaa' } });
    t.advance(1000);
    const device = await provisionDevice(sdk, created.iotDomain.id);
    const c = await connect(created.iotDomain.deviceHost!, device.externalKey, device.password);
    clients.push(c);
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    await sdk.iot.deleteIotDomain({ iotDomainId: created.iotDomain.id });
    t.advance(1000);
    await closed;
    expect(await refused(created.iotDomain.deviceHost!, device.externalKey, device.password)).toMatch(/Not authorized/i);
  });
});
