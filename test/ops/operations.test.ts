/**
 * What an operator touches: /metrics, /docs, /emulator/health, the event stream the console
 * lives on, the console's JSON routes, and the logs.
 */
import { PassThrough } from 'node:stream';
import { SEED_COMMAND } from '../support/harness.js';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/ops/logger.js';
import { startEmulator, type StartedEmulator, type StartOptions } from '../../src/programmatic.js';
import { openSse } from '../support/sse.js';


const running: StartedEmulator[] = [];
const clients: mqtt.MqttClient[] = [];
async function start(options: StartOptions = {}): Promise<StartedEmulator> {
  const emu = await startEmulator(options);
  running.push(emu);
  return emu;
}
async function connect(device: { mqttOptions: mqtt.IClientOptions }, subscribe?: string) {
  const client = await mqtt.connectAsync({ ...device.mqttOptions, reconnectPeriod: 0 });
  clients.push(client);
  if (subscribe) await client.subscribeAsync(subscribe, { qos: 1 });
  return client;
}
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await Promise.all(running.splice(0).map((e) => e.close()));
});

async function get(emu: StartedEmulator, path: string) {
  const res = await fetch(emu.restUrl + path);
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}
async function post(emu: StartedEmulator, path: string, body: unknown) {
  const res = await fetch(emu.restUrl + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
}

/** The value of one series in Prometheus text format, matched on its exact label set. */
function series(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (JSON.stringify(Object.entries(got).sort()) === JSON.stringify(Object.entries(labels).sort())) return Number(m[3]);
  }
  return undefined;
}

