/**
 * The domain sample of docs/sdk.md, run as written against an emulator on the system clock:
 * the SDK's own waiter sees each work request finish within about a second.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDomain, iotClient } from '../../examples/sdk/domains.js';
import { startTestEmulator, type TestEmulator } from '../support/harness.js';
import { authProvider, newApiKey, provisionDevice, sdkClients } from './support.js';

const SAMPLE = 'examples/sdk/domains.ts';
const DOC = 'docs/sdk.md';
const root = new URL('../../', import.meta.url);

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator({ clock: 'system' });
});
afterAll(async () => {
  await t?.close();
});

describe('the SDK domain sample', () => {
  it('creates a domain group and a domain, waiting for their work requests; devices of the domain log in on its host', async () => {
    const started = Date.now();
    const made = await createDomain(iotClient(authProvider(newApiKey()), t.emu.restUrl), 'ocid1.compartment.oc1..mine', 'plant-7');
    // Two work requests, each polled by the SDK waiter after 0 s and 1 s.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(made.deviceHost).toMatch(/^[a-z2-7]{12}\.device\.iot\.localhost$/);

    const sdk = sdkClients(t.emu.restUrl, authProvider(newApiKey()));
    const { iotDomain } = await sdk.iot.getIotDomain({ iotDomainId: made.domainId });
    expect(iotDomain).toMatchObject({ lifecycleState: 'ACTIVE', displayName: 'plant-7', iotDomainGroupId: made.domainGroupId });
    const device = await provisionDevice(sdk, made.domainId);
    const info = (await (await fetch(`${t.emu.restUrl}/emulator/info`)).json()) as { domains: Array<{ id: string; deviceHost: string; dataApiUrl: string }> };
    expect(info.domains.find((d) => d.id === made.domainId)).toMatchObject({
      deviceHost: made.deviceHost,
      dataApiUrl: `${t.emu.restUrl}/ords/${made.deviceHost.split('.')[0]}/20250531`,
    });
    expect(device.instanceId).toMatch(/^ocid1\.iotdigitaltwininstance\./);
  });

  it(`${DOC} shows ${SAMPLE} exactly`, () => {
    const sample = readFileSync(new URL(SAMPLE, root), 'utf8');
    const doc = readFileSync(new URL(DOC, root), 'utf8');
    const embedded = new RegExp(`<!-- sample: ${SAMPLE} -->\\n\`\`\`ts\\n([\\s\\S]*?)\`\`\``).exec(doc);
    expect(embedded, `${DOC} embeds ${SAMPLE} after <!-- sample: ${SAMPLE} -->`).not.toBeNull();
    expect(embedded![1]).toBe(sample);
  });
});
