/**
 * Errors as SDK callers see them: an OciError with OCI's statusCode and serviceCode,
 * thrown after exactly one request (the SDK's default retry policy retries only 5xx,
 * 409 IncorrectState, 429 and network failures), having written nothing.
 */
import { models } from 'oci-iot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator, type TestEmulator } from '../support/harness.js';
import { authProvider, newApiKey, ociError, provisionDevice, sdkClients, startProxy, type Proxy, type SdkClients } from './support.js';

let t: TestEmulator;
let proxy: Proxy;
/** Clients that go through the counting proxy. */
let sdk: SdkClients;

beforeAll(async () => {
  t = await startTestEmulator();
  proxy = await startProxy(t.emu.restUrl);
  sdk = sdkClients(proxy.url, authProvider(newApiKey()));
});
afterAll(async () => {
  await proxy?.close();
  await t?.close();
});

const count = (table: string) => (t.emu.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
const unknownInstance = 'ocid1.iotdigitaltwininstance.oc1.us-ashburn-1.aaaaunknown';

/** Runs a call that must fail; checks it was sent once and changed no table. */
async function failsOnce(call: () => Promise<unknown>) {
  const tables = ['raw_command_data', 'digital_twin_instances', 'vault_secrets', 'command_events'];
  const before = tables.map(count);
  const sent = proxy.requests.length;
  const err = await ociError(call());
  expect(proxy.requests.length - sent, 'requests sent for one call').toBe(1);
  expect(tables.map(count)).toEqual(before);
  return err;
}

describe('404 NotAuthorizedOrNotFound', () => {
  it('for unknown instances, domains, domain groups and secrets', async () => {
    for (const call of [
      () => sdk.iot.getDigitalTwinInstance({ digitalTwinInstanceId: unknownInstance }),
      () => sdk.iot.updateDigitalTwinInstance({ digitalTwinInstanceId: unknownInstance, updateDigitalTwinInstanceDetails: { displayName: 'x' } }),
      () => sdk.iot.deleteDigitalTwinInstance({ digitalTwinInstanceId: unknownInstance }),
      () => sdk.iot.getIotDomain({ iotDomainId: 'ocid1.iotdomain.oc1..unknown' }),
      () => sdk.iot.getIotDomainGroup({ iotDomainGroupId: 'ocid1.iotdomaingroup.oc1..unknown' }),
      () => sdk.vaults.getSecret({ secretId: 'ocid1.vaultsecret.oc1..unknown' }),
      () => sdk.secrets.getSecretBundle({ secretId: 'ocid1.vaultsecret.oc1..unknown' }),
    ]) {
      const err = await failsOnce(call);
      expect(err).toMatchObject({ statusCode: 404, serviceCode: 'NotAuthorizedOrNotFound' });
      expect(err.opcRequestId).toBeTruthy();
    }
  });

  it('invokeRawCommand on an unknown or deleted instance creates no command', async () => {
    const device = await provisionDevice(sdk, t.emu.domain.id);
    await sdk.iot.deleteDigitalTwinInstance({ digitalTwinInstanceId: device.instanceId });
    for (const id of [unknownInstance, device.instanceId]) {
      const err = await failsOnce(() =>
        sdk.iot.invokeRawCommand({
          digitalTwinInstanceId: id,
          invokeRawCommandDetails: { requestDataFormat: 'TEXT', requestEndpoint: 'cmd', requestData: 'x' } as models.InvokeRawTextCommandDetails,
        }),
      );
      expect(err).toMatchObject({ statusCode: 404, serviceCode: 'NotAuthorizedOrNotFound' });
    }
  });
});

describe('400 for bad input: InvalidParameter, MissingParameter, RelatedResourceNotAuthorizedOrNotFound', () => {
  it('bad invokeRawCommand details are refused before any command exists', async () => {
    const device = await provisionDevice(sdk, t.emu.domain.id);
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ requestDataFormat: 'TEXT', requestEndpoint: 'cmd/#', requestData: 'x' }, 'InvalidParameter', /wildcards/],
      [{ requestDataFormat: 'TEXT', requestEndpoint: 'cmd', requestDuration: '10 minutes' }, 'InvalidParameter', /requestDuration/],
      [{ requestDataFormat: 'JSON', requestEndpoint: 'cmd', requestData: [1, 2] }, 'InvalidParameter', /JSON object/],
      [{ requestDataFormat: 'BINARY', requestEndpoint: 'cmd', requestData: 'not base64!' }, 'InvalidParameter', /base64/],
      [{ requestDataFormat: 'TEXT', requestEndpoint: 'cmd', requestData: 'x'.repeat(256 * 1024 + 1) }, 'InvalidParameter', /256 KiB/],
      [{ requestDataFormat: 'TEXT' }, 'MissingParameter', /requestEndpoint/],
    ];
    for (const [details, serviceCode, message] of cases) {
      const err = await failsOnce(() =>
        sdk.iot.invokeRawCommand({
          digitalTwinInstanceId: device.instanceId,
          invokeRawCommandDetails: details as unknown as models.InvokeRawCommandDetails,
        }),
      );
      expect(err).toMatchObject({ statusCode: 400, serviceCode });
      expect(err.message).toMatch(message);
    }
  });

  it('bad instance details and list parameters', async () => {
    const missing = await failsOnce(() =>
      sdk.iot.createDigitalTwinInstance({ createDigitalTwinInstanceDetails: {} as models.CreateDigitalTwinInstanceDetails }),
    );
    expect(missing).toMatchObject({ statusCode: 400, serviceCode: 'MissingParameter' });
    expect(missing.message).toMatch(/iotDomainId/);

    const badEnum = await failsOnce(() =>
      sdk.iot.createDigitalTwinInstance({
        createDigitalTwinInstanceDetails: { iotDomainId: t.emu.domain.id, connectivityType: 'WIFI' as models.DigitalTwinInstanceConnectivityType },
      }),
    );
    expect(badEnum).toMatchObject({ statusCode: 400, serviceCode: 'InvalidParameter' });

    const noSecret = await failsOnce(() =>
      sdk.iot.createDigitalTwinInstance({ createDigitalTwinInstanceDetails: { iotDomainId: t.emu.domain.id, authId: 'ocid1.vaultsecret.oc1..nope' } }),
    );
    expect(noSecret).toMatchObject({ statusCode: 400, serviceCode: 'RelatedResourceNotAuthorizedOrNotFound' });

    const badLimit = await failsOnce(() => sdk.iot.listDigitalTwinInstances({ iotDomainId: t.emu.domain.id, limit: 0 }));
    expect(badLimit).toMatchObject({ statusCode: 400, serviceCode: 'InvalidParameter' });
    const badPage = await failsOnce(() => sdk.iot.listDigitalTwinInstances({ iotDomainId: t.emu.domain.id, page: 'not-a-token' }));
    expect(badPage).toMatchObject({ statusCode: 400, serviceCode: 'InvalidParameter' });
  });
});

