/**
 * API faults through the official OCI SDK: an injected 429 or 503 is retried by the SDK's
 * own retry strategy (oci-common's default retry condition retries 429 TooManyRequests,
 * 500 and 503), with the opc-retry-token it generated, and the emulator makes one command.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { models } from 'oci-iot';
import { describe, expect, it } from 'vitest';
import { ociOperationTable, operationOf } from '../../src/faults/operations.js';
import { startTestEmulator, until, type TestEmulator } from '../support/harness.js';
import { authProvider, commandIdOf, commandRows, newApiKey, ociError, provisionDevice, retryWithoutWaiting, sdkClients, sdkSuite, startProxy, type SdkClients } from '../sdk/support.js';

let t: TestEmulator;
let sdk: SdkClients;
const key = newApiKey();
sdkSuite(
  (started) => {
    ({ t, sdk } = started);
  },
  {},
  key,
);

const TEXT = { requestDataFormat: 'TEXT', requestEndpoint: 'cmd/x', requestData: 'once' } as models.InvokeRawTextCommandDetails;

describe('the OCI SDK over injected API faults', () => {
  it('429 TooManyRequests on InvokeRawCommand: the SDK retries with the same opc-retry-token, and one command is made, not two', async () => {
    const device = await provisionDevice(sdk, t.emu.domain.id);
    const d = await t.connect(device, { subscribe: [['cmd/x', 1]] });
    const fault = t.emu.faults.set({ operation: 'InvokeRawCommand', kind: 'throttle', count: 1, retryAfter: 2 });
    const proxy = await startProxy(t.emu.restUrl);
    try {
      const viaProxy = sdkClients(proxy.url, authProvider(key));
      const rows = commandRows(t);
      const res = await viaProxy.iot.invokeRawCommand({ digitalTwinInstanceId: device.instanceId, invokeRawCommandDetails: TEXT, retryConfiguration: retryWithoutWaiting });
      const invokes = proxy.requests.filter((r) => r.url.endsWith('/actions/invokeRawCommand'));
      expect(invokes).toHaveLength(2);
      expect(invokes[0].headers['opc-retry-token']).toBeTruthy();
      expect(invokes[1].headers['opc-retry-token']).toBe(invokes[0].headers['opc-retry-token']);
      expect(commandRows(t)).toBe(rows + 1);
      await t.waitFor(commandIdOf(res.location), 'COMPLETED');
      expect((await d.next('cmd/x')).payload.toString()).toBe('once');
      expect(t.emu.faults.get(fault.id)).toMatchObject({ considered: 1, applied: 1, remaining: 0, active: false });
    } finally {
      await proxy.close();
    }
  });

  it('503 after the operation ran (its answer lost): the retry with the same token returns the same command', async () => {
    const device = await provisionDevice(sdk, t.emu.domain.id);
    const d = await t.connect(device, { subscribe: [['cmd/x', 1]] });
    t.emu.faults.set({ operation: 'InvokeRawCommand', kind: 'unavailable', count: 1, when: 'after' });
    const rows = commandRows(t);
    const res = await sdk.iot.invokeRawCommand({ digitalTwinInstanceId: device.instanceId, invokeRawCommandDetails: TEXT, retryConfiguration: retryWithoutWaiting });
    expect(commandRows(t)).toBe(rows + 1);
    await t.waitFor(commandIdOf(res.location), 'COMPLETED');
    await d.next('cmd/x');
    expect(d.received).toEqual([]);
  });

  it('without retries the SDK surfaces the fault as an OciError with OCI\'s status and code', async () => {
    t.emu.faults.set({ operation: 'GetIotDomain', kind: 'error', count: 1 });
    const err = await ociError(sdk.iot.getIotDomain({ iotDomainId: t.emu.domain.id, retryConfiguration: { terminationStrategy: { shouldTerminate: () => true } } as never }));
    expect(err).toMatchObject({ statusCode: 500, serviceCode: 'InternalServerError' });
    expect(err.message).toMatch(/GetIotDomain failed with an internal error \(fault \d+ injected by the emulator\)/);
    // The next call is not faulted.
    expect((await sdk.iot.getIotDomain({ iotDomainId: t.emu.domain.id })).iotDomain.id).toBe(t.emu.domain.id);
  });
});

describe('API faults over plain HTTP', () => {
  it('429 is OCI-shaped: retry-after, opc-request-id, {code, message}; counted in /metrics; the emulator routes are never faulted', async () => {
    const set = await t.rest('POST', '/emulator/faults', { operation: '*', kind: 'throttle', count: 1, retryAfter: 7 });
    expect(set.status).toBe(200);
    expect((await t.rest('GET', '/emulator/health')).status).toBe(200);
    const res = await fetch(`${t.emu.restUrl}/20250531/iotDomains/${t.emu.domain.id}`, { headers: { 'opc-request-id': 'my-request-1' } });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect(res.headers.get('opc-request-id')).toBe('my-request-1');
    expect(await res.json()).toEqual({ code: 'TooManyRequests', message: expect.stringMatching(/^Too many requests for GetIotDomain; retry after 7 s/) });
    expect((await fetch(`${t.emu.restUrl}/20250531/iotDomains/${t.emu.domain.id}`)).status).toBe(200);

    const metrics = await (await fetch(`${t.emu.restUrl}/metrics`)).text();
    expect(metrics).toContain('oci_iot_faults_applied_total{scope="api",kind="throttle",target="*"} 1');
    expect(metrics).toContain('oci_iot_http_requests_total{method="GET",route="/20250531/iotDomains/:iotDomainId",status="429"} 1');
  });

  it('delay holds the call on the emulator clock until the clock passes it', async () => {
    const fault = t.emu.faults.set({ operation: 'GetIotDomainGroup', kind: 'delay', delay: 'PT10S', count: 1 });
    let settled = false;
    const call = fetch(`${t.emu.restUrl}/20250531/iotDomainGroups/${t.emu.domain.groupId}`).then((r) => ((settled = true), r));
    await until(() => t.emu.faults.get(fault.id).applied === 1);
    t.advance(9_000);
    expect(settled).toBe(false);
    t.advance(1_000);
    expect((await call).status).toBe(200);
  });

  it('a call held on the manual clock does not keep the emulator from closing', async () => {
    const other = await startTestEmulator();
    const fault = other.emu.faults.set({ operation: '*', kind: 'delay', delay: 'PT1H' });
    const call = fetch(`${other.emu.restUrl}/20250531/iotDomains/${other.emu.domain.id}`).then((r) => r.status, () => 'cut');
    await until(() => other.emu.faults.get(fault.id).applied === 1);
    await other.close();
    expect([200, 'cut']).toContain(await call);
  });

  it('bad input is a 400 with the reason, and sets nothing', async () => {
    const before = (await t.rest('GET', '/emulator/faults')).body.items.length;
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ operation: 'LaunchRocket', kind: 'throttle' }, /operation "LaunchRocket" is not an operation of this emulator; use \* or one of .*InvokeRawCommand/],
      [{ operation: 'InvokeRawCommand', kind: 'drop' }, /not an API fault/],
      [{ operation: 'InvokeRawCommand', kind: 'throttle', retryAfter: -1 }, /retryAfter -1/],
      [{ operation: 'InvokeRawCommand', kind: 'error', count: -3 }, /count -3/],
      [{ operation: 'InvokeRawCommand', kind: 'delay', delay: 'soon' }, /delay "soon"/],
      [{ operation: 'InvokeRawCommand', kind: 'error', when: 'during' }, /when: must be one of before, after/],
      [{ operation: 'InvokeRawCommand', instanceId: 'x', kind: 'error' }, /not both/],
    ];
    for (const [body, reason] of bad) {
      const res = await t.rest('POST', '/emulator/faults', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.message).toMatch(reason);
    }
    expect((await t.rest('GET', '/emulator/faults')).body.items).toHaveLength(before);
  });
});

describe('OCI operation names', () => {
  it('the table is the one the official SDK clients declare (oci-iot, oci-vault, oci-secrets)', () => {
    const require = createRequire(import.meta.url);
    const declared: Record<string, string> = {};
    for (const [pkg, version] of [['oci-iot', '20250531'], ['oci-vault', '20180608'], ['oci-secrets', '20190301']]) {
      const src = readFileSync(require.resolve(`${pkg}/lib/client.js`), 'utf8');
      for (const m of src.matchAll(/const operationName = "(\w+)";[\s\S]*?path: "([^"]+)",\s*method: "(\w+)"/g)) {
        declared[`${m[3]} /${version}${m[2].replace(/\{\w+\}/g, '{}')}`] = m[1][0].toUpperCase() + m[1].slice(1);
      }
    }
    expect(Object.keys(declared).length).toBeGreaterThan(50);
    expect(ociOperationTable()).toEqual(declared);
  });

  it('every OCI route the emulator serves has an operation name; its own routes have none', () => {
    const routes = t.emu.faults.operations();
    expect(routes).toContain('InvokeRawCommand');
    expect(routes).toContain('CreateDigitalTwinInstance');
    expect(routes).toContain('GetSecretBundle');
    expect(routes).toContain('ListRawCommandData');
    expect(operationOf('POST', '/20250531/digitalTwinInstances/:digitalTwinInstanceId/actions/invokeRawCommand')).toBe('InvokeRawCommand');
    expect(operationOf('GET', '/ords/:shortId/20250531/rawData/:id')).toBe('GetRawData');
    expect(operationOf('POST', '/emulator/clock')).toBeUndefined();
  });
});
