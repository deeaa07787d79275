/**
 * Domain groups, domains and work requests through Oracle's TypeScript SDK (oci-iot),
 * stepped with the manual clock: CREATING -> ACTIVE, UPDATING, DELETING -> DELETED, each
 * driven by a work request whose status and percentComplete follow the emulator's clock.
 */
import * as common from 'oci-common';
import { IotWaiter, models } from 'oci-iot';
import { describe, expect, it } from 'vitest';
import type { TestEmulator } from '../support/harness.js';
import { domainShape, expectShape, ociError, provisionDevice, type SdkClients, sdkSuite, type Shape } from './support.js';

const COMPARTMENT = 'ocid1.compartment.oc1..aaaaproject';
const OTHER_COMPARTMENT = 'ocid1.compartment.oc1..aaaaother';
/** The default --work-request-duration: IN_PROGRESS half way, SUCCEEDED at the end. */
const HALF = 250;

const workRequestShape: Shape<models.WorkRequest> = {
  operationType: 'required',
  status: 'required',
  id: 'required',
  compartmentId: 'required',
  resources: 'required',
  percentComplete: 'required',
  timeAccepted: 'required',
  timeStarted: 'optional',
  timeFinished: 'optional',
  timeUpdated: 'optional',
};
const workRequestSummaryShape: Shape<models.WorkRequestSummary> = workRequestShape;

let t: TestEmulator;
let sdk: SdkClients;
sdkSuite((started) => {
  ({ t, sdk } = started);
});

/**
 * The SDKs retry 409 IncorrectState (OCI's "busy, try again"), as they do against OCI; the
 * refusals themselves are checked here, so those calls are made once.
 */
const once = { retryConfiguration: { terminationStrategy: new common.MaxAttemptsTerminationStrategy(1) } };

const workRequest = async (id: string) => (await sdk.iot.getWorkRequest({ workRequestId: id })).workRequest;

/** What `oci ... --wait-for-state SUCCEEDED` does: poll GetWorkRequest until its status is one asked for. */
async function waitLikeTheCli(workRequestId: string, states: string[]): Promise<models.WorkRequest> {
  for (let polls = 0; polls < 100; polls++) {
    const wr = await workRequest(workRequestId);
    if (states.includes(wr.status)) return wr;
    t.advance(HALF);
  }
  throw new Error(`work request ${workRequestId} never reached ${states.join(' or ')}`);
}

async function activeGroup(fields: Partial<models.CreateIotDomainGroupDetails> = {}): Promise<models.IotDomainGroup> {
  const created = await sdk.iot.createIotDomainGroup({ createIotDomainGroupDetails: { compartmentId: COMPARTMENT, ...fields } });
  await waitLikeTheCli(created.opcWorkRequestId, ['SUCCEEDED']);
  return (await sdk.iot.getIotDomainGroup({ iotDomainGroupId: created.iotDomainGroup.id })).iotDomainGroup;
}

async function activeDomain(groupId: string, fields: Partial<models.CreateIotDomainDetails> = {}): Promise<models.IotDomain> {
  const created = await sdk.iot.createIotDomain({ createIotDomainDetails: { iotDomainGroupId: groupId, compartmentId: COMPARTMENT, ...fields } });
  await waitLikeTheCli(created.opcWorkRequestId, ['SUCCEEDED']);
  return (await sdk.iot.getIotDomain({ iotDomainId: created.iotDomain.id })).iotDomain;
}

