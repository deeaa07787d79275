/**
 * Several connections per device, one per client id (OCI's rule, and MQTT's): a command goes
 * to every live connection whose subscriptions match, is SENT once and finished once; each
 * connection has its own packet ids and QoS 1 window; persistent sessions keep their
 * commands by client id; a response from any connection completes the command.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { IPublishPacket } from 'mqtt-packet';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type StartedEmulator, type TestDevice } from '../../src/index.js';
import { until } from '../support/harness.js';
import { rawLogin, type RawDevice } from '../support/raw-mqtt.js';

let emulator: StartedEmulator;
beforeEach(async () => {
  emulator = await startEmulator({ mqttMaxInflight: 1 });
});
afterEach(async () => {
  await emulator.close();
});

const oneWay = (topic: string) => ({ requestDataFormat: 'TEXT', requestEndpoint: topic, requestData: 'go' });
const twoWay = (topic: string, response: string) => ({ ...oneWay(topic), responseEndpoint: response });

const events = (id: number) => emulator.sql(`select from_status, to_status, cause from command_events where command_id = ${id} order by id`).rows as Array<{ from_status: string | null; to_status: string; cause: string }>;
const deliveries = (id: number) => emulator.sql(`select client_id, qos, message_id, time_acknowledged is not null as acked from command_deliveries where command_id = ${id} order by client_id`).rows;

/** MQTT.js with its own client id; collects what it receives. */
async function client(device: TestDevice, clientId: string, opts: mqtt.IClientOptions = {}) {
  const c = await mqtt.connectAsync({ ...device.mqttOptions, clientId, reconnectPeriod: 0, ...opts });
  const got: Array<{ topic: string; payload: string; messageId?: number; dup: boolean }> = [];
  c.on('message', (topic, payload, packet) => got.push({ topic, payload: payload.toString(), messageId: packet.messageId, dup: packet.dup }));
  return { c, got };
}

/** A connection that acknowledges nothing unless told to. */
async function silent(device: TestDevice, clientId: string, topic: string, clean = true): Promise<RawDevice> {
  const { device: raw, returnCode } = await rawLogin({ port: emulator.mqttPort, ca: emulator.ca }, { clientId, clean, username: device.username, password: Buffer.from(device.password) });
  expect(returnCode).toBe(0);
  raw.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
  await raw.next('suback');
  return raw;
}

/** Ends a client and waits until the emulator has seen that connection go (its session row says offline). */
async function end(c: MqttClient, clientId: string): Promise<void> {
  await c.endAsync();
  await until(() => emulator.sql(`select 1 from device_sessions where client_id = '${clientId}' and online = 1`).rows.length === 0);
}

const closeAll = (...cs: MqttClient[]) => Promise.all(cs.map((c) => c.endAsync()));

