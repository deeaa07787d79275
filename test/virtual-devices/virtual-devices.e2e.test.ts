/**
 * Virtual devices end to end: hosted by the emulator, logging in over its real MQTTS
 * listener, answering commands from templates after a delay on the manual clock, and
 * publishing telemetry from generators; stored, so they come back after a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type StartedEmulator } from '../../src/programmatic.js';
import { compileGenerator, defaultGenerators } from '../../src/virtual-devices/generators.js';
import { until } from '../support/harness.js';

const COMMAND = {
  requestDataFormat: 'JSON' as const,
  requestEndpoint: 'cmd/setpoint',
  requestDuration: 'PT3M',
  requestData: { temp: 33 },
  responseEndpoint: 'rsp/setpoint',
  responseDuration: 'PT3M',
};

let emu: StartedEmulator;
let dataDir: string;
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'oci-iot-vd-'));
  // Certificates the restart below keeps, as a user's certs/ directory; removed with dataDir.
  emu = await startEmulator({ dataDir, certsDir: join(dataDir, 'certs') });
});
afterAll(async () => {
  await emu?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Resolves once the device is online and subscribed to `topic`: re-checked each turn of the event loop. */
async function subscribed(e: StartedEmulator, instanceId: string, topic: string): Promise<void> {
  let ok = false;
  await until(() => {
    void e.devices.route(instanceId, topic).then((r) => (ok = r.online && r.qos !== null));
    return ok;
  });
}

const rawData = (instanceId: string) =>
  emu.sql(`select endpoint, cast(content as text) as content from raw_data where digital_twin_instance_id = '${instanceId}' order by id`).rows as Array<{ endpoint: string; content: string }>;