describe('/metrics', () => {
  it('counts devices, final states, latency, MQTT messages and HTTP requests', async () => {
    const emu = await start();
    const device = await emu.createDevice();
    const client = await connect(device, '/endpoints/1234');
    const done = await emu.invoke(device.instanceId, SEED_COMMAND);
    await emu.waitForCommand(done, 'SENT');
    emu.advance('PT2M');
    await client.publishAsync('/endpoints/4321', '{"test":1}', { qos: 1 });
    await emu.waitForCommand(done, 'COMPLETED');
    await client.publishAsync('telemetry/temp', '21.5', { qos: 1 });
    const offline = await emu.createDevice();
    await emu.invoke(offline.instanceId, SEED_COMMAND); // REFUSED at once
    await get(emu, '/no/such/path');

    const m = await get(emu, '/metrics');
    expect(m.status).toBe(200);
    expect(m.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    const t = m.text;
    expect(series(t, 'oci_iot_devices_connected')).toBe(1);
    expect(series(t, 'oci_iot_commands_finished_total', { state: 'COMPLETED' })).toBe(1);
    expect(series(t, 'oci_iot_commands_finished_total', { state: 'REFUSED' })).toBe(1);
    expect(series(t, 'oci_iot_commands_finished_total', { state: 'EXPIRED' })).toBe(0);
    expect(series(t, 'oci_iot_commands', { state: 'COMPLETED' })).toBe(1);
    expect(series(t, 'oci_iot_commands', { state: 'SENT' })).toBe(0);
    // Invoke to COMPLETED took the two minutes the manual clock moved.
    expect(series(t, 'oci_iot_command_duration_seconds_sum', { state: 'COMPLETED' })).toBe(120);
    expect(series(t, 'oci_iot_command_duration_seconds_bucket', { state: 'COMPLETED', le: '60' })).toBe(0);
    expect(series(t, 'oci_iot_command_duration_seconds_bucket', { state: 'COMPLETED', le: '180' })).toBe(1);
    expect(series(t, 'oci_iot_command_duration_seconds_count', { state: 'REFUSED' })).toBe(1);
    expect(series(t, 'oci_iot_mqtt_messages_total', { direction: 'out' })).toBe(1);
    expect(series(t, 'oci_iot_mqtt_messages_total', { direction: 'in' })).toBe(2);
    expect(
      series(t, 'oci_iot_http_requests_total', {
        method: 'POST',
        route: '/20250531/digitalTwinInstances/:digitalTwinInstanceId/actions/invokeRawCommand',
        status: '202',
      }),
    ).toBe(2);
    expect(series(t, 'oci_iot_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    expect(series(t, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });
});

describe('/docs', () => {
  it('describes every OCI operation from the route schemas, as OpenAPI JSON and as a page', async () => {
    const emu = await start();
    const spec = JSON.parse((await get(emu, '/docs/json')).text);
    expect(spec.openapi).toBe('3.1.0');
    const invoke = spec.paths['/20250531/digitalTwinInstances/{digitalTwinInstanceId}/actions/invokeRawCommand'].post;
    expect(invoke.tags).toEqual(['IoT']);
    const body = invoke.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(['requestDataFormat', 'requestEndpoint']);
    expect(body.properties.requestDataFormat.enum).toEqual(['JSON', 'TEXT', 'BINARY']);
    expect(spec.paths['/20180608/secrets'].post.tags).toEqual(['Vault']);
    expect(spec.paths['/ords/{shortId}/20250531/rawCommandData'].get.tags).toEqual(['IoT Data API']);
    expect(spec.paths['/emulator/devices'].post.tags).toEqual(['emulator']);
    // The console's own plumbing is not API.
    expect(Object.keys(spec.paths).filter((p) => p.startsWith('/console') || p.startsWith('/docs') || p === '/emulator/events')).toEqual([]);

    const page = await get(emu, '/docs');
    expect(page.type).toBe('text/html; charset=utf-8');
    expect(page.text).toContain('<code class="m">POST</code> <code>/20250531/digitalTwinInstances/{digitalTwinInstanceId}/actions/invokeRawCommand</code>');
    expect(page.text).toContain('<code class="m">GET</code> <code>/20250531/digitalTwinInstances</code>');
  });
});

describe('/emulator routes', () => {
  it('health answers ok for readiness probes', async () => {
    const emu = await start();
    expect(await get(emu, '/emulator/health')).toMatchObject({ status: 200, text: '{"status":"ok"}' });
  });

  it('info and ca.pem tell a device where to connect and what to trust', async () => {
    const emu = await start();
    const info = JSON.parse((await get(emu, '/emulator/info')).text);
    expect(info).toMatchObject({
      deviceHost: emu.domain.deviceHost,
      mqttPort: emu.mqttPort,
      apiBaseUrl: `${emu.restUrl}/20250531`,
      caFile: emu.caFile,
      domain: { id: emu.domain.id, shortId: emu.domain.shortId },
      clock: { kind: 'manual' },
    });
    const ca = await get(emu, '/emulator/ca.pem');
    expect(ca.type).toBe('application/x-pem-file');
    expect(ca.text).toBe(emu.ca);
  });

  it('creating a device refuses unknown fields and a taken externalKey', async () => {
    const emu = await start();
    expect(await post(emu, '/emulator/devices', { name: 'x' })).toMatchObject({ status: 400, body: { code: 'InvalidParameter' } });
    expect((await post(emu, '/emulator/devices', { externalKey: 'dev-1' })).status).toBe(200);
    const again = await post(emu, '/emulator/devices', { externalKey: 'dev-1' });
    expect(again).toMatchObject({ status: 409, body: { code: 'Conflict' } });
    // The refused device left no orphan Vault secret behind.
    expect(emu.sql('select count(*) as n from vault_secrets').rows).toEqual([{ n: 1 }]);
  });

  it('SQL answers a query as a table and refuses writes, also on an in-memory database', async () => {
    for (const emu of [await start(), await start({ dataDir: ':memory:' })]) {
      await emu.createDevice({ displayName: 'probe' });
      expect((await post(emu, '/emulator/sql', { sql: 'select display_name, 1 + 1 as two from digital_twin_instances' })).body).toEqual({
        columns: ['display_name', 'two'],
        rows: [['probe', 2]],
        truncated: false,
      });
      const write = await post(emu, '/emulator/sql', { sql: "update digital_twin_instances set display_name = 'x'" });
      expect(write).toMatchObject({ status: 400, body: { code: 'InvalidParameter' } });
      expect(write.body.message).toMatch(/^the sql command is read-only/);
      expect((await post(emu, '/emulator/sql', { sql: 'select nope from nowhere' })).body.message).toBe('no such table: nowhere');
      expect(emu.sql('select display_name from digital_twin_instances').rows).toEqual([{ display_name: 'probe' }]);
    }
  });
});

describe('/emulator/events', () => {
  it('streams a snapshot, then device presence and every command state change as it happens', async () => {
    const emu = await start();
    const stream = await openSse(`${emu.restUrl}/emulator/events`);
    expect(await stream.next()).toEqual({ event: 'snapshot', data: { devices: [], commands: [] } });

    const device = await emu.createDevice({ displayName: 'sensor' });
    const client = await connect(device);
    const online = await stream.next((e) => e.event === 'devices' && (e.data as any[])[0]?.online);
    expect((online.data as any[])[0]).toMatchObject({ displayName: 'sensor', online: true, clientId: device.clientId, subscriptions: [] });
    await client.subscribeAsync('/endpoints/1234', { qos: 1 });
    const subscribed = await stream.next((e) => e.event === 'devices' && (e.data as any[])[0]?.subscriptions.length === 1);
    expect((subscribed.data as any[])[0].subscriptions).toEqual([{ topic: '/endpoints/1234', qos: 1 }]);

    const id = await emu.invoke(device.instanceId, SEED_COMMAND);
    const states = async (state: string) => (await stream.next((e) => e.event === 'command' && (e.data as any).deliveryStatus === state)).data as any;
    expect(await states('PENDING')).toMatchObject({ id, trail: ['PENDING'] });
    expect(await states('SENT')).toMatchObject({ id, trail: ['PENDING', 'SENT'], requestData: '{"temp":33}', clientId: device.clientId });
    await client.publishAsync('/endpoints/4321', '{"test":1}', { qos: 1 });
    expect(await states('COMPLETED')).toMatchObject({ id, trail: ['PENDING', 'SENT', 'COMPLETED'], responseData: '{"test":1}' });
    // The row says why it is COMPLETED, whatever was recorded about it afterwards (its PUBACK may come later).
    const listed = JSON.parse((await get(emu, `/emulator/commands/${id}`)).text);
    expect(listed).toMatchObject({ deliveryStatus: 'COMPLETED', cause: 'response received on /endpoints/4321' });

    await client.endAsync();
    expect(await stream.next((e) => e.event === 'devices')).toMatchObject({ data: [{ online: false }] });

    // Closing the emulator ends open streams instead of waiting for them.
    await emu.close();
    running.splice(running.indexOf(emu), 1);
    await stream.ended;
  });
});

describe('logs', () => {
  const lines = (stream: PassThrough): string[] => (stream.read() as Buffer | null)?.toString().trim().split('\n') ?? [];

  it('are JSON lines when nobody is watching a terminal, with one debug line per command transition', async () => {
    const out = new PassThrough();
    const emu = await start({ logger: createLogger('debug', { destination: out }) });
    const device = await emu.createDevice();
    const client = await connect(device, '/endpoints/1234');
    const id = await emu.invoke(device.instanceId, SEED_COMMAND);
    await client.publishAsync('/endpoints/4321', '{"test":1}', { qos: 1 });
    await emu.waitForCommand(id, 'COMPLETED');

    const records = lines(out).map((l) => JSON.parse(l) as Record<string, unknown>);
    const transitions = records.filter((r) => r.msg === 'command transition');
    expect(transitions.map((r) => [r.level, r.commandId, r.from, r.to])).toEqual([
      [20, id, null, 'PENDING'],
      [20, id, 'PENDING', 'SENT'],
      [20, id, 'SENT', 'COMPLETED'],
    ]);
    expect(records.some((r) => r.msg === 'device connected' && r.component === 'broker')).toBe(true);
  });

  it('are coloured, readable lines on a terminal', () => {
    const tty = Object.assign(new PassThrough(), { isTTY: true });
    createLogger('info', { destination: tty }).info({ commandId: 7 }, 'command transition');
    const [line] = lines(tty);
    expect(() => JSON.parse(line)).toThrow();
    expect(line).toContain('INFO');
    expect(line).toContain('command transition');
  });
});