describe('several connections of one device', () => {
  it('a command reaches every matching connection once, is SENT once, and a one-way command completes at the first PUBACK', async () => {
    const device = await emulator.createDevice();
    const slow = await silent(device, 'slow', 'cmd/#');
    const fast = await client(device, 'fast');
    await fast.c.subscribeAsync('cmd/+', { qos: 1 });
    const other = await client(device, 'elsewhere');
    await other.c.subscribeAsync('telemetry/config', { qos: 1 });

    const id = await emulator.invoke(device.instanceId, oneWay('cmd/reboot'));
    const atSlow = (await slow.next('publish')) as IPublishPacket;
    expect(atSlow).toMatchObject({ topic: 'cmd/reboot', qos: 1, dup: false });
    // `slow` never acknowledges; `fast` (MQTT.js) does: that first PUBACK completes it.
    await emulator.waitForCommand(id, 'COMPLETED');
    expect(fast.got).toEqual([{ topic: 'cmd/reboot', payload: 'go', messageId: atSlow.messageId, dup: false }]);
    expect(other.got).toEqual([]);
    expect(events(id).map((e) => e.to_status)).toEqual(['PENDING', 'SENT', 'COMPLETED']);
    expect(events(id)[1].cause).toMatch(/^published to slow at QoS 1, fast at QoS 1$/);
    // Packet ids are per connection: each connection's first command is its packet id 1.
    expect(deliveries(id)).toEqual([
      { client_id: 'fast', qos: 1, message_id: 1, acked: 1 },
      { client_id: 'slow', qos: 1, message_id: 1, acked: 0 },
    ]);

    // The late PUBACK of the other connection changes nothing.
    slow.send({ cmd: 'puback', messageId: atSlow.messageId! });
    const again = await emulator.invoke(device.instanceId, oneWay('cmd/again'));
    await emulator.waitForCommand(again, 'COMPLETED');
    expect(events(id).map((e) => e.to_status)).toEqual(['PENDING', 'SENT', 'COMPLETED']);
    await slow.end();
    await closeAll(fast.c, other.c);
  });

  it('each connection has its own QoS 1 window: a connection that has not acknowledged holds the next command back', async () => {
    const device = await emulator.createDevice();
    const slow = await silent(device, 'slow', 'cmd/#');
    const fast = await client(device, 'fast');
    await fast.c.subscribeAsync('cmd/#', { qos: 1 });

    // Two-way: the PUBACK does not finish it, so it stays in flight on `slow` (window 1).
    const first = await emulator.invoke(device.instanceId, twoWay('cmd/1', 'rsp/1'));
    const atSlow = (await slow.next('publish')) as IPublishPacket;
    await emulator.waitForCommand(first, 'SENT');
    const second = await emulator.invoke(device.instanceId, twoWay('cmd/2', 'rsp/2'));
    expect(emulator.command(second)!.delivery_status).toBe('PENDING');
    expect(events(second)[0].cause).toMatch(/waiting until the device acknowledges/);

    // `slow` acknowledges: its window has room, and the second command goes to both.
    slow.send({ cmd: 'puback', messageId: atSlow.messageId! });
    await emulator.waitForCommand(second, 'SENT');
    expect(((await slow.next('publish')) as IPublishPacket).topic).toBe('cmd/2');

    // A response from any connection of the device completes it, here a third one.
    const answering = await client(device, 'answering');
    await answering.c.publishAsync('rsp/2', 'ok', { qos: 1 });
    expect((await emulator.waitForCommand(second, 'COMPLETED')).response_data).toBe('ok');
    await answering.c.publishAsync('rsp/1', 'ok too', { qos: 1 });
    await emulator.waitForCommand(first, 'COMPLETED');
    await slow.end();
    await closeAll(fast.c, answering.c);
  });

  it("a persistent session's unacknowledged command follows its client id: the same client id gets it again, flagged DUP", async () => {
    const device = await emulator.createDevice();
    const live = await client(device, 'live');
    await live.c.subscribeAsync('cmd/#', { qos: 1 });
    const first = await silent(device, 'keeper', 'cmd/#', false);
    const id = await emulator.invoke(device.instanceId, twoWay('cmd/x', 'rsp/x'));
    const original = (await first.next('publish')) as IPublishPacket;
    await first.end();

    // Another client id does not inherit it; the same one does, with the same packet id.
    const stranger = await silent(device, 'stranger', 'cmd/#', false);
    const back = await rawLogin({ port: emulator.mqttPort, ca: emulator.ca }, { clientId: 'keeper', clean: false, username: device.username, password: Buffer.from(device.password) });
    const dup = (await back.device.next('publish')) as IPublishPacket;
    expect(dup).toMatchObject({ topic: 'cmd/x', dup: true, messageId: original.messageId });
    expect(stranger.received.filter((p) => p.cmd === 'publish')).toEqual([]);
    expect(events(id).at(-1)!.cause).toBe('redelivered (DUP) to keeper after reconnect');
    await Promise.all([back.device.end(), stranger.end()]);
    await closeAll(live.c);
  });

  it('after a restart, a persistent session gets its unacknowledged command again by its client id, and only it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'oci-iot-connections-'));
    try {
      const first = await startEmulator({ dataDir, certsDir: join(dataDir, 'certs') });
      const device = await first.createDevice();
      const login = (emu: StartedEmulator, clientId: string) =>
        rawLogin({ port: emu.mqttPort, ca: emu.ca }, { clientId, clean: false, username: device.username, password: Buffer.from(device.password) });
      const keeper = (await login(first, 'keeper')).device;
      keeper.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'cmd/#', qos: 1 }] });
      await keeper.next('suback');
      const other = (await login(first, 'other')).device;
      other.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'cmd/#', qos: 1 }] });
      await other.next('suback');
      const id = await first.invoke(device.instanceId, twoWay('cmd/x', 'rsp/x'));
      const original = (await keeper.next('publish')) as IPublishPacket;
      const atOther = (await other.next('publish')) as IPublishPacket;
      other.send({ cmd: 'puback', messageId: atOther.messageId! });
      await until(() => first.sql(`select 1 from command_deliveries where command_id = ${id} and client_id = 'other' and time_acknowledged is not null`).rows.length === 1);
      await first.close();

      const second = await startEmulator({ dataDir, certsDir: join(dataDir, 'certs') });
      try {
        const otherBack = (await login(second, 'other')).device;
        const keeperBack = (await login(second, 'keeper')).device;
        expect((await keeperBack.next('publish')) as IPublishPacket).toMatchObject({ topic: 'cmd/x', dup: true, messageId: original.messageId });
        // `other` acknowledged before the restart: nothing comes back to it.
        await second.invoke(device.instanceId, oneWay('cmd/marker'));
        expect(((await otherBack.next('publish')) as IPublishPacket).topic).toBe('cmd/marker');
        expect(second.command(id)!.delivery_status).toBe('SENT');
        await Promise.all([otherBack.end(), keeperBack.end()]);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('a command for a persistent session that is away waits for it, even while another connection is live', async () => {
    const device = await emulator.createDevice();
    const away = await client(device, 'away', { clean: false });
    await away.c.subscribeAsync('cmd/#', { qos: 1 });
    await end(away.c, 'away');
    const live = await client(device, 'live');
    await live.c.subscribeAsync('telemetry/#', { qos: 1 });

    const id = await emulator.invoke(device.instanceId, oneWay('cmd/later'));
    expect(emulator.command(id)!.delivery_status).toBe('PENDING');
    const back = await client(device, 'away', { clean: false });
    await emulator.waitForCommand(id, 'COMPLETED');
    expect(back.got.map((m) => m.topic)).toEqual(['cmd/later']);
    expect(live.got).toEqual([]);
    await closeAll(back.c, live.c);
  });

  it('presence shows each connection, with its client id, transport, session and subscriptions', async () => {
    const device = await emulator.createDevice();
    const tls = await client(device, 'over-tls', { clean: false });
    await tls.c.subscribeAsync('cmd/a', { qos: 1 });
    const ws = await mqtt.connectAsync({ ...device.wssOptions, clientId: 'over-wss' });
    await ws.subscribeAsync('cmd/b', { qos: 0 });
    const list = (await (await fetch(`${emulator.restUrl}/emulator/devices`)).json()) as { items: Array<{ instanceId: string; online: boolean; connections: unknown[]; subscriptions: unknown[] }> };
    const view = list.items.find((d) => d.instanceId === device.instanceId)!;
    expect(view.online).toBe(true);
    expect(view.connections).toEqual([
      { clientId: 'over-tls', transport: 'mqtts', persistentSession: true, subscriptions: [{ topic: 'cmd/a', qos: 1 }] },
      { clientId: 'over-wss', transport: 'wss', persistentSession: false, subscriptions: [{ topic: 'cmd/b', qos: 0 }] },
    ]);
    expect(view.subscriptions).toEqual([
      { topic: 'cmd/a', qos: 1 },
      { topic: 'cmd/b', qos: 0 },
    ]);
    await closeAll(tls.c, ws);
  });
});

