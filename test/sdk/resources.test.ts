/**
 * The official OCI TypeScript SDK (oci-iot, oci-vault, oci-secrets) against the emulator,
 * changed only in `endpoint`: secrets, domains, domain groups and digital twin instances
 * come back as the SDK's models, with the values that were sent.
 */
import * as common from 'oci-common';
import { models, requests } from 'oci-iot';
import { models as secretsModels } from 'oci-secrets';
import { models as vaultModels } from 'oci-vault';
import { describe, expect, it } from 'vitest';
import type { TestEmulator } from '../support/harness.js';
import {
  authProvider,
  domainShape,
  expectShape,
  newApiKey,
  ociError,
  retryWithoutWaiting,
  sdkClients,
  sdkSuite,
  startProxy,
  type SdkClients,
  type Shape,
} from './support.js';

const instanceShape: Shape<models.DigitalTwinInstance> = {
  id: 'required',
  iotDomainId: 'required',
  connectivityType: 'required',
  authId: 'optional',
  externalKey: 'optional',
  displayName: 'required',
  description: 'optional',
  digitalTwinModelId: 'optional',
  digitalTwinModelSpecUri: 'optional',
  digitalTwinAdapterId: 'optional',
  gateways: 'optional',
  lifecycleState: 'required',
  freeformTags: 'optional',
  definedTags: 'optional',
  systemTags: 'optional',
  timeCreated: 'required',
  timeUpdated: 'optional',
};
// The summary declares the same fields; the compiler checks that too.
const instanceSummaryShape: Shape<models.DigitalTwinInstanceSummary> = instanceShape;

const domainSummaryShape: Shape<models.IotDomainSummary> = {
  id: 'required',
  iotDomainGroupId: 'required',
  compartmentId: 'required',
  displayName: 'required',
  description: 'optional',
  lifecycleState: 'required',
  freeformTags: 'optional',
  definedTags: 'optional',
  systemTags: 'optional',
  timeCreated: 'required',
  timeUpdated: 'optional',
};
const groupShape: Shape<models.IotDomainGroup> = {
  id: 'required',
  compartmentId: 'required',
  type: 'required',
  displayName: 'required',
  description: 'optional',
  dataHost: 'optional',
  dbAllowListedVcnIds: 'optional',
  dbConnectionString: 'optional',
  dbTokenScope: 'optional',
  lifecycleState: 'required',
  freeformTags: 'optional',
  definedTags: 'optional',
  systemTags: 'optional',
  timeCreated: 'required',
  timeUpdated: 'optional',
};
const groupSummaryShape: Shape<models.IotDomainGroupSummary> = {
  id: 'required',
  compartmentId: 'required',
  type: 'required',
  displayName: 'required',
  description: 'optional',
  lifecycleState: 'required',
  freeformTags: 'optional',
  definedTags: 'optional',
  systemTags: 'optional',
  timeCreated: 'required',
  timeUpdated: 'optional',
};

const secretShape: Shape<vaultModels.Secret> = {
  compartmentId: 'required',
  currentVersionNumber: 'optional',
  definedTags: 'optional',
  description: 'optional',
  freeformTags: 'optional',
  id: 'required',
  keyId: 'optional',
  lifecycleDetails: 'optional',
  lifecycleState: 'required',
  metadata: 'optional',
  replicationConfig: 'optional',
  isReplica: 'optional',
  sourceRegionInformation: 'optional',
  rotationConfig: 'optional',
  rotationStatus: 'optional',
  lastRotationTime: 'optional',
  nextRotationTime: 'optional',
  secretName: 'required',
  secretRules: 'optional',
  timeCreated: 'required',
  timeOfCurrentVersionExpiry: 'optional',
  timeOfDeletion: 'optional',
  vaultId: 'required',
  secretGenerationContext: 'optional',
  isAutoGenerationEnabled: 'optional',
};
const bundleShape: Shape<secretsModels.SecretBundle> = {
  secretId: 'required',
  timeCreated: 'optional',
  versionNumber: 'required',
  versionName: 'optional',
  secretBundleContent: 'optional',
  timeOfDeletion: 'optional',
  timeOfExpiry: 'optional',
  stages: 'optional',
  metadata: 'optional',
};

