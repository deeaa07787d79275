/**
 * What one device or one model can do to everyone else, over real MQTTS, WSS and HTTPS: a
 * DTDL pattern that backtracks catastrophically, adapters that run away, payloads nested
 * 5,000 levels deep, huge or not UTF-8. Each costs only its own message (a rejected_data
 * row with a reason, its raw_data kept); another device's commands complete meanwhile.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDevice } from '../../src/programmatic.js';
import { devicePost, startTestEmulator, until, type TestEmulator } from '../support/harness.js';

let t: TestEmulator;
let domainId: string;

beforeAll(async () => {
  t = await startTestEmulator({ adapterTimeLimit: 'PT0.1S' });
  domainId = t.emu.domain.id;
});
afterAll(() => t?.close());

const COMMAND = {
  requestDataFormat: 'JSON' as const,
  requestEndpoint: 'cmd/ping',
  requestDuration: 'PT3M',
  requestData: { ping: 1 },
  responseEndpoint: 'cmd/pong',
  responseDuration: 'PT3M',
};

/** A device that answers every command it gets. */
async function responder(): Promise<TestDevice> {
  const device = await t.createDevice();
  const d = await t.connect(device, { subscribe: [[COMMAND.requestEndpoint, 1]] });
  d.client.on('message', (topic) => {
    if (topic === COMMAND.requestEndpoint) d.client.publish(COMMAND.responseEndpoint, '{"pong":1}', { qos: 1 });
  });
  return device;
}

async function model(spec: Record<string, unknown>) {
  return t.rest('POST', '/20250531/digitalTwinModels', { iotDomainId: domainId, spec });
}

/** A device whose messages go through an adapter of `spec` (the default adapter unless routes are given). */
async function adaptedDevice(spec: Record<string, unknown>, adapter: Record<string, unknown> = {}): Promise<TestDevice> {
  const m = await model(spec);
  expect(m.status).toBe(200);
  const a = await t.rest('POST', '/20250531/digitalTwinAdapters', { iotDomainId: domainId, digitalTwinModelId: m.body.id, ...adapter });
  expect(a.status).toBe(200);
  return t.createDevice({ digitalTwinAdapterId: a.body.id });
}

const rows = (table: string, instanceId: string) =>
  t.emu.db.prepare(`SELECT * FROM ${table} WHERE digital_twin_instance_id = ? ORDER BY rowid`).all(instanceId) as Array<Record<string, any>>;

describe('DTDL patterns run on RE2', () => {
  const spec = (pattern: unknown, id: string) => ({
    '@context': ['dtmi:dtdl:context;3', 'dtmi:com:oracle:dtdl:extension:validation;1'],
    '@id': `dtmi:com:example:pattern:${id};1`,
    '@type': 'Interface',
    contents: [{ '@type': ['Telemetry', 'Validated'], name: 'v', schema: 'string', pattern }],
  });

  it('a pattern RE2 cannot run (backreference, lookaround) is refused at create with 400 naming it and why', async () => {
    for (const [pattern, why] of [
      ['^(a)\\1$', /invalid escape sequence: `\\1`/],
      ['^(?=a)b', /unsupported Perl syntax: `\(\?=`/],
      ['^(?!x)', /unsupported Perl syntax: `\(\?!`/],
      ['(?<=a)b', /invalid named capture/],
      ['[', /missing closing \]/],
    ] as const) {
      const res = await model(spec(pattern, 'bad'));
      expect(res.status, pattern).toBe(400);
      expect(res.body.code).toBe('InvalidParameter');
      expect(res.body.message).toContain(`pattern ${JSON.stringify(pattern)} is not a regular expression the emulator runs`);
      expect(res.body.message).toContain('no backreferences or lookaround');
      expect(res.body.message).toMatch(why);
    }
    const listed = await t.rest('GET', `/20250531/digitalTwinModels?iotDomainId=${domainId}&specUriStartsWith=dtmi:com:example:pattern:bad`);
    expect(listed.body.items).toEqual([]);
  });

  it('^(a+)+$ against "aaaa…!" is a prompt rejection, and another device\'s command completes meanwhile', async () => {
    const sender = await adaptedDevice(spec('^(a+)+$', 'redos'));
    const other = await responder();
    const client = await mqtt.connectAsync(sender.mqttOptions);
    try {
      const evil = `${'a'.repeat(29)}!`;
      const published = client.publishAsync('telemetry', JSON.stringify({ v: evil }), { qos: 1 });
      const id = await t.invoke(other.instanceId, COMMAND);
      await published;
      await t.waitFor(id, 'COMPLETED');
      await client.publishAsync('telemetry', JSON.stringify({ v: 'aaaa' }), { qos: 1 });
      await until(() => t.emu.telemetry.pending() === 0);
      const rejected = rows('rejected_data', sender.instanceId);
      expect(rejected.map((r) => [r.reason_code, r.reason_message])).toEqual([
        [400, `Value does not fit the model: v: ${JSON.stringify(evil)} does not match the pattern ^(a+)+$`],
      ]);
      expect(rows('snapshot_data', sender.instanceId).map((r) => r.value)).toEqual(['"aaaa"']);
      expect(rows('raw_data', sender.instanceId)).toHaveLength(2);
    } finally {
      await client.endAsync();
    }
  });
});