describe('virtual devices', () => {
  it('echo after a delay on the emulator clock: SENT, then COMPLETED with the request as the response', async () => {
    const device = await emu.createDevice({ displayName: 'echo-1' });
    const vd = emu.virtualDevices.create({ instanceId: device.instanceId, endpoints: ['cmd/#'], responseDelay: 'PT2S' });
    expect(vd).toMatchObject({ running: true, instanceId: device.instanceId, displayName: 'echo-1' });
    await subscribed(emu, device.instanceId, 'cmd/setpoint');

    const id = await emu.invoke(device.instanceId, COMMAND);
    await emu.waitForCommand(id, 'SENT');
    await until(() => emu.virtualDevices.traffic(vd.id).some((e) => e.kind === 'command'));
    expect(emu.command(id)!.delivery_status).toBe('SENT');
    emu.advance('PT2S');
    const row = await emu.waitForCommand(id, 'COMPLETED');
    expect(row.response_data).toBe('{"temp":33}');
    expect(emu.virtualDevices.traffic(vd.id).map((e) => e.kind)).toEqual(['connected', 'command', 'response']);
  });

  it('a jq template over the request, and a fixed JSON template', async () => {
    const a = await emu.createDevice();
    const b = await emu.createDevice();
    emu.virtualDevices.create({ instanceId: a.instanceId, response: { kind: 'jq', expression: '{applied: .temp, doubled: (.temp * 2)}' } });
    emu.virtualDevices.create({ instanceId: b.instanceId, response: { kind: 'json', value: { status: 'ok' } } });
    await subscribed(emu, a.instanceId, 'cmd/setpoint');
    await subscribed(emu, b.instanceId, 'cmd/setpoint');
    const [ia, ib] = [await emu.invoke(a.instanceId, COMMAND), await emu.invoke(b.instanceId, COMMAND)];
    expect((await emu.waitForCommand(ia, 'COMPLETED')).response_data).toBe('{"applied":33,"doubled":66}');
    expect((await emu.waitForCommand(ib, 'COMPLETED')).response_data).toBe('{"status":"ok"}');
  });

  it('a runaway jq template answers with its time-limit error, and meanwhile another device completes its command', async () => {
    const runaway = await emu.createDevice();
    const other = await emu.createDevice();
    emu.virtualDevices.create({ instanceId: runaway.instanceId, response: { kind: 'jq', expression: 'def f: f; f' } });
    emu.virtualDevices.create({ instanceId: other.instanceId });
    await subscribed(emu, runaway.instanceId, 'cmd/setpoint');
    await subscribed(emu, other.instanceId, 'cmd/setpoint');
    const stuck = await emu.invoke(runaway.instanceId, COMMAND);
    // The template runs in jq's worker; the event loop goes on serving the other device.
    const fine = await emu.invoke(other.instanceId, COMMAND);
    expect((await emu.waitForCommand(fine, 'COMPLETED')).response_data).toBe('{"temp":33}');
    expect((await emu.waitForCommand(stuck, 'COMPLETED')).response_data).toBe('{"error":"jq ran past 1000 ms"}');
  });

  it("its own responseEndpoint overrides the command's: it answers there, so the command is not answered and ends NOT_RESPONDED", async () => {
    const device = await emu.createDevice();
    const vd = emu.virtualDevices.create({ instanceId: device.instanceId, endpoints: ['cmd/#'], responseEndpoint: 'rsp/elsewhere' });
    await subscribed(emu, device.instanceId, 'cmd/setpoint');
    const id = await emu.invoke(device.instanceId, COMMAND);
    await until(() => emu.virtualDevices.traffic(vd.id).some((e) => e.kind === 'response'));
    expect(emu.virtualDevices.traffic(vd.id).find((e) => e.kind === 'response')).toMatchObject({ topic: 'rsp/elsewhere', payload: '{"temp":33}' });
    // The answer is the device's telemetry on rsp/elsewhere, not a response to the command on rsp/setpoint.
    await until(() => rawData(device.instanceId).length > 0);
    expect(rawData(device.instanceId)).toEqual([{ endpoint: 'rsp/elsewhere', content: '{"temp":33}' }]);
    emu.advance('PT3M');
    expect(emu.command(id)!.delivery_status).toBe('NOT_RESPONDED');
  });

  it('publishes telemetry from its generators on the emulator clock', async () => {
    const device = await emu.createDevice();
    const vd = emu.virtualDevices.create({
      instanceId: device.instanceId,
      response: null,
      telemetry: {
        endpoint: 'telemetry/room',
        every: 'PT10S',
        values: {
          mode: { kind: 'constant', value: 'heat' },
          count: { kind: 'ramp', start: 10, step: 5 },
          temp: { kind: 'sine', amplitude: 2, offset: 20, period: 'PT40S' },
          level: { kind: 'randomWalk', start: 50, step: 1, min: 0, max: 100, seed: 42 },
        },
      },
    });
    await until(() => emu.virtualDevices.get(vd.id).connected);
    emu.advance('PT30S');
    await until(() => rawData(device.instanceId).length === 3);
    const rows = rawData(device.instanceId).map((r) => ({ endpoint: r.endpoint, ...JSON.parse(r.content) }));
    expect(rows.map((r) => [r.endpoint, r.mode, r.count, r.temp])).toEqual([
      ['telemetry/room', 'heat', 15, 22],
      ['telemetry/room', 'heat', 20, 20],
      ['telemetry/room', 'heat', 25, 18],
    ]);
    expect(rows.every((r) => r.level >= 47 && r.level <= 53)).toBe(true);
    expect(emu.virtualDevices.get(vd.id).telemetrySent).toBe(3);
  });

  it('stop and start over REST: a stopped virtual device is offline and its commands are REFUSED', async () => {
    const device = await emu.createDevice();
    const vd = emu.virtualDevices.create({ instanceId: device.instanceId });
    await subscribed(emu, device.instanceId, 'cmd/setpoint');
    const stopped = await fetch(`${emu.restUrl}/emulator/virtual-devices/${vd.id}/stop`, { method: 'POST' });
    expect(await stopped.json()).toMatchObject({ running: false, connected: false });
    await until(() => !emu.devices.isOnline(device.instanceId));
    const refused = await emu.invoke(device.instanceId, COMMAND);
    expect(emu.command(refused)!.delivery_status).toBe('REFUSED');

    const started = await fetch(`${emu.restUrl}/emulator/virtual-devices/${vd.id}/start`, { method: 'POST' });
    expect(started.status).toBe(200);
    await subscribed(emu, device.instanceId, 'cmd/setpoint');
    const id = await emu.invoke(device.instanceId, COMMAND);
    await emu.waitForCommand(id, 'COMPLETED');
  });

  it('device faults apply to virtual devices like any device', async () => {
    const device = await emu.createDevice();
    emu.virtualDevices.create({ instanceId: device.instanceId });
    await subscribed(emu, device.instanceId, 'cmd/setpoint');
    const fault = emu.faults.set({ instanceId: device.instanceId, kind: 'withholdResponse', count: 1 });
    const id = await emu.invoke(device.instanceId, COMMAND);
    await until(() => emu.faults.get(fault.id).applied === 1);
    emu.advance('PT3M');
    expect(emu.command(id)!.delivery_status).toBe('NOT_RESPONDED');
  });

  it('bad input is a 400 with the reason, and adds nothing', async () => {
    const device = await emu.createDevice();
    const before = emu.virtualDevices.list().length;
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ instanceId: 'ocid1.iotdigitaltwininstance.oc1..nope' }, /does not exist/],
      [{ instanceId: device.instanceId, response: { kind: 'jq', expression: '{a: .b' } }, /jq expression does not compile: .*syntax error/],
      [{ instanceId: device.instanceId, responseDelay: '-PT1S' }, /responseDelay "-PT1S"/],
      [{ instanceId: device.instanceId, responseEndpoint: 'rsp/#' }, /may not contain \+ or #/],
      [{ instanceId: device.instanceId, telemetry: { endpoint: 't', every: 'often', values: { a: { kind: 'constant', value: 1 } } } }, /telemetry.every "often"/],
      [{ instanceId: device.instanceId, telemetry: { endpoint: 't', every: 'PT1S', values: { a: { kind: 'noise' } } } }, /telemetry value a: kind must be one of constant, ramp, sine, randomWalk/],
      [{ instanceId: device.instanceId, telemetry: { endpoint: 't', every: 'PT1S' } }, /must name at least one value/],
      [{ instanceId: device.instanceId, endpoints: ['$SYS/#'] }, /may not start with \$/],
    ];
    for (const [body, reason] of bad) {
      const res = await fetch(`${emu.restUrl}/emulator/virtual-devices`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const reply = (await res.json()) as { code: string; message: string };
      expect(res.status, `${JSON.stringify(body)}: ${reply.message}`).toBe(400);
      expect(reply.message).toMatch(reason);
    }
    expect(emu.virtualDevices.list()).toHaveLength(before);
    emu.virtualDevices.create({ instanceId: device.instanceId });
    const twice = await fetch(`${emu.restUrl}/emulator/virtual-devices`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instanceId: device.instanceId }) });
    expect(twice.status).toBe(409);
  });

  it('with a DTDL model and its default adapter, it publishes a value for each telemetry property: data with no code', async () => {
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${emu.restUrl}/20250531/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const json = (await res.json()) as { id: string; message?: string };
      expect(res.status, json.message).toBe(200);
      return json;
    };
    const spec = {
      '@context': ['dtmi:dtdl:context;3', 'dtmi:dtdl:extension:historization;1'],
      '@id': 'dtmi:example:virtual:room;1',
      '@type': 'Interface',
      contents: [
        { '@type': ['Telemetry', 'Historized'], name: 'temperature', schema: 'double' },
        { '@type': ['Telemetry', 'Historized'], name: 'occupancy', schema: 'integer' },
        { '@type': ['Telemetry', 'Historized'], name: 'label', schema: 'string' },
        { '@type': 'Property', name: 'setpoint', schema: 'double' },
      ],
    };
    const model = await post('digitalTwinModels', { iotDomainId: emu.domain.id, spec });
    const adapter = await post('digitalTwinAdapters', { iotDomainId: emu.domain.id, digitalTwinModelId: model.id });
    const device = await emu.createDevice({ displayName: 'room-1', digitalTwinAdapterId: adapter.id });

    const vd = emu.virtualDevices.create({ instanceId: device.instanceId });
    expect(Object.keys(vd.config.telemetry!.values!)).toEqual(['temperature', 'occupancy', 'label']);
    await emu.virtualDevices.ready(vd.id);
    emu.advance('PT10S');
    await until(() => (emu.sql(`select count(*) as n from historized_data where digital_twin_instance_id = '${device.instanceId}'`).rows[0] as { n: number }).n === 3);
    const rows = emu.sql(`select content_path, value from historized_data where digital_twin_instance_id = '${device.instanceId}' order by content_path`).rows;
    expect(rows.map((r) => (r as { content_path: string }).content_path)).toEqual(['label', 'occupancy', 'temperature']);
    const content = await fetch(`${emu.restUrl}/20250531/digitalTwinInstances/${device.instanceId}/content`).then((r) => r.json() as Promise<Record<string, unknown>>);
    expect(content).toMatchObject({ label: 'ok', occupancy: expect.any(Number), temperature: expect.any(Number) });
  });

  it('stops when its instance is deleted, and follows a change of its credentials', async () => {
    const device = await emu.createDevice();
    const vd = emu.virtualDevices.create({ instanceId: device.instanceId });
    await emu.virtualDevices.ready(vd.id);
    // New credentials: a new secret as the instance's authId; the broker closes the old session.
    const secret = await fetch(`${emu.restUrl}/20180608/secrets`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ secretContent: { contentType: 'BASE64', content: Buffer.from('rotated-password').toString('base64') } }),
    }).then((r) => r.json() as Promise<{ id: string }>);
    const instance = await fetch(`${emu.restUrl}/20250531/digitalTwinInstances/${device.instanceId}`).then((r) => r.json() as Promise<Record<string, unknown>>);
    const updated = await fetch(`${emu.restUrl}/20250531/digitalTwinInstances/${device.instanceId}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ authId: secret.id, displayName: instance.displayName }),
    });
    expect(updated.status).toBe(200);
    await until(() => emu.virtualDevices.traffic(vd.id).filter((e) => e.kind === 'connected').length === 2);
    await emu.virtualDevices.ready(vd.id);
    const id = await emu.invoke(device.instanceId, COMMAND);
    await emu.waitForCommand(id, 'COMPLETED');

    expect((await fetch(`${emu.restUrl}/20250531/digitalTwinInstances/${device.instanceId}`, { method: 'DELETE' })).status).toBe(204);
    await until(() => !emu.virtualDevices.get(vd.id).running);
    await until(() => emu.virtualDevices.traffic(vd.id).some((e) => e.message === 'its instance was deleted: stopped'));
  });

  it('survives a restart: stored as configuration, it connects again and answers', async () => {
    const device = await emu.createDevice({ displayName: 'persistent' });
    const vd = emu.virtualDevices.create({ instanceId: device.instanceId, response: { kind: 'json', value: { back: true } } });
    await emu.close();
    emu = await startEmulator({ dataDir, certsDir: join(dataDir, 'certs') });
    expect(emu.virtualDevices.get(vd.id)).toMatchObject({ running: true, instanceId: device.instanceId });
    await subscribed(emu, device.instanceId, 'cmd/setpoint');
    const id = await emu.invoke(device.instanceId, COMMAND);
    expect((await emu.waitForCommand(id, 'COMPLETED')).response_data).toBe('{"back":true}');
  });
});

describe('generators', () => {
  it('ramp wraps within min and max; randomWalk repeats with its seed', () => {
    const ramp = compileGenerator('r', { kind: 'ramp', start: 0, step: 4, min: 0, max: 10 });
    expect([0, 1, 2, 3, 4].map((n) => ramp(n, 0))).toEqual([0, 4, 8, 2, 6]);
    // docs/test-control-reference.md: values stay in [min, max); a falling ramp wraps to just below max.
    const down = compileGenerator('d', { kind: 'ramp', start: 100, step: -1, min: 20, max: 100 });
    expect([1, 2, 80, 81].map((n) => down(n, 0))).toEqual([99, 98, 20, 99]);
    // With only one of min and max, no wrapping at all; the defaults are start 0, step 1.
    expect([0, 1, 2].map((n) => compileGenerator('o', { kind: 'ramp', start: 5, step: 2, max: 6 })(n, 0))).toEqual([5, 7, 9]);
    expect([0, 1, 2].map((n) => compileGenerator('z', { kind: 'ramp' })(n, 0))).toEqual([0, 1, 2]);
    expect(compileGenerator('c', { kind: 'constant', value: { mode: 'eco' } })(7, 70_000)).toEqual({ mode: 'eco' });
    const a = compileGenerator('w', { kind: 'randomWalk', seed: 7, step: 2 });
    const b = compileGenerator('w', { kind: 'randomWalk', seed: 7, step: 2 });
    expect([1, 2, 3, 10].map((n) => a(n, 0))).toEqual([1, 2, 3, 10].map((n) => b(n, 0)));
  });

  it('a DTDL model gives one value per telemetry property whose schema it can make up', () => {
    const values = defaultGenerators([
      { name: 'temperature', schema: 'double' },
      { name: 'humidity', schema: 'integer' },
      { name: 'on', schema: 'boolean' },
      { name: 'status', schema: 'string' },
      { name: 'location', schema: { '@type': 'Object', fields: [] } },
    ]);
    expect(Object.keys(values)).toEqual(['temperature', 'humidity', 'on', 'status']);
    expect(values.temperature.kind).toBe('sine');
    expect(compileGenerator('humidity', values.humidity)(1, 0)).toEqual(expect.any(Number));
  });
});
