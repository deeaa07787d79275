/** The OCI REST contract over real HTTP: shapes, paging, etags, and every bad input of issue 2. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEED_COMMAND, startTestEmulator, type TestEmulator } from '../support/harness.js';

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(async () => {
  await t.close();
});

/**
 * A device made the way an OCI user makes one, over REST: a Vault secret, then an instance
 * naming it. Here the REST calls are what is tested; other suites use t.createDevice().
 */
async function createOverRest(fields: Record<string, unknown> = {}) {
  const secret = await t.rest('POST', '/20180608/secrets', { secretContent: { contentType: 'BASE64', content: Buffer.from('pw').toString('base64') } });
  expect(secret.status).toBe(200);
  const instance = await t.rest('POST', '/20250531/digitalTwinInstances', { iotDomainId: t.emu.domain.id, authId: secret.body.id, ...fields });
  expect(instance.status).toBe(200);
  return { instanceId: instance.body.id as string, externalKey: instance.body.externalKey as string };
}

const count = (table: string) => (t.emu.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

describe('every reply', () => {
  it('carries opc-request-id, echoing the caller’s', async () => {
    const mine = await t.rest('GET', `/20250531/iotDomains/${t.emu.domain.id}`, undefined, { 'opc-request-id': 'MY-REQ-1' });
    expect(mine.headers.get('opc-request-id')).toBe('MY-REQ-1');
    const generated = await t.rest('GET', '/20250531/nope');
    expect(generated.headers.get('opc-request-id')).toMatch(/^[0-9A-F]{32}$/);
    expect(generated.status).toBe(404);
    expect(generated.body).toEqual({ code: 'NotFound', message: expect.stringContaining('/20250531/nope') });
  });
});

describe('IoT domain and domain group', () => {
  it('get and list the one domain and group, with deviceHost and dataHost in OCI\'s shape (short id first)', async () => {
    const domain = await t.rest('GET', `/20250531/iotDomains/${t.emu.domain.id}`);
    expect(domain.status).toBe(200);
    expect(domain.body).toMatchObject({
      id: t.emu.domain.id,
      iotDomainGroupId: t.emu.domain.groupId,
      deviceHost: `${t.emu.domain.shortId}.device.iot.localhost`,
      lifecycleState: 'ACTIVE',
    });
    expect(domain.headers.get('etag')).toBeTruthy();
    const list = await t.rest('GET', '/20250531/iotDomains?compartmentId=ocid1.compartment.oc1..mine');
    expect(list.body.items.map((d: { id: string }) => d.id)).toEqual([t.emu.domain.id]);
    const group = await t.rest('GET', `/20250531/iotDomainGroups/${t.emu.domain.groupId}`);
    expect(group.body).toMatchObject({ id: t.emu.domain.groupId, lifecycleState: 'ACTIVE', type: 'DEVELOPMENT' });
    expect(group.body.dataHost).toMatch(/^[a-z2-7]{12}\.data\.iot\.localhost$/);
    // The shape Oracle's file-agent sample parses (tcps:<host>:<port>/<service>); nothing listens there.
    const groupShort = group.body.dataHost.split('.')[0];
    expect(group.body.dbConnectionString).toBe(`tcps:adb.us-ashburn-1.oraclecloud.com:1522/${groupShort}_iot.adb.oraclecloud.com`);
    expect(group.body.dbConnectionString).toMatch(/^tcps:(.*):(\d+)\/([^?]*)(\?.*)?$/);
    const groups = await t.rest('GET', '/20250531/iotDomainGroups?compartmentId=x');
    expect(groups.body.items).toHaveLength(1);
    expect((await t.rest('GET', '/20250531/iotDomains')).body.code).toBe('MissingParameter');
    expect((await t.rest('GET', '/20250531/iotDomains/ocid1.iotdomain.oc1..unknown')).status).toBe(404);
  });
});

describe('Vault secrets', () => {
  it('create, get, and read the bundle back', async () => {
    const created = await t.rest('POST', '/20180608/secrets', {
      compartmentId: 'ocid1.compartment.oc1..c',
      vaultId: 'ocid1.vault.oc1..v',
      keyId: 'ocid1.key.oc1..k',
      secretName: 'device-pw',
      secretContent: { contentType: 'BASE64', content: Buffer.from('hunter2').toString('base64') },
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ secretName: 'device-pw', lifecycleState: 'ACTIVE', vaultId: 'ocid1.vault.oc1..v' });
    expect(created.body.id).toMatch(/^ocid1\.vaultsecret\./);
    expect((await t.rest('GET', `/20180608/secrets/${created.body.id}`)).body.secretName).toBe('device-pw');
    const bundle = await t.rest('GET', `/20190301/secretbundles/${created.body.id}`);
    expect(Buffer.from(bundle.body.secretBundleContent.content, 'base64').toString()).toBe('hunter2');
    expect(bundle.body.stages).toContain('CURRENT');
  });

  it('refuses content that is not base64 and a duplicate name', async () => {
    const before = count('vault_secrets');
    const bad = await t.rest('POST', '/20180608/secrets', { secretContent: { content: '***' } });
    expect(bad).toMatchObject({ status: 400, body: { code: 'InvalidParameter' } });
    const none = await t.rest('POST', '/20180608/secrets', {});
    expect(none).toMatchObject({ status: 400, body: { code: 'MissingParameter', message: 'secretContent is required' } });
    await t.rest('POST', '/20180608/secrets', { secretName: 'dup', secretContent: { content: 'YQ==' } });
    const dup = await t.rest('POST', '/20180608/secrets', { secretName: 'dup', secretContent: { content: 'YQ==' } });
    expect(dup).toMatchObject({ status: 409, body: { code: 'Conflict' } });
    expect(count('vault_secrets')).toBe(before + 1);
  });
});

describe('digital twin instances', () => {
  it('create generates an externalKey and fills OCI fields; get returns it with an etag', async () => {
    const d = await createOverRest({ displayName: 'pump-1', freeformTags: { site: 'lab' } });
    const got = await t.rest('GET', `/20250531/digitalTwinInstances/${d.instanceId}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      id: d.instanceId,
      iotDomainId: t.emu.domain.id,
      connectivityType: 'DIRECT',
      externalKey: d.externalKey,
      displayName: 'pump-1',
      lifecycleState: 'ACTIVE',
      freeformTags: { site: 'lab' },
    });
    expect(got.body.id).toMatch(/^ocid1\.iotdigitaltwininstance\.oc1\.us-ashburn-1\./);
    expect(Date.parse(got.body.timeCreated)).not.toBeNaN();
    expect(got.headers.get('etag')).toMatch(/^[0-9a-f]{32}$/);
  });

  it('lists with paging, sorting and filters', async () => {
    const names = ['list-c', 'list-a', 'list-b'];
    for (const displayName of names) await createOverRest({ displayName, freeformTags: { group: 'paging' } });
    const base = `/20250531/digitalTwinInstances?iotDomainId=${t.emu.domain.id}&sortBy=displayName&sortOrder=ASC`;
    const page1 = await t.rest('GET', `${base}&limit=2`);
    const all = (await t.rest('GET', base)).body.items.map((i: { displayName: string }) => i.displayName);
    expect(all).toEqual([...all].sort());
    expect(page1.body.items).toHaveLength(2);
    const next = page1.headers.get('opc-next-page');
    expect(next).toBeTruthy();
    const page2 = await t.rest('GET', `${base}&limit=2&page=${next}`);
    expect(page2.body.items[0].displayName).toBe(all[2]);
    const byName = await t.rest('GET', `/20250531/digitalTwinInstances?iotDomainId=${t.emu.domain.id}&displayName=list-b`);
    expect(byName.body.items.map((i: { displayName: string }) => i.displayName)).toEqual(['list-b']);
    const newestFirst = await t.rest('GET', `/20250531/digitalTwinInstances?iotDomainId=${t.emu.domain.id}`);
    const times = newestFirst.body.items.map((i: { timeCreated: string }) => i.timeCreated);
    expect(times).toEqual([...times].sort().reverse());
    const bad = await t.rest('GET', `/20250531/digitalTwinInstances?iotDomainId=${t.emu.domain.id}&sortBy=color`);
    expect(bad).toMatchObject({ status: 400, body: { code: 'InvalidParameter' } });
  });

  it('update honours if-match and bumps the etag; a stale etag is 412 and changes nothing', async () => {
    const d = await createOverRest();
    const got = await t.rest('GET', `/20250531/digitalTwinInstances/${d.instanceId}`);
    const etag = got.headers.get('etag')!;
    const stale = await t.rest('PUT', `/20250531/digitalTwinInstances/${d.instanceId}`, { displayName: 'x' }, { 'if-match': 'not-it' });
    expect(stale).toMatchObject({ status: 412, body: { code: 'NoEtagMatch' } });
    const ok = await t.rest('PUT', `/20250531/digitalTwinInstances/${d.instanceId}`, { displayName: 'renamed' }, { 'if-match': etag });
    expect(ok.status).toBe(200);
    expect(ok.body.displayName).toBe('renamed');
    expect(ok.headers.get('etag')).not.toBe(etag);
    const again = await t.rest('PUT', `/20250531/digitalTwinInstances/${d.instanceId}`, { displayName: 'y' }, { 'if-match': etag });
    expect(again.status).toBe(412);
    expect((await t.rest('GET', `/20250531/digitalTwinInstances/${d.instanceId}`)).body.displayName).toBe('renamed');
  });

  it('refuses bad create input and stores nothing', async () => {
    const before = count('digital_twin_instances');
    const d = await createOverRest({ externalKey: 'taken-key' });
    const cases: Array<[unknown, number, string]> = [
      [{}, 400, 'MissingParameter'],
      [{ iotDomainId: 'ocid1.iotdomain.oc1..nope' }, 400, 'RelatedResourceNotAuthorizedOrNotFound'],
      [{ iotDomainId: t.emu.domain.id, authId: 'ocid1.vaultsecret.oc1..nope' }, 400, 'RelatedResourceNotAuthorizedOrNotFound'],
      [{ iotDomainId: t.emu.domain.id, externalKey: 'taken-key' }, 409, 'Conflict'],
      [{ iotDomainId: t.emu.domain.id, connectivityType: 'WIRELESS' }, 400, 'InvalidParameter'],
      [{ iotDomainId: t.emu.domain.id, displayName: '' }, 400, 'InvalidParameter'],
      ['{"iotDomainId": ', 400, 'CannotParseRequest'],
    ];
    for (const [body, status, code] of cases) {
      const res = await t.rest('POST', '/20250531/digitalTwinInstances', body);
      expect({ body, status: res.status, code: res.body.code }).toEqual({ body, status, code });
      expect(res.body.message.length).toBeGreaterThan(5);
    }
    expect(count('digital_twin_instances')).toBe(before + 1);
    expect(d.externalKey).toBe('taken-key');
  });

  it('delete is 204, leaves the instance DELETED, frees its externalKey and refuses commands', async () => {
    const d = await createOverRest({ externalKey: 'to-delete' });
    expect((await t.rest('DELETE', `/20250531/digitalTwinInstances/${d.instanceId}`, undefined, { 'if-match': 'wrong' })).status).toBe(412);
    const del = await t.rest('DELETE', `/20250531/digitalTwinInstances/${d.instanceId}`);
    expect(del.status).toBe(204);
    expect((await t.rest('GET', `/20250531/digitalTwinInstances/${d.instanceId}`)).body.lifecycleState).toBe('DELETED');
    const invoke = await t.rest('POST', `/20250531/digitalTwinInstances/${d.instanceId}/actions/invokeRawCommand`, SEED_COMMAND);
    expect(invoke).toMatchObject({ status: 404, body: { code: 'NotAuthorizedOrNotFound' } });
    expect((await t.rest('DELETE', `/20250531/digitalTwinInstances/${d.instanceId}`)).status).toBe(404);
    const reused = await createOverRest({ externalKey: 'to-delete' });
    expect(reused.instanceId).not.toBe(d.instanceId);
    const deleted = await t.rest('GET', `/20250531/digitalTwinInstances?iotDomainId=${t.emu.domain.id}&lifecycleState=DELETED`);
    expect(deleted.body.items.map((i: { id: string }) => i.id)).toContain(d.instanceId);
  });
});

describe('invokeRawCommand', () => {
  it('answers 202 with an empty body and a Location that resolves to the row', async () => {
    const d = await t.createDevice();
    const res = await fetch(`${t.emu.restUrl}/20250531/digitalTwinInstances/${d.instanceId}/actions/invokeRawCommand`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(SEED_COMMAND),
    });
    expect(res.status).toBe(202);
    expect(await res.text()).toBe('');
    const location = res.headers.get('location')!;
    const row = await (await fetch(location)).json();
    expect(row).toMatchObject({ id: Number(location.split('/').pop()), delivery_status: 'REFUSED', request_data: '{"temp":33}' });
  });

  it('refuses every bad input with OCI status and code, and stores no command', async () => {
    const d = await t.createDevice();
    const before = count('commands');
    const path = `/20250531/digitalTwinInstances/${d.instanceId}/actions/invokeRawCommand`;
    const cases: Array<[unknown, number, string]> = [
      ['{not json', 400, 'CannotParseRequest'],
      [{ requestEndpoint: 'a' }, 400, 'MissingParameter'],
      [{ requestDataFormat: 'JSON' }, 400, 'MissingParameter'],
      [{ requestDataFormat: 'YAML', requestEndpoint: 'a' }, 400, 'InvalidParameter'],
      [{ requestDataFormat: 'JSON', requestEndpoint: 'a', requestData: [1, 2] }, 400, 'InvalidParameter'],
      [{ requestDataFormat: 'JSON', requestEndpoint: 'a', requestData: 'text' }, 400, 'InvalidParameter'],
      [{ requestDataFormat: 'BINARY', requestEndpoint: 'a', requestData: '%%%' }, 400, 'InvalidParameter'],
      [{ requestDataFormat: 'TEXT', requestEndpoint: 'a', requestData: 'x'.repeat(300 * 1024) }, 400, 'InvalidParameter'],
      [{ requestDataFormat: 'TEXT', requestEndpoint: 'a', requestData: 'x'.repeat(600 * 1024) }, 413, 'RequestEntityTooLarge'],
      [{ requestDataFormat: 'TEXT', requestEndpoint: 'a', requestDuration: 'three minutes' }, 400, 'InvalidParameter'],
      [{ requestDataFormat: 'TEXT', requestEndpoint: 'a', requestDuration: 'PT0M' }, 400, 'InvalidParameter'],
      [{ requestDataFormat: 'TEXT', requestEndpoint: 'a', requestDuration: '-PT1M' }, 400, 'InvalidParameter'],
      [{ requestDataFormat: 'TEXT', requestEndpoint: 'a', responseEndpoint: 'b', responseDuration: 'PT0S' }, 400, 'InvalidParameter'],
    ];
    for (const [body, status, code] of cases) {
      const res = await t.rest('POST', path, body);
      expect({ status: res.status, code: res.body?.code }).toEqual({ status, code });
    }
    const unknown = await t.rest('POST', '/20250531/digitalTwinInstances/ocid1.iotdigitaltwininstance.oc1..nope/actions/invokeRawCommand', SEED_COMMAND);
    expect(unknown).toMatchObject({ status: 404, body: { code: 'NotAuthorizedOrNotFound' } });
    expect(count('commands')).toBe(before);
  });

  it('opc-retry-token: same token and body is the same command; another body is 409', async () => {
    const d = await t.createDevice();
    const path = `/20250531/digitalTwinInstances/${d.instanceId}/actions/invokeRawCommand`;
    const a = await t.rest('POST', path, SEED_COMMAND, { 'opc-retry-token': 'tok-1' });
    const b = await t.rest('POST', path, SEED_COMMAND, { 'opc-retry-token': 'tok-1' });
    expect(b.headers.get('location')).toBe(a.headers.get('location'));
    const c = await t.rest('POST', path, { ...SEED_COMMAND, requestData: { temp: 34 } }, { 'opc-retry-token': 'tok-1' });
    expect(c).toMatchObject({ status: 409, body: { code: 'InvalidatedRetryToken' } });
  });
});

describe('ORDS data API', () => {
  it('lists rawCommandData without payloads, filters with q, and gets one row with them', async () => {
    const d = await t.createDevice();
    const ids = [await t.invoke(d.instanceId, SEED_COMMAND), await t.invoke(d.instanceId, { ...SEED_COMMAND, requestData: { temp: 1 } })];
    const q = encodeURIComponent(JSON.stringify({ $and: [{ digital_twin_instance_id: d.instanceId }], $orderby: { id: 'desc' } }));
    const list = await t.rest('GET', `/ords/${t.emu.domain.shortId}/20250531/rawCommandData?q=${q}&limit=1`);
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ hasMore: true, limit: 1, offset: 0, count: 1 });
    expect(list.body.items[0].id).toBe(ids[1]);
    expect(list.body.items[0]).not.toHaveProperty('request_data');
    expect(Object.keys(list.body.items[0])).toContain('delivery_status');
    const one = await t.rest('GET', `/ords/${t.emu.domain.shortId}/20250531/rawCommandData/${ids[0]}`);
    expect(one.body.request_data).toBe('{"temp":33}');
    const bad = await t.rest('GET', `/ords/${t.emu.domain.shortId}/20250531/rawCommandData?q=${encodeURIComponent('{"password":1}')}`);
    expect(bad).toMatchObject({ status: 400, body: { code: 'InvalidParameter' } });
    expect((await t.rest('GET', `/ords/nosuchdomain/20250531/rawCommandData`)).status).toBe(404);
  });
});

describe('manual clock', () => {
  it('POST /emulator/clock advances and fires deadlines; bad input is refused', async () => {
    const now = Date.parse((await t.rest('GET', '/emulator/clock')).body.now);
    const moved = await t.rest('POST', '/emulator/clock', { advance: 'PT1H' });
    expect(Date.parse(moved.body.now) - now).toBe(3_600_000);
    expect((await t.rest('POST', '/emulator/clock', { advance: 'soon' })).body.code).toBe('InvalidParameter');
    expect((await t.rest('POST', '/emulator/clock', { set: '2000-01-01T00:00:00Z' })).body.code).toBe('InvalidParameter');
    expect((await t.rest('POST', '/emulator/clock', {})).body.code).toBe('InvalidParameter');
  });
});