let t: TestEmulator;
let sdk: SdkClients;
const compartmentId = 'ocid1.compartment.oc1..aaaaexample';

sdkSuite((started) => {
  ({ t, sdk } = started);
});

async function newSecret(password: string, secretName = `device-${Math.random().toString(36).slice(2)}`) {
  return sdk.vaults.createSecret({
    createSecretDetails: {
      compartmentId,
      vaultId: 'ocid1.vault.oc1.us-ashburn-1.aaaavault',
      keyId: 'ocid1.key.oc1.us-ashburn-1.aaaakey',
      secretName,
      secretContent: { contentType: vaultModels.Base64SecretContentDetails.contentType, content: Buffer.from(password).toString('base64') },
    },
  });
}

describe('Vault and Secrets clients', () => {
  it('createSecret returns the Secret model with what was sent; getSecretBundle gives the content back', async () => {
    const created = await newSecret('s3cret-pw', 'thermostat-17');
    const secret = created.secret;
    expectShape(secret, secretShape);
    expect(secret).toMatchObject({
      compartmentId,
      vaultId: 'ocid1.vault.oc1.us-ashburn-1.aaaavault',
      keyId: 'ocid1.key.oc1.us-ashburn-1.aaaakey',
      secretName: 'thermostat-17',
      currentVersionNumber: 1,
      lifecycleState: vaultModels.Secret.LifecycleState.Active,
    });
    expect(secret.id).toMatch(/^ocid1\.vaultsecret\.oc1\.us-ashburn-1\.[a-z0-9]+$/);
    expect(created.etag).toBeTruthy();
    expect(created.opcRequestId).toBeTruthy();

    const got = await sdk.vaults.getSecret({ secretId: secret.id });
    expect(got.secret).toEqual(secret);

    const bundle = (await sdk.secrets.getSecretBundle({ secretId: secret.id })).secretBundle;
    expectShape(bundle, bundleShape);
    expect(bundle).toMatchObject({ secretId: secret.id, versionNumber: 1 });
    expect(bundle.secretBundleContent?.contentType).toBe(secretsModels.Base64SecretBundleContentDetails.contentType);
    expect(Buffer.from(bundle.secretBundleContent!.content!, 'base64').toString()).toBe('s3cret-pw');
    expect(bundle.stages).toContain(secretsModels.SecretBundle.Stages.Current);
  });
});

describe('IoT domains and domain groups', () => {
  it('getIotDomain and getIotDomainGroup return the start-up domain and group as the SDK models', async () => {
    const { iotDomain, etag } = await sdk.iot.getIotDomain({ iotDomainId: t.emu.domain.id });
    expectShape(iotDomain, domainShape);
    expect(iotDomain).toMatchObject({
      id: t.emu.domain.id,
      iotDomainGroupId: t.emu.domain.groupId,
      deviceHost: t.emu.domain.deviceHost,
      lifecycleState: models.IotDomain.LifecycleState.Active,
    });
    expect(etag).toBeTruthy();
    // The data API's base path uses the domain short id, the first label of deviceHost in OCI.
    expect(iotDomain.id).toMatch(/^ocid1\.iotdomain\.oc1\./);

    const { iotDomainGroup } = await sdk.iot.getIotDomainGroup({ iotDomainGroupId: t.emu.domain.groupId });
    expectShape(iotDomainGroup, groupShape);
    expect(iotDomainGroup.id).toBe(t.emu.domain.groupId);
    expect(Object.values(models.IotDomainGroup.Type)).toContain(iotDomainGroup.type);
    expect(iotDomainGroup.lifecycleState).toBe(models.IotDomainGroup.LifecycleState.Active);
  });

  it('listIotDomains and listIotDomainGroups list them, as summaries, for any compartment', async () => {
    const domains = (await sdk.iot.listIotDomains({ compartmentId })).iotDomainCollection.items;
    expect(domains.map((d) => d.id)).toEqual([t.emu.domain.id]);
    expectShape(domains[0], domainSummaryShape);

    const byGroup = await sdk.iot.listIotDomains({ compartmentId, iotDomainGroupId: 'ocid1.iotdomaingroup.oc1..other' });
    expect(byGroup.iotDomainCollection.items).toEqual([]);

    const groups = (await sdk.iot.listIotDomainGroups({ compartmentId })).iotDomainGroupCollection.items;
    expect(groups.map((g) => g.id)).toEqual([t.emu.domain.groupId]);
    expectShape(groups[0], groupSummaryShape);
  });
});

