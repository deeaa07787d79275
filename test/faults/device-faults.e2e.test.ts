/**
 * Device faults end to end: a real emulator, MQTT.js devices over TLS, faults set and
 * cleared over REST, the manual clock. Every fault's effect on the state table is asserted
 * through the `command_events` row whose cause names the fault.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SEED_COMMAND, startTestEmulator, until, type Device, type TestEmulator } from '../support/harness.js';

const MIN = 60_000;
let t: TestEmulator;

beforeEach(async () => {
  t = await startTestEmulator();
});
afterEach(async () => {
  await t.close();
});

const events = (id: number) => t.events(id);
const causes = (id: number) => events(id).map((e) => e.cause);
const trail = (id: number) => events(id).map((e) => `${e.from_status ?? '∅'}→${e.to_status}`);

async function setFault(body: Record<string, unknown>): Promise<{ id: number; applied: number; active: boolean }> {
  const res = await t.rest('POST', '/emulator/faults', body);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

const ONE_WAY = { requestDataFormat: 'JSON', requestEndpoint: '/endpoints/1234', requestDuration: 'PT3M', requestData: { go: 1 } };

async function onlineDevice(opts: { clientId?: string; clean?: boolean } = {}): Promise<{ device: Device; d: Awaited<ReturnType<TestEmulator['connect']>> }> {
  const device = await t.createDevice();
  const d = await t.connect(device, { subscribe: [['/endpoints/1234', 1]], ...opts });
  return { device, d };
}

describe('device faults', () => {
  it('drop: the next command never reaches the device and ends NOT_RESPONDED; the one after is delivered', async () => {
    const { device, d } = await onlineDevice();
    const fault = await setFault({ instanceId: device.instanceId, kind: 'drop', count: 1 });

    const dropped = await t.invoke(device.instanceId, { ...SEED_COMMAND, requestData: { n: 1 } });
    // Its own response endpoint: a response completes the oldest command waiting on its topic.
    const delivered = await t.invoke(device.instanceId, { ...SEED_COMMAND, requestData: { n: 2 }, responseEndpoint: '/endpoints/4322' });
    const msg = await d.next('/endpoints/1234');
    expect(JSON.parse(msg.payload.toString())).toEqual({ n: 2 });
    await d.client.publishAsync('/endpoints/4322', '{"ok":true}', { qos: 1 });
    await t.waitFor(delivered, 'COMPLETED');

    t.advance(3 * MIN);
    expect(t.command(dropped).delivery_status).toBe('NOT_RESPONDED');
    expect(causes(dropped)).toContain(`fault ${fault.id} (drop): command dropped on the way to the device (never written)`);
    expect(trail(dropped)).toEqual(['∅→PENDING', 'PENDING→SENT', 'SENT→SENT', 'SENT→NOT_RESPONDED']);
    expect(causes(delivered).some((c) => c.startsWith('fault'))).toBe(false);
    expect(d.received).toHaveLength(0);
    expect((await t.rest('GET', `/emulator/faults/${fault.id}`)).body).toMatchObject({ applied: 1, remaining: 0, active: false });
  });

  it('a device with several connections: a fault decides once per command, for every copy', async () => {
    const device = await t.createDevice();
    const a = await t.connect(device, { clientId: 'shell-a', subscribe: [['/endpoints/1234', 1]] });
    const b = await t.connect(device, { clientId: 'shell-b', subscribe: [['/endpoints/1234', 1]] });
    const fault = await setFault({ instanceId: device.instanceId, kind: 'drop', count: 1 });
    const dropped = await t.invoke(device.instanceId, { ...ONE_WAY, requestData: { n: 1 } });
    const delivered = await t.invoke(device.instanceId, { ...ONE_WAY, requestData: { n: 2 } });
    const got = [await a.next('/endpoints/1234'), await b.next('/endpoints/1234')].map((m) => JSON.parse(m.payload.toString()).n);
    expect(got).toEqual([2, 2]);
    await t.waitFor(delivered, 'COMPLETED');
    expect(causes(dropped).filter((c) => c.startsWith(`fault ${fault.id} (drop)`))).toHaveLength(1);
    expect((await t.rest('GET', `/emulator/faults/${fault.id}`)).body).toMatchObject({ considered: 1, applied: 1 });
    t.advance(3 * MIN);
    expect(t.command(dropped).delivery_status).toBe('EXPIRED');
  });

  it('drop a fraction: every second command is dropped, deterministically', async () => {
    const { device, d } = await onlineDevice();
    const fault = await setFault({ instanceId: device.instanceId, kind: 'drop', fraction: 0.5 });
    const ids: number[] = [];
    for (let n = 1; n <= 4; n++) ids.push(await t.invoke(device.instanceId, { ...ONE_WAY, requestData: { n } }));
    await t.waitFor(ids[0], 'COMPLETED');
    await t.waitFor(ids[2], 'COMPLETED');
    t.advance(3 * MIN);
    expect(ids.map((id) => t.command(id).delivery_status)).toEqual(['COMPLETED', 'EXPIRED', 'COMPLETED', 'EXPIRED']);
    for (const id of [ids[1], ids[3]]) expect(causes(id)).toContain(`fault ${fault.id} (drop): command dropped on the way to the device (never written)`);
    const got = [await d.next('/endpoints/1234'), await d.next('/endpoints/1234')].map((m) => JSON.parse(m.payload.toString()).n);
    expect(got).toEqual([1, 3]);
    expect((await t.rest('GET', `/emulator/faults/${fault.id}`)).body).toMatchObject({ considered: 4, applied: 2, active: true });
  });

  it('delay: delivery waits on the emulator clock, then the device answers and the command completes', async () => {
    const { device, d } = await onlineDevice();
    const fault = await setFault({ instanceId: device.instanceId, kind: 'delay', delay: 'PT30S', count: 1 });
    const id = await t.invoke(device.instanceId, SEED_COMMAND);
    expect(t.command(id).delivery_status).toBe('SENT');
    expect(causes(id).at(-1)).toMatch(new RegExp(`^fault ${fault.id} \\(delay\\): delivery held for PT30S, until `));

    t.advance(29_000);
    expect(d.received).toHaveLength(0);
    t.advance(1_000);
    const msg = await d.next('/endpoints/1234');
    expect(JSON.parse(msg.payload.toString())).toEqual({ temp: 33 });
    await d.client.publishAsync('/endpoints/4321', '{"late":false}', { qos: 1 });
    await t.waitFor(id, 'COMPLETED');
    expect(causes(id).some((c) => c.startsWith(`fault ${fault.id} (delay): held delivery written to `))).toBe(true);
  });

  it('delay longer than responseDuration: the command is NOT_RESPONDED before the device even sees it', async () => {
    const { device } = await onlineDevice();
    const fault = await setFault({ instanceId: device.instanceId, kind: 'delay', delay: 'PT5M' });
    const id = await t.invoke(device.instanceId, SEED_COMMAND);
    t.advance(3 * MIN);
    expect(t.command(id).delivery_status).toBe('NOT_RESPONDED');
    expect(causes(id).some((c) => c.startsWith(`fault ${fault.id} (delay): delivery held for PT5M`))).toBe(true);
  });

  it('withholdPuback: the device acknowledges, the platform never hears it, and a one-way command ends EXPIRED', async () => {
    const { device, d } = await onlineDevice();
    const fault = await setFault({ instanceId: device.instanceId, kind: 'withholdPuback' });
    const id = await t.invoke(device.instanceId, ONE_WAY);
    await d.next('/endpoints/1234');
    const cause = `fault ${fault.id} (withholdPuback): the device's PUBACK was withheld (never reached the platform)`;
    await until(() => causes(id).includes(cause));
    expect(t.command(id).delivery_status).toBe('SENT');
    t.advance(3 * MIN);
    expect(t.command(id).delivery_status).toBe('EXPIRED');
    expect(trail(id)).toEqual(['∅→PENDING', 'PENDING→SENT', 'SENT→SENT', 'SENT→EXPIRED']);
  });

  it('withholdResponse: the device answers, the answer is lost, and the command ends NOT_RESPONDED', async () => {
    const { device, d } = await onlineDevice();
    const fault = await setFault({ instanceId: device.instanceId, kind: 'withholdResponse', count: 1 });
    const id = await t.invoke(device.instanceId, SEED_COMMAND);
    await d.next('/endpoints/1234');
    // The device gets its PUBACK: the answer is lost on the platform's side, as if after the broker.
    const pubacks: Array<number | undefined> = [];
    d.client.on('packetreceive', (p) => void (p.cmd === 'puback' && pubacks.push(p.messageId)));
    const sent = await d.client.publishAsync('/endpoints/4321', '{"ok":true}', { qos: 1 });
    expect(pubacks).toEqual([sent!.messageId]);
    expect(causes(id)).toContain(`fault ${fault.id} (withholdResponse): the device's response on /endpoints/4321 was withheld (never reached the platform)`);
    expect(t.command(id).delivery_status).toBe('SENT');
    t.advance(3 * MIN);
    expect(t.command(id).delivery_status).toBe('NOT_RESPONDED');
    // Not a late response either: nothing of it was stored.
    expect(t.emu.db.prepare('SELECT count(*) AS n FROM raw_data').get()).toEqual({ n: 0 });
  });

  it("withholdResponse on a gateway: its INDIRECT instance's answer is lost too, and the command ends NOT_RESPONDED", async () => {
    const gateway = await t.createDevice({ connectivityType: 'GATEWAY' });
    const indirect = await t.rest('POST', '/20250531/digitalTwinInstances', { iotDomainId: t.emu.domain.id, connectivityType: 'INDIRECT', externalKey: 'm5-01', gateways: [gateway.instanceId] });
    expect(indirect.status, JSON.stringify(indirect.body)).toBe(200);
    const g = await t.connect(gateway, { subscribe: [['/endpoints/1234', 1]] });
    const fault = await setFault({ instanceId: gateway.instanceId, kind: 'withholdResponse', count: 1 });
    const id = await t.invoke(indirect.body.id, SEED_COMMAND);
    await g.next('/endpoints/1234');
    await g.client.publishAsync('/endpoints/4321', '{"ok":true}', { qos: 1 });
    expect(causes(id)).toContain(`fault ${fault.id} (withholdResponse): the device's response on /endpoints/4321 was withheld (never reached the platform)`);
    expect(t.command(id).delivery_status).toBe('SENT');
    t.advance(3 * MIN);
    expect(t.command(id).delivery_status).toBe('NOT_RESPONDED');
    expect(t.emu.db.prepare('SELECT count(*) AS n FROM raw_data').get()).toEqual({ n: 0 });
  });

  it('duplicate: the device gets the command twice, the copy flagged DUP with the same packet id; it completes once', async () => {
    const { device, d } = await onlineDevice();
    const fault = await setFault({ instanceId: device.instanceId, kind: 'duplicate', count: 1 });
    const packets: Array<{ dup: boolean; messageId?: number }> = [];
    d.client.on('packetreceive', (p) => void (p.cmd === 'publish' && packets.push({ dup: p.dup, messageId: p.messageId })));
    const id = await t.invoke(device.instanceId, SEED_COMMAND);
    const first = await d.next('/endpoints/1234');
    const second = await d.next('/endpoints/1234');
    expect([first.dup, second.dup]).toEqual([false, true]);
    expect(packets[1].messageId).toBe(packets[0].messageId);
    await d.client.publishAsync('/endpoints/4321', '{"ok":true}', { qos: 1 });
    await t.waitFor(id, 'COMPLETED');
    expect(causes(id)).toContain(`fault ${fault.id} (duplicate): delivered twice, the second copy flagged DUP with the same packet id`);
    expect(trail(id).filter((s) => s.endsWith('COMPLETED'))).toHaveLength(1);
  });

  it('disconnect now: the device is dropped in the middle of a command, which ends NOT_RESPONDED', async () => {
    const { device, d } = await onlineDevice();
    const id = await t.invoke(device.instanceId, SEED_COMMAND);
    await d.next('/endpoints/1234');
    const closed = new Promise<void>((resolve) => d.client.once('close', () => resolve()));
    const fault = await setFault({ instanceId: device.instanceId, kind: 'disconnect' });
    expect(fault).toMatchObject({ applied: 1, active: false });
    await closed;
    expect(causes(id)).toContain(`fault ${fault.id} (disconnect): device disconnected`);
    t.advance(3 * MIN);
    expect(t.command(id).delivery_status).toBe('NOT_RESPONDED');
  });

  it('disconnect after N commands: the N-th command is written, then the connection drops', async () => {
    const { device, d } = await onlineDevice();
    const fault = await setFault({ instanceId: device.instanceId, kind: 'disconnect', afterCommands: 2 });
    const first = await t.invoke(device.instanceId, { ...SEED_COMMAND, requestData: { n: 1 } });
    await d.next('/endpoints/1234');
    await d.client.publishAsync('/endpoints/4321', '{"ok":1}', { qos: 1 });
    await t.waitFor(first, 'COMPLETED');

    const closed = new Promise<void>((resolve) => d.client.once('close', () => resolve()));
    const second = await t.invoke(device.instanceId, { ...SEED_COMMAND, requestData: { n: 2 } });
    await closed;
    expect(causes(second)).toContain(`fault ${fault.id} (disconnect): device disconnected right after this command was written (command 2 since the fault was set)`);
    t.advance(3 * MIN);
    expect(t.command(second).delivery_status).toBe('NOT_RESPONDED');
    expect(causes(first).some((c) => c.startsWith('fault'))).toBe(false);
  });

  it('refuseLogin: the next N logins get CONNACK 3; a PENDING command waits, then is delivered on the login after', async () => {
    const device = await t.createDevice();
    const first = await t.connect(device, { clientId: 'dev-1', clean: false, subscribe: [['/endpoints/1234', 1]] });
    await first.close();
    const id = await t.invoke(device.instanceId, SEED_COMMAND);
    expect(t.command(id).delivery_status).toBe('PENDING');

    const fault = await setFault({ instanceId: device.instanceId, kind: 'refuseLogin', count: 2 });
    for (let i = 0; i < 2; i++) {
      await expect(t.connect(device, { clientId: 'dev-1', clean: false })).rejects.toMatchObject({ code: 3 });
    }
    expect(causes(id).filter((c) => c === `fault ${fault.id} (refuseLogin): the device's login was refused (CONNACK 3)`)).toHaveLength(2);
    const back = await t.connect(device, { clientId: 'dev-1', clean: false });
    await back.next('/endpoints/1234');
    await t.waitFor(id, 'SENT');
  });

  it('refuseLogin until cleared: a PENDING command EXPIRES and its history says why', async () => {
    const device = await t.createDevice();
    const first = await t.connect(device, { clientId: 'dev-1', clean: false, subscribe: [['/endpoints/1234', 1]] });
    await first.close();
    const id = await t.invoke(device.instanceId, SEED_COMMAND);
    const fault = await setFault({ instanceId: device.instanceId, kind: 'refuseLogin', returnCode: 5 });
    await expect(t.connect(device, { clientId: 'dev-1', clean: false })).rejects.toMatchObject({ code: 5 });
    t.advance(3 * MIN);
    expect(t.command(id).delivery_status).toBe('EXPIRED');
    expect(causes(id)).toEqual([
      'accepted; waiting for the device to reconnect',
      `fault ${fault.id} (refuseLogin): the device's login was refused (CONNACK 5)`,
      'not delivered within requestDuration PT3M',
    ]);
  });

  it('clearing a fault ends it: the next command is delivered as usual', async () => {
    const { device, d } = await onlineDevice();
    const fault = await setFault({ instanceId: device.instanceId, kind: 'drop' });
    const cleared = await t.rest('DELETE', `/emulator/faults/${fault.id}`);
    expect(cleared.status).toBe(200);
    expect(cleared.body.items[0]).toMatchObject({ id: fault.id, active: false });
    expect(cleared.body.items[0].timeCleared).toBeTruthy();
    const id = await t.invoke(device.instanceId, ONE_WAY);
    await d.next('/endpoints/1234');
    await t.waitFor(id, 'COMPLETED');
  });

  it('faults are stored: one in force before a restart is in force after it', async () => {
    await t.close();
    const dataDir = mkdtempSync(join(tmpdir(), 'oci-iot-faults-'));
    t = await startTestEmulator({ dataDir });
    const device = await t.createDevice();
    const fault = await setFault({ instanceId: device.instanceId, kind: 'drop', count: 3 });
    await t.close();
    t = await startTestEmulator({ dataDir });
    expect((await t.rest('GET', `/emulator/faults/${fault.id}`)).body).toMatchObject({ kind: 'drop', remaining: 3, active: true });
    const d = await t.connect(device, { subscribe: [['/endpoints/1234', 1]] });
    const id = await t.invoke(device.instanceId, ONE_WAY);
    expect(causes(id)).toContain(`fault ${fault.id} (drop): command dropped on the way to the device (never written)`);
    expect(d.received).toHaveLength(0);
    await t.close();
    rmSync(dataDir, { recursive: true, force: true });
    t = await startTestEmulator(); // for afterEach
  });

  it('bad input is a 400 with the reason, and sets nothing', async () => {
    const device = await t.createDevice();
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ instanceId: 'ocid1.iotdigitaltwininstance.oc1..nope', kind: 'drop' }, /does not exist/],
      [{ instanceId: device.instanceId, kind: 'explode' }, /not a device fault/],
      [{ instanceId: device.instanceId, kind: 'drop', count: -1 }, /count -1 must be a whole number of at least 1/],
      [{ instanceId: device.instanceId, kind: 'drop', count: 0 }, /count 0/],
      [{ instanceId: device.instanceId, kind: 'drop', fraction: 1.5 }, /fraction 1.5/],
      [{ instanceId: device.instanceId, kind: 'delay', delay: '-PT1S' }, /delay "-PT1S"/],
      [{ instanceId: device.instanceId, kind: 'delay' }, /delay is required/],
      [{ instanceId: device.instanceId, kind: 'disconnect', afterCommands: 0 }, /afterCommands 0/],
      [{ instanceId: device.instanceId, kind: 'duplicate', delay: 'PT1S' }, /delay does not apply to a duplicate fault/],
      [{ instanceId: device.instanceId, kind: 'refuseLogin', returnCode: 1 }, /returnCode 1/],
      [{ kind: 'drop' }, /give instanceId/],
    ];
    for (const [body, reason] of bad) {
      const res = await t.rest('POST', '/emulator/faults', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.code).toBe('InvalidParameter');
      expect(res.body.message).toMatch(reason);
    }
    expect((await t.rest('GET', '/emulator/faults')).body.items).toEqual([]);
    expect((await t.rest('DELETE', '/emulator/faults/99')).status).toBe(404);
  });
});
