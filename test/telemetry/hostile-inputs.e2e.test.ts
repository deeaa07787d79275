/**
 * What one device or one model can do to everyone else, over real MQTTS, WSS and HTTPS: a
 * DTDL pattern that backtracks catastrophically, adapters that run away, payloads nested
 * 5,000 levels deep, huge or not UTF-8. Each costs only its own message (a rejected_data
 * row with a reason, its raw_data kept); another device's commands complete meanwhile.
 */
import { request } from 'node:https';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDevice } from '../../src/programmatic.js';
import { startTestEmulator, until, type TestEmulator } from '../support/harness.js';

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
      await until(() => rows('snapshot_data', sender.instanceId).length === 1);
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