describe('digital twin instances', () => {
  it('create, get, update (if-match) and delete, each answering with the DigitalTwinInstance model', async () => {
    const { secret } = await newSecret('pw-1');
    const created = await sdk.iot.createDigitalTwinInstance({
      createDigitalTwinInstanceDetails: {
        iotDomainId: t.emu.domain.id,
        authId: secret.id,
        externalKey: 'sdk-crud-1',
        displayName: 'Boiler 1',
        description: 'basement',
        connectivityType: models.DigitalTwinInstanceConnectivityType.Direct,
        freeformTags: { site: 'lab' },
        definedTags: { Ops: { CostCenter: '42' } },
      },
    });
    const inst = created.digitalTwinInstance;
    expectShape(inst, instanceShape);
    expect(inst).toMatchObject({
      iotDomainId: t.emu.domain.id,
      authId: secret.id,
      externalKey: 'sdk-crud-1',
      displayName: 'Boiler 1',
      description: 'basement',
      connectivityType: models.DigitalTwinInstanceConnectivityType.Direct,
      lifecycleState: models.LifecycleState.Active,
      freeformTags: { site: 'lab' },
      definedTags: { Ops: { CostCenter: '42' } },
    });
    expect(inst.id).toMatch(/^ocid1\.iotdigitaltwininstance\.oc1\.us-ashburn-1\.[a-z0-9]+$/);
    expect(created.etag).toBeTruthy();

    const got = await sdk.iot.getDigitalTwinInstance({ digitalTwinInstanceId: inst.id });
    expect(got.digitalTwinInstance).toEqual(inst);
    expect(got.etag).toBe(created.etag);

    t.advance(1000);
    const updated = await sdk.iot.updateDigitalTwinInstance({
      digitalTwinInstanceId: inst.id,
      ifMatch: got.etag,
      updateDigitalTwinInstanceDetails: { displayName: 'Boiler one', freeformTags: { site: 'plant' } },
    });
    expectShape(updated.digitalTwinInstance, instanceShape);
    expect(updated.digitalTwinInstance).toMatchObject({ displayName: 'Boiler one', description: 'basement', freeformTags: { site: 'plant' } });
    expect(String(updated.digitalTwinInstance.timeUpdated) > String(inst.timeUpdated)).toBe(true);
    expect(updated.etag).not.toBe(created.etag);

    const stale = await ociError(
      sdk.iot.updateDigitalTwinInstance({
        digitalTwinInstanceId: inst.id,
        ifMatch: created.etag,
        updateDigitalTwinInstanceDetails: { displayName: 'lost update' },
      }),
    );
    expect(stale).toMatchObject({ statusCode: 412, serviceCode: 'NoEtagMatch' });
    expect((await sdk.iot.getDigitalTwinInstance({ digitalTwinInstanceId: inst.id })).digitalTwinInstance.displayName).toBe('Boiler one');

    const staleDelete = await ociError(sdk.iot.deleteDigitalTwinInstance({ digitalTwinInstanceId: inst.id, ifMatch: created.etag }));
    expect(staleDelete).toMatchObject({ statusCode: 412, serviceCode: 'NoEtagMatch' });

    const deleted = await sdk.iot.deleteDigitalTwinInstance({ digitalTwinInstanceId: inst.id, ifMatch: updated.etag });
    expect(deleted.opcRequestId).toBeTruthy();
    const after = await sdk.iot.getDigitalTwinInstance({ digitalTwinInstanceId: inst.id });
    expect(after.digitalTwinInstance.lifecycleState).toBe(models.LifecycleState.Deleted);
    const listed = await sdk.iot.listDigitalTwinInstances({ iotDomainId: t.emu.domain.id, id: inst.id });
    expect(listed.digitalTwinInstanceCollection.items).toEqual([]);
  });

  it('create without externalKey or displayName: the service fills both in, DIRECT by default', async () => {
    const { digitalTwinInstance: inst } = await sdk.iot.createDigitalTwinInstance({
      createDigitalTwinInstanceDetails: { iotDomainId: t.emu.domain.id },
    });
    expectShape(inst, instanceShape);
    expect(inst.externalKey).toMatch(/^[a-z0-9]{8,}$/);
    expect(inst.displayName).toBe(inst.externalKey);
    expect(inst.connectivityType).toBe(models.DigitalTwinInstanceConnectivityType.Direct);
  });

  it('listDigitalTwinInstances pages with limit / page / opc-next-page, and paginateResponses walks every page', async () => {
    const names = ['page-a', 'page-b', 'page-c', 'page-d', 'page-e'];
    const ids: string[] = [];
    for (const displayName of names) {
      const res = await sdk.iot.createDigitalTwinInstance({
        createDigitalTwinInstanceDetails: { iotDomainId: t.emu.domain.id, displayName, freeformTags: { batch: 'paging' } },
      });
      ids.push(res.digitalTwinInstance.id);
      t.advance(10);
    }
    const request = {
      iotDomainId: t.emu.domain.id,
      limit: 2,
      sortBy: requests.ListDigitalTwinInstancesRequest.SortBy.DisplayName,
      sortOrder: requests.ListDigitalTwinInstancesRequest.SortOrder.Asc,
    };
    const pages: string[][] = [];
    let page: string | undefined;
    do {
      const res = await sdk.iot.listDigitalTwinInstances({ ...request, page });
      res.digitalTwinInstanceCollection.items.forEach((item) => expectShape(item, instanceSummaryShape));
      pages.push(res.digitalTwinInstanceCollection.items.map((i) => i.displayName).filter((n) => n.startsWith('page-')));
      page = res.opcNextPage;
      if (page !== undefined) expect(res.digitalTwinInstanceCollection.items).toHaveLength(2);
    } while (page !== undefined);
    expect(pages.flat()).toEqual(names);

    // paginateRecords reads `items` off the response; IoT lists wrap them in a collection,
    // so whole pages are walked with paginateResponses.
    const all: models.DigitalTwinInstanceSummary[] = [];
    for await (const res of common.paginateResponses(
      {
        iotDomainId: t.emu.domain.id,
        limit: 2,
        sortBy: requests.ListDigitalTwinInstancesRequest.SortBy.TimeCreated,
        sortOrder: requests.ListDigitalTwinInstancesRequest.SortOrder.Desc,
      },
      (req: requests.ListDigitalTwinInstancesRequest) => sdk.iot.listDigitalTwinInstances(req),
    )) {
      all.push(...res.digitalTwinInstanceCollection.items);
    }
    const pagedIds = all.map((i) => i.id).filter((id) => ids.includes(id));
    expect(pagedIds).toEqual([...ids].reverse());
  });

  it('getDigitalTwinInstanceContent: 404 NotAuthorizedOrNotFound without a model (as OCI documents), {} with one and no telemetry yet', async () => {
    const plain = (await sdk.iot.createDigitalTwinInstance({ createDigitalTwinInstanceDetails: { iotDomainId: t.emu.domain.id } }))
      .digitalTwinInstance;
    const noModel = await ociError(sdk.iot.getDigitalTwinInstanceContent({ digitalTwinInstanceId: plain.id }));
    expect(noModel).toMatchObject({ statusCode: 404, serviceCode: 'NotAuthorizedOrNotFound' });
    expect(noModel.message).toMatch(/no digital twin model/);

    await sdk.iot.createDigitalTwinModel({
      createDigitalTwinModelDetails: {
        iotDomainId: t.emu.domain.id,
        spec: { '@context': 'dtmi:dtdl:context;3', '@id': 'dtmi:com:example:Thermostat;1', '@type': 'Interface', contents: [] },
      },
    });
    const modelled = await sdk.iot.createDigitalTwinInstance({
      createDigitalTwinInstanceDetails: { iotDomainId: t.emu.domain.id, digitalTwinModelSpecUri: 'dtmi:com:example:Thermostat;1' },
    });
    const content = await sdk.iot.getDigitalTwinInstanceContent({
      digitalTwinInstanceId: modelled.digitalTwinInstance.id,
      shouldIncludeMetadata: true,
    });
    expect(content.value).toEqual({});
    expect(content.etag).toBe(modelled.etag);

    const unknown = await ociError(sdk.iot.getDigitalTwinInstanceContent({ digitalTwinInstanceId: 'ocid1.iotdigitaltwininstance.oc1..nope' }));
    expect(unknown).toMatchObject({ statusCode: 404, serviceCode: 'NotAuthorizedOrNotFound' });
  });
});

