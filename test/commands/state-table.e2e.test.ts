/**
 * DESIGN.md's state table, row by row, end to end: a real emulator on ephemeral ports,
 * MQTT.js devices over TLS with the generated CA, REST over HTTP, the manual clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SEED_COMMAND, startTestEmulator, type TestEmulator } from '../support/harness.js';

const MIN = 60_000;
let t: TestEmulator;

beforeEach(async () => {
  t = await startTestEmulator();
});
afterEach(async () => {
  await t.close();
});

const events = (id: number) => t.events(id);

describe('state table', () => {
  it('REFUSED at once when the device is offline with no persistent session', async () => {
    const device = await t.createDevice();
    const id = await t.invoke(device.instanceId, SEED_COMMAND);
    const row = t.command(id);
    expect(row.delivery_status).toBe('REFUSED');
    expect(row.time_finished).toBe(row.time_created);
    expect(events(id)[0].cause).toMatch(/offline/);
  });

  it('REFUSED at once when the device is online but not subscribed to requestEndpoint', async () => {
    const device = await t.createDevice();
    const d = await t.connect(device, { subscribe: [['/other/topic', 1]] });
    const id = await t.invoke(device.instanceId, SEED_COMMAND);
    expect(t.command(id).delivery_status).toBe('REFUSED');
    expect(events(id)[0].cause).toMatch(/online but has no subscription/);
    expect(d.received).toHaveLength(0);
  });

  it('PENDING for an offline persistent session, then SENT when the device returns in time', async () => {
    const device = await t.createDevice();
    const first = await t.connect(device, { clientId: 'dev-1', clean: false, subscribe: [['/endpoints/+', 1]] });
    await first.close();
    const id = await t.invoke(device.instanceId, SEED_COMMAND);
    expect(t.command(id).delivery_status).toBe('PENDING');

    t.advance(2 * MIN); // still inside requestDuration PT3M
    expect(t.command(id).delivery_status).toBe('PENDING');
    const back = await t.connect(device, { clientId: 'dev-1', clean: false });
    const msg = await back.next('/endpoints/1234');
    expect(JSON.parse(msg.payload.toString())).toEqual({ temp: 33 });
    expect(msg.qos).toBe(1);
    const sent = await t.waitFor(id, 'SENT');
    expect(sent.time_sent).not.toBeNull();
  });

  it('PENDING becomes EXPIRED at time_created + requestDuration when the device stays away', async () => {
    const device = await t.createDevice();
    const first = await t.connect(device, { clientId: 'dev-2', clean: false, subscribe: [['/endpoints/1234', 1]] });
    await first.close();
    const id = await t.invoke(device.instanceId, SEED_COMMAND);
    t.advance(3 * MIN - 1);
    expect(t.command(id).delivery_status).toBe('PENDING');
    t.advance(1);
    const row = t.command(id);
    expect(row.delivery_status).toBe('EXPIRED');
    expect(Date.parse(row.time_finished!) - Date.parse(row.time_created)).toBe(3 * MIN);

    // Coming back later delivers nothing: terminal states never change.
    const back = await t.connect(device, { clientId: 'dev-2', clean: false });
    await back.client.subscribeAsync('/endpoints/1234', { qos: 1 });
    expect(back.received).toHaveLength(0);
    expect(t.command(id).delivery_status).toBe('EXPIRED');
  });

  it('SENT at once when the device is online and subscribed', async () => {
    const device = await t.createDevice();
    const d = await t.connect(device, { subscribe: [['/endpoints/1234', 1]] });
    const id = await t.invoke(device.instanceId, SEED_COMMAND);
    expect(t.command(id).delivery_status).toBe('SENT');
    const msg = await d.next();
    expect(msg.topic).toBe('/endpoints/1234');
    expect(msg.payload.toString()).toBe('{"temp":33}');
  });

  it('one-way at QoS 1 is COMPLETED when the PUBACK arrives', async () => {
    const device = await t.createDevice();
    const d = await t.connect(device, { subscribe: [['cmd/#', 1]] });
    const id = await t.invoke(device.instanceId, { requestDataFormat: 'TEXT', requestEndpoint: 'cmd/reboot', requestData: 'now' });
    expect((await d.next()).payload.toString()).toBe('now');
    const row = await t.waitFor(id, 'COMPLETED');
    expect(row.time_acknowledged).not.toBeNull();
    expect(row.response_data).toBeNull();
  });

  it('one-way at QoS 0 is COMPLETED once written', async () => {
    const device = await t.createDevice();
    const d = await t.connect(device, { subscribe: [['cmd/#', 0]] });
    const id = await t.invoke(device.instanceId, {
      requestDataFormat: 'BINARY',
      requestEndpoint: 'cmd/blob',
      requestData: Buffer.from([0, 1, 2, 255]).toString('base64'),
    });
    const msg = await d.next();
    expect(msg.qos).toBe(0);
    expect([...msg.payload]).toEqual([0, 1, 2, 255]);
    const row = await t.waitFor(id, 'COMPLETED');
    expect(row.qos).toBe(0);
  });

  it('two-way with no response within responseDuration is NOT_RESPONDED', async () => {
    const device = await t.createDevice();
    const d = await t.connect(device, { subscribe: [['/endpoints/1234', 1]] });
    const id = await t.invoke(device.instanceId, { ...SEED_COMMAND, responseDuration: 'PT1M' });
    await d.next();
    t.advance(MIN - 1);
    expect(t.command(id).delivery_status).toBe('SENT');
    t.advance(1);
    const row = t.command(id);
    expect(row.delivery_status).toBe('NOT_RESPONDED');
    expect(Date.parse(row.time_finished!) - Date.parse(row.time_sent!)).toBe(MIN);
  });

  it('two-way answered on responseEndpoint in time is COMPLETED with response_data', async () => {
    const device = await t.createDevice();
    const d = await t.connect(device, { subscribe: [['/endpoints/1234', 1]] });
    const id = await t.invoke(device.instanceId, SEED_COMMAND);
    await d.next();
    t.advance(2 * MIN);
    await d.client.publishAsync('/endpoints/4321', '{"test":1}', { qos: 1 });
    const row = await t.waitFor(id, 'COMPLETED');
    expect(row.response_data).toBe('{"test":1}');
    expect(row.response_data_format).toBe('JSON');
    expect(row.response_content_type).toBe('application/json');
    expect(events(id).map((e) => e.to_status)).toEqual(['PENDING', 'SENT', 'SENT', 'COMPLETED']);
    // The response completes the command; it is not also telemetry.
    expect(t.emu.db.prepare('SELECT count(*) AS n FROM raw_data').get()).toEqual({ n: 0 });
  });
});

describe('responses', () => {
  it('several commands awaiting one response endpoint are answered oldest first', async () => {
    const device = await t.createDevice();
    const d = await t.connect(device, { subscribe: [['/endpoints/1234', 1]] });
    const a = await t.invoke(device.instanceId, SEED_COMMAND);
    const b = await t.invoke(device.instanceId, SEED_COMMAND);
    await d.next();
    await d.next();
    await d.client.publishAsync('/endpoints/4321', 'first', { qos: 1 });
    expect((await t.waitFor(a, 'COMPLETED')).response_data).toBe('first');
    expect(t.command(b).delivery_status).toBe('SENT');
    await d.client.publishAsync('/endpoints/4321', 'second', { qos: 1 });
    expect((await t.waitFor(b, 'COMPLETED')).response_data).toBe('second');
  });

  it('a late response is kept as raw_data and noted on the finished command', async () => {
    const device = await t.createDevice();
    const d = await t.connect(device, { subscribe: [['/endpoints/1234', 1]] });
    const id = await t.invoke(device.instanceId, SEED_COMMAND);
    await d.next();
    t.advance(3 * MIN);
    expect(t.command(id).delivery_status).toBe('NOT_RESPONDED');
    await d.client.publishAsync('/endpoints/4321', '{"late":true}', { qos: 1 });
    expect(t.command(id).delivery_status).toBe('NOT_RESPONDED');
    expect(t.command(id).response_data).toBeNull();
    const raw = t.emu.db.prepare('SELECT endpoint, content FROM raw_data').get() as { endpoint: string; content: Buffer };
    expect(raw.endpoint).toBe('/endpoints/4321');
    expect(raw.content.toString()).toBe('{"late":true}');
    expect(events(id).at(-1)!.cause).toMatch(/late response/);
  });

  it('publishes that answer no command become raw_data rows (telemetry)', async () => {
    const device = await t.createDevice();
    const d = await t.connect(device);
    await d.client.publishAsync('telemetry/temp', '21.5', { qos: 1 });
    await d.client.publishAsync('telemetry/bin', Buffer.from([0xff, 0xfe]), { qos: 1 });
    const rows = t.emu.db.prepare('SELECT digital_twin_instance_id, endpoint, content_type FROM raw_data ORDER BY id').all();
    expect(rows).toEqual([
      { digital_twin_instance_id: device.instanceId, endpoint: 'telemetry/temp', content_type: 'application/json' },
      { digital_twin_instance_id: device.instanceId, endpoint: 'telemetry/bin', content_type: 'application/octet-stream' },
    ]);
  });
});
