/**
 * Vault and Secrets through Oracle's SDKs (oci-vault, oci-secrets): ListSecrets with
 * filters, paging and sorting; GetSecretBundleByName; UpdateSecret making a new current
 * version, which is the password a device's next login needs; bundles by version and stage.
 */
import mqtt from 'mqtt';
import { models as vaultModels } from 'oci-vault';
import { describe, expect, it } from 'vitest';
import type { TestEmulator } from '../support/harness.js';
import { expectShape, ociError, provisionDevice, type SdkClients, sdkSuite, type Shape } from './support.js';

const COMPARTMENT = 'ocid1.compartment.oc1..aaaavault';
const VAULT = 'ocid1.vault.oc1..aaaalisted';
const b64 = (text: string) => Buffer.from(text).toString('base64');

const summaryShape: Shape<vaultModels.SecretSummary> = {
  compartmentId: 'required',
  definedTags: 'optional',
  description: 'optional',
  freeformTags: 'optional',
  systemTags: 'optional',
  keyId: 'optional',
  id: 'required',
  lifecycleDetails: 'optional',
  lifecycleState: 'required',
  replicationConfig: 'optional',
  isReplica: 'optional',
  sourceRegionInformation: 'optional',
  rotationConfig: 'optional',
  rotationStatus: 'optional',
  lastRotationTime: 'optional',
  nextRotationTime: 'optional',
  secretName: 'required',
  timeCreated: 'required',
  timeOfCurrentVersionExpiry: 'optional',
  timeOfDeletion: 'optional',
  vaultId: 'required',
  secretGenerationContext: 'optional',
  isAutoGenerationEnabled: 'optional',
};

let t: TestEmulator;
let sdk: SdkClients;
sdkSuite((started) => {
  ({ t, sdk } = started);
});

async function secretNamed(secretName: string, content: string, vaultId = VAULT, compartmentId = COMPARTMENT) {
  const { secret } = await sdk.vaults.createSecret({
    createSecretDetails: { compartmentId, vaultId, keyId: 'ocid1.key.oc1..k', secretName, secretContent: { contentType: 'BASE64', content: b64(content) } },
  });
  t.advance(1000); // distinct creation times, for sorting
  return secret;
}

describe('ListSecrets, GetSecretBundleByName', () => {
  it('lists a compartment’s secrets with name and vault filters, sorting and paging', async () => {
    await secretNamed('beta', 'b');
    await secretNamed('alpha', 'a');
    await secretNamed('gamma', 'g', 'ocid1.vault.oc1..aaaaother');
    await secretNamed('elsewhere', 'e', VAULT, 'ocid1.compartment.oc1..aaaaelse');

    const all = (await sdk.vaults.listSecrets({ compartmentId: COMPARTMENT })).items;
    expect(all.map((s) => s.secretName)).toEqual(['gamma', 'alpha', 'beta']);
    expectShape(all[0], summaryShape);
    const byName = await sdk.vaults.listSecrets({ compartmentId: COMPARTMENT, vaultId: VAULT, sortBy: 'NAME' as never, limit: 1 });
    expect(byName.items.map((s) => s.secretName)).toEqual(['alpha']);
    expect(byName.opcNextPage).toBeTruthy();
    const rest = await sdk.vaults.listSecrets({ compartmentId: COMPARTMENT, vaultId: VAULT, sortBy: 'NAME' as never, limit: 1, page: byName.opcNextPage });
    expect(rest.items.map((s) => s.secretName)).toEqual(['beta']);
    expect((await sdk.vaults.listSecrets({ compartmentId: COMPARTMENT, name: 'beta' })).items.map((s) => s.secretName)).toEqual(['beta']);
    expect((await sdk.vaults.listSecrets({ compartmentId: COMPARTMENT, sortBy: 'NAME' as never, sortOrder: 'DESC' as never })).items.map((s) => s.secretName)).toEqual([
      'gamma',
      'beta',
      'alpha',
    ]);
    const badSort = await ociError(sdk.vaults.listSecrets({ compartmentId: COMPARTMENT, sortBy: 'SIZE' as never }));
    expect([badSort.statusCode, badSort.serviceCode]).toEqual([400, 'InvalidParameter']);
  });

  it('reads a secret by vault and name, and 404s a name the vault does not have', async () => {
    const created = await secretNamed('by-name', 'hello');
    const { secretBundle } = await sdk.secrets.getSecretBundleByName({ secretName: 'by-name', vaultId: VAULT });
    expect(secretBundle).toMatchObject({ secretId: created.id, versionNumber: 1, stages: ['CURRENT', 'LATEST'] });
    expect(Buffer.from((secretBundle.secretBundleContent as { content: string }).content, 'base64').toString()).toBe('hello');
    const missing = await ociError(sdk.secrets.getSecretBundleByName({ secretName: 'no-such', vaultId: VAULT }));
    expect([missing.statusCode, missing.serviceCode]).toEqual([404, 'NotAuthorizedOrNotFound']);
  });
});