describe('opc-retry-token on creates', () => {
  const count = (table: string) => (t.emu.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

  it('a create whose response is lost is retried by the SDK with its token, and makes one secret and one instance', async () => {
    const proxy = await startProxy(t.emu.restUrl);
    try {
      const viaProxy = sdkClients(proxy.url, authProvider(newApiKey()));
      const [secrets, instances] = [count('vault_secrets'), count('digital_twin_instances')];

      proxy.dropResponses(1);
      const { secret } = await viaProxy.vaults.createSecret({
        createSecretDetails: {
          compartmentId,
          vaultId: 'ocid1.vault.oc1..v',
          keyId: 'ocid1.key.oc1..k',
          secretName: 'lossy-secret',
          secretContent: { contentType: 'BASE64', content: Buffer.from('pw').toString('base64') },
        },
        retryConfiguration: retryWithoutWaiting,
      });
      proxy.dropResponses(1);
      const { digitalTwinInstance } = await viaProxy.iot.createDigitalTwinInstance({
        createDigitalTwinInstanceDetails: { iotDomainId: t.emu.domain.id, authId: secret.id, externalKey: 'lossy-device' },
        retryConfiguration: retryWithoutWaiting,
      });

      const creates = proxy.requests.filter((r) => r.method === 'POST');
      expect(creates).toHaveLength(4);
      expect(creates[1].headers['opc-retry-token']).toBe(creates[0].headers['opc-retry-token']);
      expect(creates[3].headers['opc-retry-token']).toBe(creates[2].headers['opc-retry-token']);
      expect([count('vault_secrets'), count('digital_twin_instances')]).toEqual([secrets + 1, instances + 1]);
      expect(digitalTwinInstance).toMatchObject({ externalKey: 'lossy-device', authId: secret.id });
    } finally {
      await proxy.close();
    }
  });

  it('the same token with another body is 409 InvalidatedRetryToken', async () => {
    const first = await sdk.iot.createDigitalTwinInstance({
      createDigitalTwinInstanceDetails: { iotDomainId: t.emu.domain.id, displayName: 'token-a' },
      opcRetryToken: 'create-token-1',
    });
    const again = await sdk.iot.createDigitalTwinInstance({
      createDigitalTwinInstanceDetails: { iotDomainId: t.emu.domain.id, displayName: 'token-a' },
      opcRetryToken: 'create-token-1',
    });
    expect(again.digitalTwinInstance.id).toBe(first.digitalTwinInstance.id);
    const other = await ociError(
      sdk.iot.createDigitalTwinInstance({
        createDigitalTwinInstanceDetails: { iotDomainId: t.emu.domain.id, displayName: 'token-b' },
        opcRetryToken: 'create-token-1',
      }),
    );
    expect(other).toMatchObject({ statusCode: 409, serviceCode: 'InvalidatedRetryToken' });
  });
});