describe('domain groups and domains, stepped by the manual clock', () => {
  it('a domain group is CREATING, its work request ACCEPTED, IN_PROGRESS at 50%, then SUCCEEDED and the group ACTIVE', async () => {
    const created = await sdk.iot.createIotDomainGroup({
      createIotDomainGroupDetails: { compartmentId: COMPARTMENT, displayName: 'plant-a', description: 'lines 1-3', freeformTags: { team: 'ops' } },
    });
    expect(created.iotDomainGroup).toMatchObject({ displayName: 'plant-a', lifecycleState: 'CREATING', type: 'DEVELOPMENT', freeformTags: { team: 'ops' } });
    expect(created.opcWorkRequestId).toMatch(/^ocid1\.iotworkrequest\./);
    expect(created.location).toBe(`${t.emu.restUrl}/20250531/iotDomainGroups/${created.iotDomainGroup.id}`);
    expect(created.etag).toBeTruthy();

    const accepted = await workRequest(created.opcWorkRequestId);
    expectShape(accepted, workRequestShape);
    expect(accepted).toMatchObject({
      operationType: 'CREATE_IOT_DOMAIN_GROUP',
      status: 'ACCEPTED',
      percentComplete: 0,
      compartmentId: COMPARTMENT,
      resources: [{ entityType: 'iotDomainGroup', actionType: 'IN_PROGRESS', identifier: created.iotDomainGroup.id }],
    });
    expect(accepted.timeStarted ?? null).toBeNull();

    t.advance(HALF);
    const started = await workRequest(created.opcWorkRequestId);
    expect(started).toMatchObject({ status: 'IN_PROGRESS', percentComplete: 50 });
    expect(started.timeStarted).toBeTruthy();
    expect((await sdk.iot.getIotDomainGroup({ iotDomainGroupId: created.iotDomainGroup.id })).iotDomainGroup.lifecycleState).toBe('CREATING');

    t.advance(HALF);
    const done = await workRequest(created.opcWorkRequestId);
    expect(done).toMatchObject({ status: 'SUCCEEDED', percentComplete: 100, resources: [{ actionType: 'CREATED' }] });
    expect(new Date(done.timeFinished!).getTime() - new Date(done.timeAccepted).getTime()).toBe(2 * HALF);
    const group = (await sdk.iot.getIotDomainGroup({ iotDomainGroupId: created.iotDomainGroup.id })).iotDomainGroup;
    expect(group).toMatchObject({ lifecycleState: 'ACTIVE', displayName: 'plant-a', dbAllowListedVcnIds: [] });
    expect(group.dataHost).toMatch(/^[a-z2-7]{12}\.data\.iot\.localhost$/);

    const logs = (await sdk.iot.listWorkRequestLogs({ workRequestId: done.id })).workRequestLogEntryCollection.items;
    expect(logs.map((l) => l.message)).toEqual([
      `Create IoT domain group ${group.id}: accepted`,
      `Create IoT domain group ${group.id}: in progress`,
      `Create IoT domain group ${group.id}: succeeded`,
    ]);
    expect((await sdk.iot.listWorkRequestErrors({ workRequestId: done.id })).workRequestErrorCollection.items).toEqual([]);
  });

  it('a domain cannot be created in a group that is not ACTIVE yet (409 IncorrectState), nor in an unknown one', async () => {
    const creating = await sdk.iot.createIotDomainGroup({ createIotDomainGroupDetails: { compartmentId: COMPARTMENT } });
    const err = await ociError(sdk.iot.createIotDomain({ createIotDomainDetails: { iotDomainGroupId: creating.iotDomainGroup.id, compartmentId: COMPARTMENT }, ...once }));
    expect([err.statusCode, err.serviceCode]).toEqual([409, 'IncorrectState']);
    const unknown = await ociError(sdk.iot.createIotDomain({ createIotDomainDetails: { iotDomainGroupId: 'ocid1.iotdomaingroup.oc1..nope', compartmentId: COMPARTMENT } }));
    expect([unknown.statusCode, unknown.serviceCode]).toEqual([400, 'RelatedResourceNotAuthorizedOrNotFound']);
    t.advance(2 * HALF);
  });

  it('the SDK waiter waits for the work request, and the new domain has its own short id, deviceHost and OCI fields', async () => {
    const group = await activeGroup();
    const created = await sdk.iot.createIotDomain({ createIotDomainDetails: { iotDomainGroupId: group.id, compartmentId: COMPARTMENT, displayName: 'line-1' } });
    expect(created.iotDomain.lifecycleState).toBe('CREATING');
    const waiter = new IotWaiter(sdk.iot, { terminationStrategy: new common.MaxAttemptsTerminationStrategy(1000), delayStrategy: new common.FixedTimeDelayStrategy(0) });
    const waiting = waiter.forWorkRequest({ workRequestId: created.opcWorkRequestId });
    t.advance(2 * HALF);
    expect((await waiting).workRequest.status).toBe('SUCCEEDED');
    const ready = await waiter.forIotDomain({ iotDomainId: created.iotDomain.id }, models.IotDomain.LifecycleState.Active);
    const domain = ready!.iotDomain;
    expectShape(domain, domainShape);
    expect(domain).toMatchObject({
      iotDomainGroupId: group.id,
      compartmentId: COMPARTMENT,
      displayName: 'line-1',
      lifecycleState: 'ACTIVE',
      dbAllowListedIdentityGroupNames: [],
      dataRetentionPeriodsInDays: { rawData: 16, rejectedData: 16, historizedData: 30, rawCommandData: 16 },
    });
    expect(domain.deviceHost).toMatch(/^[a-z2-7]{12}\.device\.iot\.localhost$/);
    expect(domain.deviceHost!.split('.')[0]).not.toBe(t.emu.domain.shortId);
    // Its data API answers on its own path.
    const res = await fetch(`${t.emu.restUrl}/ords/${domain.deviceHost!.split('.')[0]}/20250531/rawData`);
    expect(res.status).toBe(200);
  });

  it('lists show a compartment its own resources and the emulator-made first ones; paging and filters work', async () => {
    const group = await activeGroup({ displayName: 'listed' });
    await activeDomain(group.id, { displayName: 'b-domain' });
    await activeDomain(group.id, { displayName: 'a-domain', compartmentId: OTHER_COMPARTMENT });

    const mine = (await sdk.iot.listIotDomains({ compartmentId: COMPARTMENT, iotDomainGroupId: group.id })).iotDomainCollection.items;
    expect(mine.map((d) => d.displayName)).toEqual(['b-domain']);
    const other = (await sdk.iot.listIotDomains({ compartmentId: OTHER_COMPARTMENT })).iotDomainCollection.items.map((d) => d.displayName);
    expect(other).toEqual(expect.arrayContaining(['a-domain', 'emulator-domain']));
    expect(other).not.toContain('b-domain');

    const byName = await sdk.iot.listIotDomains({ compartmentId: OTHER_COMPARTMENT, sortBy: 'displayName' as never, sortOrder: 'ASC' as never, limit: 1 });
    expect(byName.iotDomainCollection.items.map((d) => d.displayName)).toEqual(['a-domain']);
    expect(byName.opcNextPage).toBe('1');
    const next = await sdk.iot.listIotDomains({ compartmentId: OTHER_COMPARTMENT, sortBy: 'displayName' as never, sortOrder: 'ASC' as never, limit: 1, page: byName.opcNextPage });
    expect(next.iotDomainCollection.items.map((d) => d.displayName)).toEqual(['emulator-domain']);

    const groups = (await sdk.iot.listIotDomainGroups({ compartmentId: COMPARTMENT, displayName: 'listed' })).iotDomainGroupCollection.items;
    expect(groups.map((g) => g.id)).toEqual([group.id]);
    const wrs = (await sdk.iot.listWorkRequests({ compartmentId: COMPARTMENT, resourceId: group.id })).workRequestSummaryCollection.items;
    expect(wrs.map((w) => w.operationType)).toEqual(['CREATE_IOT_DOMAIN_GROUP']);
    expectShape(wrs[0], workRequestSummaryShape);
    const succeeded = (await sdk.iot.listWorkRequests({ compartmentId: COMPARTMENT, status: 'SUCCEEDED' as never })).workRequestSummaryCollection.items;
    expect(succeeded.every((w) => w.status === 'SUCCEEDED')).toBe(true);
  });

  it('update honours if-match and applies when its work request succeeds; changeCompartment moves the domain', async () => {
    const group = await activeGroup();
    const domain = await activeDomain(group.id, { displayName: 'before' });
    const { etag } = await sdk.iot.getIotDomain({ iotDomainId: domain.id });

    const stale = await ociError(sdk.iot.updateIotDomain({ iotDomainId: domain.id, ifMatch: 'not-the-etag', updateIotDomainDetails: { displayName: 'x' } }));
    expect([stale.statusCode, stale.serviceCode]).toEqual([412, 'NoEtagMatch']);

    const update = await sdk.iot.updateIotDomain({ iotDomainId: domain.id, ifMatch: etag, updateIotDomainDetails: { displayName: 'after', freeformTags: { k: 'v' } } });
    expect((await sdk.iot.getIotDomain({ iotDomainId: domain.id })).iotDomain).toMatchObject({ lifecycleState: 'UPDATING', displayName: 'before' });
    // One operation at a time on a resource.
    const busy = await ociError(sdk.iot.deleteIotDomain({ iotDomainId: domain.id, ...once }));
    expect([busy.statusCode, busy.serviceCode]).toEqual([409, 'IncorrectState']);
    expect((await waitLikeTheCli(update.opcWorkRequestId, ['SUCCEEDED', 'FAILED'])).operationType).toBe('UPDATE_IOT_DOMAIN');
    expect((await sdk.iot.getIotDomain({ iotDomainId: domain.id })).iotDomain).toMatchObject({ lifecycleState: 'ACTIVE', displayName: 'after', freeformTags: { k: 'v' } });

    const move = await sdk.iot.changeIotDomainCompartment({ iotDomainId: domain.id, changeIotDomainCompartmentDetails: { compartmentId: OTHER_COMPARTMENT } });
    expect((await waitLikeTheCli(move.opcWorkRequestId, ['SUCCEEDED'])).operationType).toBe('MOVE_IOT_DOMAIN');
    expect((await sdk.iot.getIotDomain({ iotDomainId: domain.id })).iotDomain.compartmentId).toBe(OTHER_COMPARTMENT);

    const moveGroup = await sdk.iot.changeIotDomainGroupCompartment({ iotDomainGroupId: group.id, changeIotDomainGroupCompartmentDetails: { compartmentId: OTHER_COMPARTMENT } });
    await waitLikeTheCli(moveGroup.opcWorkRequestId, ['SUCCEEDED']);
    const updateGroup = await sdk.iot.updateIotDomainGroup({ iotDomainGroupId: group.id, updateIotDomainGroupDetails: { description: 'moved' } });
    await waitLikeTheCli(updateGroup.opcWorkRequestId, ['SUCCEEDED']);
    expect((await sdk.iot.getIotDomainGroup({ iotDomainGroupId: group.id })).iotDomainGroup).toMatchObject({ compartmentId: OTHER_COMPARTMENT, description: 'moved' });
  });

  it('changeDataRetentionPeriod only increases, within range, per data type; bad input is refused', async () => {
    const group = await activeGroup();
    const domain = await activeDomain(group.id);
    const change = (type: string, days: number) =>
      sdk.iot.changeIotDomainDataRetentionPeriod({ iotDomainId: domain.id, changeIotDomainDataRetentionPeriodDetails: { type: type as never, dataRetentionPeriodInDays: days } });

    for (const [type, days, code] of [['RAW_DATA', 15, 'InvalidParameter'], ['RAW_DATA', 3651, 'InvalidParameter'], ['RAW_DATA', 0, 'InvalidParameter'], ['NOT_A_TYPE', 20, 'InvalidParameter']] as const) {
      const err = await ociError(change(type, days));
      expect([err.statusCode, err.serviceCode], `${type} ${days}`).toEqual([400, code]);
    }
    const ok = await change('HISTORIZED_DATA', 90);
    expect((await waitLikeTheCli(ok.opcWorkRequestId, ['SUCCEEDED'])).operationType).toBe('CHANGE_IOT_DOMAIN_DATA_RETENTION');
    const raw = await change('RAW_COMMAND_DATA', 20);
    await waitLikeTheCli(raw.opcWorkRequestId, ['SUCCEEDED']);
    expect((await sdk.iot.getIotDomain({ iotDomainId: domain.id })).iotDomain.dataRetentionPeriodsInDays).toEqual({ rawData: 16, rejectedData: 16, historizedData: 90, rawCommandData: 20 });
  });

  it('configureDataAccess (DIRECT, ORDS, APEX on the domain; VCNs on the group) is recorded and shown in the fields OCI has', async () => {
    const group = await activeGroup();
    const domain = await activeDomain(group.id);
    const configure = async (details: models.DirectDataAccessDetails | models.OrdsDataAccessDetails | models.ApexDataAccessDetails) => {
      const res = await sdk.iot.configureIotDomainDataAccess({ iotDomainId: domain.id, configureIotDomainDataAccessDetails: details });
      return waitLikeTheCli(res.opcWorkRequestId, ['SUCCEEDED']);
    };
    await configure({ type: 'DIRECT', dbAllowListedIdentityGroupNames: ['iot-readers'] });
    await configure({ type: 'ORDS', dbAllowedIdentityDomainHost: 'idcs-123.identity.oraclecloud.com' });
    const apex = await configure({ type: 'APEX', dbWorkspaceAdminInitialPassword: 'Secret-123' });
    expect(apex.operationType).toBe('CONFIGURE_DOMAIN_DATA_ACCESS');
    expect((await sdk.iot.getIotDomain({ iotDomainId: domain.id })).iotDomain).toMatchObject({
      dbAllowListedIdentityGroupNames: ['iot-readers'],
      dbAllowedIdentityDomainHost: 'idcs-123.identity.oraclecloud.com',
    });
    const logs = (await sdk.iot.listWorkRequestLogs({ workRequestId: apex.id })).workRequestLogEntryCollection.items;
    expect(JSON.stringify(logs)).not.toContain('Secret-123');

    const missingField = await ociError(sdk.iot.configureIotDomainDataAccess({ iotDomainId: domain.id, configureIotDomainDataAccessDetails: { type: 'ORDS' } as never }));
    expect([missingField.statusCode, missingField.serviceCode]).toEqual([400, 'MissingParameter']);

    const vcns = await sdk.iot.configureIotDomainGroupDataAccess({ iotDomainGroupId: group.id, configureIotDomainGroupDataAccessDetails: { dbAllowListedVcnIds: ['ocid1.vcn.oc1..a'] } });
    expect((await waitLikeTheCli(vcns.opcWorkRequestId, ['SUCCEEDED'])).operationType).toBe('CONFIGURE_DOMAIN_GROUP_DATA_ACCESS');
    expect((await sdk.iot.getIotDomainGroup({ iotDomainGroupId: group.id })).iotDomainGroup.dbAllowListedVcnIds).toEqual(['ocid1.vcn.oc1..a']);
  });

  it('deleting: a group with live domains is refused; a domain goes DELETING -> DELETED taking its instances with it; then the group', async () => {
    const group = await activeGroup();
    const domain = await activeDomain(group.id);
    const device = await provisionDevice(sdk, domain.id);

    const early = await ociError(sdk.iot.deleteIotDomainGroup({ iotDomainGroupId: group.id, ...once }));
    expect([early.statusCode, early.serviceCode]).toEqual([409, 'IncorrectState']);

    const del = await sdk.iot.deleteIotDomain({ iotDomainId: domain.id });
    expect((await sdk.iot.getIotDomain({ iotDomainId: domain.id })).iotDomain.lifecycleState).toBe('DELETING');
    const wr = await waitLikeTheCli(del.opcWorkRequestId, ['SUCCEEDED']);
    expect(wr.resources[0].actionType).toBe('DELETED');
    expect((await sdk.iot.getIotDomain({ iotDomainId: domain.id })).iotDomain.lifecycleState).toBe('DELETED');
    expect((await sdk.iot.getDigitalTwinInstance({ digitalTwinInstanceId: device.instanceId })).digitalTwinInstance.lifecycleState).toBe('DELETED');
    const logs = (await sdk.iot.listWorkRequestLogs({ workRequestId: wr.id })).workRequestLogEntryCollection.items.map((l) => l.message);
    expect(logs.at(-1)).toMatch(/its 1 digital twin instance\(s\) deleted with it/);
    expect((await sdk.iot.listIotDomains({ compartmentId: COMPARTMENT, iotDomainGroupId: group.id })).iotDomainCollection.items).toEqual([]);
    const gone = await ociError(sdk.iot.updateIotDomain({ iotDomainId: domain.id, updateIotDomainDetails: { displayName: 'x' } }));
    expect([gone.statusCode, gone.serviceCode]).toEqual([404, 'NotAuthorizedOrNotFound']);
    const noInstances = await ociError(sdk.iot.createDigitalTwinInstance({ createDigitalTwinInstanceDetails: { iotDomainId: domain.id } }));
    expect([noInstances.statusCode, noInstances.serviceCode]).toEqual([400, 'RelatedResourceNotAuthorizedOrNotFound']);

    const delGroup = await sdk.iot.deleteIotDomainGroup({ iotDomainGroupId: group.id });
    await waitLikeTheCli(delGroup.opcWorkRequestId, ['SUCCEEDED']);
    expect((await sdk.iot.getIotDomainGroup({ iotDomainGroupId: group.id })).iotDomainGroup.lifecycleState).toBe('DELETED');
    const deletedGroupParent = await ociError(sdk.iot.createIotDomain({ createIotDomainDetails: { iotDomainGroupId: group.id, compartmentId: COMPARTMENT } }));
    expect([deletedGroupParent.statusCode, deletedGroupParent.serviceCode]).toEqual([400, 'RelatedResourceNotAuthorizedOrNotFound']);
  });

  it('an unknown work request id is 404 NotAuthorizedOrNotFound for get, logs and errors', async () => {
    for (const call of [
      sdk.iot.getWorkRequest({ workRequestId: 'ocid1.iotworkrequest.oc1..nope' }),
      sdk.iot.listWorkRequestLogs({ workRequestId: 'ocid1.iotworkrequest.oc1..nope' }),
      sdk.iot.listWorkRequestErrors({ workRequestId: 'ocid1.iotworkrequest.oc1..nope' }),
    ]) {
      const err = await ociError(call);
      expect([err.statusCode, err.serviceCode]).toEqual([404, 'NotAuthorizedOrNotFound']);
    }
  });
});