describe('409 and 412', () => {
  it('409 Conflict for an externalKey already used in the domain; 412 NoEtagMatch for a stale if-match', async () => {
    const first = await provisionDevice(sdk, t.emu.domain.id, { externalKey: 'aa:bb:cc:dd:ee:ff' });
    const dup = await failsOnce(() =>
      sdk.iot.createDigitalTwinInstance({ createDigitalTwinInstanceDetails: { iotDomainId: t.emu.domain.id, externalKey: 'aa:bb:cc:dd:ee:ff' } }),
    );
    expect(dup).toMatchObject({ statusCode: 409, serviceCode: 'Conflict' });

    const stale = await failsOnce(() =>
      sdk.iot.updateDigitalTwinInstance({
        digitalTwinInstanceId: first.instanceId,
        ifMatch: 'not-the-etag',
        updateDigitalTwinInstanceDetails: { displayName: 'x' },
      }),
    );
    expect(stale).toMatchObject({ statusCode: 412, serviceCode: 'NoEtagMatch' });
  });
});

describe('the default retry policy', () => {
  it('is what the SDK applies to every IoT call, and none of the errors above is one it retries', async () => {
    // The emulator answers caller mistakes with 4xx codes outside the retried set, so a
    // mistake costs one round trip; a 5xx would cost up to 8 attempts with back-off.
    const err = await failsOnce(() => sdk.iot.getDigitalTwinInstance({ digitalTwinInstanceId: unknownInstance }));
    expect(err.statusCode).toBeLessThan(500);
    expect([409, 429]).not.toContain(err.statusCode);
    expect(proxy.requests.at(-1)!.headers['opc-client-retries']).toBe('true');
  });
});
