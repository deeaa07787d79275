/**
 * The sample of docs/sdk.md, run as written: the test imports
 * examples/sdk/quickstart.ts, and checks the document shows that very file.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, provisionDevice, sendCommand } from '../../examples/sdk/quickstart.js';
import { startTestEmulator, type TestEmulator } from '../support/harness.js';
import { authProvider, commandIdOf, fetchRow, newApiKey } from './support.js';

const SAMPLE = 'examples/sdk/quickstart.ts';
const DOC = 'docs/sdk.md';
const root = new URL('../../', import.meta.url);

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(async () => {
  await t?.close();
});

describe('the SDK quick start', () => {
  it('provisions a device, which logs in over MQTTS and completes the command the sample sends', async () => {
    const backend = connect(authProvider(newApiKey()), t.emu.restUrl);
    const device = await provisionDevice(backend, 'ocid1.compartment.oc1..mine', 'thermostat-1', 's3cret');
    expect(device).toMatchObject({ externalKey: 'thermostat-1', password: 's3cret', deviceHost: t.emu.domain.deviceHost });

    const d = await t.connect({ ...device, secretId: device.authId }, { clientId: 'thermostat-1', subscribe: [['iot/v1/cmd/#', 1]] });
    const location = await sendCommand(backend, device.instanceId, { setpoint: 21.5 });
    const cmd = await d.next('iot/v1/cmd/settings');
    expect(JSON.parse(cmd.payload.toString())).toEqual({ setpoint: 21.5 });
    await d.client.publishAsync('iot/v1/rsp/settings', '{"applied":true}', { qos: 1 });
    await t.waitFor(commandIdOf(location), 'COMPLETED');
    expect(await fetchRow(location)).toMatchObject({
      delivery_status: 'COMPLETED',
      request_data: '{"setpoint":21.5}',
      response_data: '{"applied":true}',
    });
  });

  it(`${DOC} shows ${SAMPLE} exactly`, () => {
    const sample = readFileSync(new URL(SAMPLE, root), 'utf8');
    const doc = readFileSync(new URL(DOC, root), 'utf8');
    const embedded = new RegExp(`<!-- sample: ${SAMPLE} -->\\n\`\`\`ts\\n([\\s\\S]*?)\`\`\``).exec(doc);
    expect(embedded, `${DOC} embeds ${SAMPLE} after <!-- sample: ${SAMPLE} -->`).not.toBeNull();
    expect(embedded![1]).toBe(sample);
  });
});