describe('a runaway adapter costs its own messages their time limit, not other devices', () => {
  it('an expression jq runs away with while compiling it ("a" * 1e8, folded as a constant) is refused at create with 400', async () => {
    const m = await model({
      '@context': ['dtmi:dtdl:context;3'],
      '@id': 'dtmi:com:example:folded;1',
      '@type': 'Interface',
      contents: [{ '@type': 'Telemetry', name: 'n', schema: 'double' }],
    });
    const res = await t.rest('POST', '/20250531/digitalTwinAdapters', {
      iotDomainId: domainId,
      digitalTwinModelId: m.body.id,
      inboundRoutes: [{ condition: '*', payloadMapping: { '$.n': '${"a" * 1e8 | length}' } }],
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('InvalidParameter');
    const expression = '${"a" * 1e8 | length}';
    expect(res.body.message).toContain(`inboundRoutes[0].payloadMapping["$.n"]: jq does not compile ${JSON.stringify(expression)}: compiling it took longer than 1000 ms`);
  });

  it('runaway messages end in rejected_data (504, with the reason) while another device\'s commands complete', async () => {
    const sender = await adaptedDevice(
      {
        '@context': ['dtmi:dtdl:context;3'],
        '@id': 'dtmi:com:example:runaway;1',
        '@type': 'Interface',
        contents: [{ '@type': 'Telemetry', name: 'n', schema: 'double' }],
      },
      {
        inboundEnvelope: { referenceEndpoint: 'loop' },
        inboundRoutes: [
          { condition: '${endpoint(1) == "loop"}', payloadMapping: { '$.n': '${def f: f; f}' } },
          { condition: '${endpoint(1) == "range"}', payloadMapping: { '$.n': '${[range(1e8)] | length}' } },
          { condition: '${endpoint(1) == "repeat"}', payloadMapping: { '$.n': '${"a" * (1e8 + .i) | length}' } },
        ],
      },
    );
    const other = await responder();
    const client = await mqtt.connectAsync(sender.mqttOptions);
    try {
      const topics = ['loop', 'range', 'repeat'];
      const published = Promise.all(Array.from({ length: 9 }, (_, i) => client.publishAsync(topics[i % 3], JSON.stringify({ i }), { qos: 1 })));
      const completed: number[] = [];
      // Commands one after another while the runaways are cut off one by one.
      while (rows('rejected_data', sender.instanceId).length < 9) {
        const id = await t.invoke(other.instanceId, COMMAND);
        completed.push((await t.waitFor(id, 'COMPLETED')).id);
      }
      await published;
      expect(completed.length).toBeGreaterThan(0);
      const rejected = rows('rejected_data', sender.instanceId);
      expect(rejected.map((r) => [r.reason_code, r.reason_message])).toEqual(
        Array.from({ length: 9 }, () => [504, 'Adapter expressions ran longer than 100 ms and were stopped']),
      );
      expect(new Set(rejected.map((r) => r.endpoint))).toEqual(new Set(topics));
      expect(rows('raw_data', sender.instanceId)).toHaveLength(9);
      // Another device's telemetry through an adapter of its own is mapped as ever.
      const calm = await adaptedDevice({
        '@context': ['dtmi:dtdl:context;3'],
        '@id': 'dtmi:com:example:calm;1',
        '@type': 'Interface',
        contents: [{ '@type': 'Telemetry', name: 'n', schema: 'double' }],
      });
      const calmClient = await mqtt.connectAsync(calm.mqttOptions);
      await calmClient.publishAsync('calm', JSON.stringify({ n: 7 }), { qos: 1 });
      await calmClient.endAsync();
      await until(() => rows('snapshot_data', calm.instanceId).length === 1);
      expect(rows('snapshot_data', calm.instanceId)[0].value).toBe('7');
    } finally {
      await client.endAsync();
    }
    // Each runaway holds a worker for its whole time limit, and a fresh worker starts after it: slow on a busy machine.
  }, 180_000);
});


describe('poison payloads on every transport are rejected alone', () => {
  const deep = (n: number) => Buffer.from(`{"v":${'['.repeat(n)}${']'.repeat(n)}}`);
  // `{"v":"` then bytes that are not UTF-8.
  const notUtf8 = Buffer.concat([Buffer.from('{"v":"'), Buffer.from([0xc3, 0x28, 0xff, 0xfe]), Buffer.from('"}')]);

  it('5,000 levels deep and not UTF-8, over MQTTS, WSS and HTTPS: raw_data kept, rejected_data with a reason, others\' invokes all 202', async () => {
    const spec = {
      '@context': ['dtmi:dtdl:context;3'],
      '@id': 'dtmi:com:example:poison;1',
      '@type': 'Interface',
      contents: [{ '@type': 'Telemetry', name: 'v', schema: { '@type': 'Object' } }],
    };
    const sender = await adaptedDevice(spec);
    const other = await responder();
    const mqtts: MqttClient = await mqtt.connectAsync(sender.mqttOptions);
    const wss: MqttClient = await mqtt.connectAsync({ ...sender.wssOptions, clientId: `${sender.externalKey}-wss` });
    try {
      const invokes: Array<Promise<number>> = [];
      const invoke = () =>
        invokes.push(t.rest('POST', `/20250531/digitalTwinInstances/${other.instanceId}/actions/invokeRawCommand`, COMMAND).then((r) => r.status));
      const poisons: Array<Promise<unknown>> = [];
      for (let round = 0; round < 3; round++) {
        for (let k = 0; k < 10; k++) invoke();
        poisons.push(
          mqtts.publishAsync('mqtts/deep', deep(5000), { qos: 1 }),
          wss.publishAsync('wss/deep', deep(5000), { qos: 1 }),
          devicePost(t.emu, sender, '/https/deep', deep(5000)).then((s) => expect(s).toBe(202)),
          mqtts.publishAsync('mqtts/bytes', notUtf8, { qos: 1 }),
          wss.publishAsync('wss/bytes', notUtf8, { qos: 1 }),
          devicePost(t.emu, sender, '/https/bytes', notUtf8).then((s) => expect(s).toBe(202)),
        );
        for (let k = 0; k < 10; k++) invoke();
      }
      await Promise.all(poisons);
      expect(await Promise.all(invokes)).toEqual(invokes.map(() => 202));
      await until(() => rows('rejected_data', sender.instanceId).length === 18);
      const rejected = rows('rejected_data', sender.instanceId);
      const byEndpoint = (endpoint: string) => rejected.filter((r) => r.endpoint === endpoint).map((r) => [r.reason_code, r.reason_message]);
      for (const transport of ['mqtts', 'wss', 'https']) {
        expect(byEndpoint(`${transport}/deep`)).toEqual(Array.from({ length: 3 }, () => [400, 'Payload nests JSON deeper than 64 levels']));
        expect(byEndpoint(`${transport}/bytes`)).toEqual(Array.from({ length: 3 }, () => [400, 'Payload is not UTF-8 text; an adapter maps JSON payloads only']));
      }
      // Each poison message is still the device's raw_data, byte for byte.
      const raw = rows('raw_data', sender.instanceId);
      expect(raw).toHaveLength(18);
      expect(raw.filter((r) => r.endpoint.endsWith('/deep')).every((r) => Buffer.compare(r.content, deep(5000)) === 0)).toBe(true);
      expect(raw.filter((r) => r.endpoint.endsWith('/bytes')).every((r) => Buffer.compare(r.content, notUtf8) === 0)).toBe(true);
      expect(rows('snapshot_data', sender.instanceId)).toEqual([]);
    } finally {
      await mqtts.endAsync();
      await wss.endAsync();
    }
  });

  it('a payload as large as a packet may be (450 KB) is bounded work: mapped, or rejected at the time limit; one past the depth limit is rejected', async () => {
    const spec = {
      '@context': ['dtmi:dtdl:context;3'],
      '@id': 'dtmi:com:example:huge;1',
      '@type': 'Interface',
      contents: [{ '@type': 'Telemetry', name: 'v', schema: { '@type': 'Array', elementSchema: 'integer' } }],
    };
    const sender = await adaptedDevice(spec);
    const client = await mqtt.connectAsync(sender.mqttOptions);
    try {
      const huge = JSON.stringify({ v: Array.from({ length: 120_000 }, (_, i) => i % 1000) });
      expect(huge.length).toBeGreaterThan(400_000);
      await client.publishAsync('huge', huge, { qos: 1 });
      await client.publishAsync('deep', deep(64), { qos: 1 });
      const done = () => rows('snapshot_data', sender.instanceId).length + rows('rejected_data', sender.instanceId).length;
      await until(() => done() === 2);
      const rejected = rows('rejected_data', sender.instanceId);
      expect(rejected.filter((r) => r.endpoint === 'deep').map((r) => r.reason_message)).toEqual(['Payload nests JSON deeper than 64 levels']);
      // jq gets --adapter-time-limit for it like for any message; on a busy machine that may not be enough.
      const snapshot = rows('snapshot_data', sender.instanceId);
      if (snapshot.length === 1) expect(JSON.parse(snapshot[0].value)).toHaveLength(120_000);
      else expect(rejected.filter((r) => r.endpoint === 'huge').map((r) => r.reason_code)).toEqual([504]);
    } finally {
      await client.endAsync();
    }
  });
});