describe('UpdateSecret and versions', () => {
  it('new content is a new CURRENT version; the old one is PREVIOUS; bundles by number and stage', async () => {
    const created = await secretNamed('rotating', 'v1');
    const { secret } = await sdk.vaults.updateSecret({ secretId: created.id, updateSecretDetails: { secretContent: { contentType: 'BASE64', content: b64('v2') } } });
    expect(secret.currentVersionNumber).toBe(2);
    const content = async (q: { versionNumber?: number; stage?: string }) => {
      const { secretBundle } = await sdk.secrets.getSecretBundle({ secretId: created.id, ...(q as object) });
      return [secretBundle.versionNumber, Buffer.from((secretBundle.secretBundleContent as { content: string }).content, 'base64').toString(), secretBundle.stages];
    };
    expect(await content({})).toEqual([2, 'v2', ['CURRENT', 'LATEST']]);
    expect(await content({ versionNumber: 1 })).toEqual([1, 'v1', ['PREVIOUS']]);
    expect(await content({ stage: 'PREVIOUS' })).toEqual([1, 'v1', ['PREVIOUS']]);
    expect(await content({ stage: 'LATEST' })).toEqual([2, 'v2', ['CURRENT', 'LATEST']]);

    // A PENDING version is kept but not current until it is made so.
    await sdk.vaults.updateSecret({ secretId: created.id, updateSecretDetails: { secretContent: { contentType: 'BASE64', content: b64('v3'), stage: 'PENDING' as never } } });
    expect(await content({ stage: 'PENDING' })).toEqual([3, 'v3', ['PENDING', 'LATEST']]);
    expect(await content({})).toEqual([2, 'v2', ['CURRENT']]);
    await sdk.vaults.updateSecret({ secretId: created.id, updateSecretDetails: { currentVersionNumber: 3 } });
    expect(await content({})).toEqual([3, 'v3', ['CURRENT', 'LATEST']]);
    expect(await content({ stage: 'PREVIOUS' })).toEqual([2, 'v2', ['PREVIOUS']]);
    expect(await content({ versionNumber: 1 })).toEqual([1, 'v1', ['DEPRECATED']]);

    for (const call of [
      sdk.secrets.getSecretBundle({ secretId: created.id, versionNumber: 9 }),
      sdk.secrets.getSecretBundle({ secretId: created.id, secretVersionName: 'nope' }),
      sdk.vaults.updateSecret({ secretId: 'ocid1.vaultsecret.oc1..nope', updateSecretDetails: { description: 'x' } }),
    ]) {
      const err = await ociError(call);
      expect([err.statusCode, err.serviceCode]).toEqual([404, 'NotAuthorizedOrNotFound']);
    }
    const noVersion = await ociError(sdk.vaults.updateSecret({ secretId: created.id, updateSecretDetails: { currentVersionNumber: 42 } }));
    expect([noVersion.statusCode, noVersion.serviceCode]).toEqual([400, 'InvalidParameter']);
    const notBase64 = await ociError(sdk.vaults.updateSecret({ secretId: created.id, updateSecretDetails: { secretContent: { contentType: 'BASE64', content: '***' } } }));
    expect([notBase64.statusCode, notBase64.serviceCode]).toEqual([400, 'InvalidParameter']);
  });

  it('a rotated password: the live session stays, the next login needs the new one and the old one is refused', async () => {
    const device = await provisionDevice(sdk, t.emu.domain.id);
    const connect = (password: string, clientId: string) =>
      mqtt.connectAsync(`mqtts://localhost:${t.emu.mqttPort}`, {
        ca: t.emu.ca,
        username: device.externalKey,
        password,
        clientId,
        protocolVersion: 4,
        reconnectPeriod: 0,
        connectTimeout: 5000,
      });
    const live = await connect(device.password, 'before-rotation');
    await sdk.vaults.updateSecret({ secretId: device.secretId, updateSecretDetails: { secretContent: { contentType: 'BASE64', content: b64('rotated-pw') } } });

    // The session opened with the old password goes on working.
    await live.subscribeAsync('cmd/#', { qos: 1 });
    const got = new Promise<string>((resolve) => live.once('message', (_topic, payload) => resolve(payload.toString())));
    await sdk.iot.invokeRawCommand({ digitalTwinInstanceId: device.instanceId, invokeRawCommandDetails: { requestDataFormat: 'TEXT', requestEndpoint: 'cmd/x', requestData: 'still here' } as never });
    expect(await got).toBe('still here');
    await live.endAsync();

    const refused = await connect(device.password, 'old-password').then(
      (c) => c.endAsync().then(() => null),
      (err: Error) => err.message,
    );
    expect(refused).toMatch(/Not authorized/i);
    const fresh = await connect('rotated-pw', 'new-password');
    expect(fresh.connected).toBe(true);
    await fresh.endAsync();
  });
});
