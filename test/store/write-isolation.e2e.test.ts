/**
 * One write of the group commit that throws costs only its sender: a device's message
 * nested 5,000 levels deep (once a stack overflow inside the shared transaction) sent
 * together with other devices' messages and other callers' invokes, all over real clients.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SEED_COMMAND, startTestEmulator, type TestEmulator } from '../support/harness.js';

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(async () => {
  await t.close();
});

const count = (table: string, instanceId: string) =>
  (t.emu.sql(`select count(*) as n from ${table} where digital_twin_instance_id = '${instanceId}'`).rows[0] as { n: number }).n;

it('a message that breaks its mapping is rejected with a reason and its raw_data kept; every other write of its batch commits', async () => {
  const spec = {
    '@context': ['dtmi:dtdl:context;3', 'dtmi:dtdl:extension:historization;1'],
    '@id': 'dtmi:example:isolation:room;1',
    '@type': 'Interface',
    contents: [{ '@type': ['Telemetry', 'Historized'], name: 'temperature', schema: 'double' }],
  };
  const model = await t.rest('POST', '/20250531/digitalTwinModels', { iotDomainId: t.emu.domain.id, spec });
  expect(model.status).toBe(200);
  const adapter = await t.rest('POST', '/20250531/digitalTwinAdapters', { iotDomainId: t.emu.domain.id, digitalTwinModelId: model.body.id });
  expect(adapter.status).toBe(200);
  const poisoned = await t.createDevice({ digitalTwinAdapterId: adapter.body.id });
  const others = await Promise.all([1, 2, 3].map(() => t.createDevice({ digitalTwinAdapterId: adapter.body.id })));
  const commanded = await t.createDevice();

  const poison = await t.connect(poisoned);
  let poisonClosed = false;
  poison.client.on('close', () => (poisonClosed = true));
  const healthy = await Promise.all(others.map((d) => t.connect(d)));
  const deep = `{"temperature":${'['.repeat(5_000)}${']'.repeat(5_000)}}`;

  // All at once, so they share commits.
  const outcomes = await Promise.all([
    poison.client.publishAsync('telemetry', deep, { qos: 1 }).then(() => 'PUBACK'),
    ...healthy.map((d) => d.client.publishAsync('telemetry', '{"temperature":21.5}', { qos: 1 }).then(() => 'PUBACK')),
    ...Array.from({ length: 20 }, () =>
      t.rest('POST', `/20250531/digitalTwinInstances/${commanded.instanceId}/actions/invokeRawCommand`, SEED_COMMAND).then((r) => r.status),
    ),
  ]);
  expect(outcomes).toEqual([...Array(4).fill('PUBACK'), ...Array(20).fill(202)]);
  expect(poisonClosed).toBe(false);

  // The poison message: kept as sent, and rejected with a reason; it is not sent again.
  expect(count('raw_data', poisoned.instanceId)).toBe(1);
  const rejected = t.emu.sql(`select reason_code, reason_message from rejected_data where digital_twin_instance_id = '${poisoned.instanceId}'`).rows as Array<{ reason_code: number; reason_message: string }>;
  expect(rejected).toHaveLength(1);
  expect(rejected[0].reason_code).toBeGreaterThanOrEqual(400);
  expect(rejected[0].reason_message).not.toBe('');
  // Everyone else: mapped, stored, accepted.
  for (const d of others) {
    expect(count('raw_data', d.instanceId)).toBe(1);
    expect(t.emu.sql(`select value from historized_data where digital_twin_instance_id = '${d.instanceId}'`).rows).toEqual([{ value: '21.5' }]);
    expect(count('rejected_data', d.instanceId)).toBe(0);
  }
  expect(count('raw_command_data', commanded.instanceId)).toBe(20);
});