describe('clean session', () => {
  it("clean session true (MQTTX's default) gets commands while connected; once it is gone they are REFUSED", async () => {
    const device = await emulator.createDevice();
    const d = await client(device, 'mqttx', { clean: true });
    await d.c.subscribeAsync('cmd/#', { qos: 1 });
    const id = await emulator.invoke(device.instanceId, oneWay('cmd/now'));
    await emulator.waitForCommand(id, 'COMPLETED');
    await end(d.c, 'mqttx');
    const later = await emulator.invoke(device.instanceId, oneWay('cmd/later'));
    expect(emulator.command(later)!.delivery_status).toBe('REFUSED');
  });

  it("clean session false (Oracle's command-response sample) keeps its subscriptions: commands wait as PENDING and arrive on reconnect", async () => {
    const device = await emulator.createDevice();
    const d = await client(device, 'sample', { clean: false });
    await d.c.subscribeAsync('cmd/#', { qos: 1 });
    await end(d.c, 'sample');
    const id = await emulator.invoke(device.instanceId, oneWay('cmd/later'));
    expect(emulator.command(id)!.delivery_status).toBe('PENDING');
    const back = await client(device, 'sample', { clean: false });
    await emulator.waitForCommand(id, 'COMPLETED');
    expect(back.got.map((m) => m.topic)).toEqual(['cmd/later']);
    await back.c.endAsync();
  });
});
