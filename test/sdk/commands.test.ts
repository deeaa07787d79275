/**
 * invokeRawCommand through the official SDK, delivered to an MQTT.js device over TLS:
 * JSON, TEXT and BINARY details, the Location header resolving to the command's row on
 * the data API, a device completing a two-way command, and opc-retry-token idempotency.
 */
import { models } from 'oci-iot';
import { describe, expect, it } from 'vitest';
import type { TestEmulator } from '../support/harness.js';
import {
  authProvider,
  commandIdOf,
  commandRows,
  fetchRow,
  newApiKey,
  ociError,
  provisionDevice,
  retryWithoutWaiting,
  sdkClients,
  sdkSuite,
  startProxy,
  type SdkClients,
} from './support.js';

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


describe('invokeRawCommand with each data format', () => {
  it('JSON: 202 with a Location whose last segment is the row id; the device gets compact JSON', async () => {
    const device = await provisionDevice(sdk, t.emu.domain.id);
    const d = await t.connect(device, { subscribe: [['cmd/+', 1]] });
    const details: models.InvokeRawJsonCommandDetails = {
      requestDataFormat: 'JSON',
      requestEndpoint: 'cmd/json',
      requestData: { setpoint: 21.5, mode: 'eco', zones: [1, 2] },
      requestDuration: 'PT3M',
    };
    const res = await sdk.iot.invokeRawCommand({ digitalTwinInstanceId: device.instanceId, invokeRawCommandDetails: details });
    expect(res.opcRequestId).toBeTruthy();
    expect(res.location).toMatch(new RegExp(`/ords/${t.emu.domain.shortId}/20250531/rawCommandData/\\d+$`));

    const msg = await d.next('cmd/json');
    expect(msg.payload.toString()).toBe('{"setpoint":21.5,"mode":"eco","zones":[1,2]}');
    const id = commandIdOf(res.location);
    await t.waitFor(id, 'COMPLETED');

    const row = await fetchRow(res.location);
    expect(row).toMatchObject({
      id,
      digital_twin_instance_id: device.instanceId,
      request_endpoint: 'cmd/json',
      request_duration: 'PT3M',
      request_data_format: 'JSON',
      request_data: '{"setpoint":21.5,"mode":"eco","zones":[1,2]}',
      request_content_type: 'application/json',
      response_endpoint: null,
      delivery_status: 'COMPLETED',
      created_by: key.user,
    });
    expect(JSON.parse(String(row.request_data))).toEqual(details.requestData);
  });

  it('TEXT: the device gets the text as UTF-8 bytes', async () => {
    const device = await provisionDevice(sdk, t.emu.domain.id);
    const d = await t.connect(device, { subscribe: [['cmd/text', 1]] });
    const res = await sdk.iot.invokeRawCommand({
      digitalTwinInstanceId: device.instanceId,
      invokeRawCommandDetails: {
        requestDataFormat: 'TEXT',
        requestEndpoint: 'cmd/text',
        requestData: 'reboot now — ✓',
      } as models.InvokeRawTextCommandDetails,
    });
    expect((await d.next('cmd/text')).payload.toString('utf8')).toBe('reboot now — ✓');
    await t.waitFor(commandIdOf(res.location), 'COMPLETED');
    expect(await fetchRow(res.location)).toMatchObject({
      request_data_format: 'TEXT',
      request_data: 'reboot now — ✓',
      request_content_type: 'text/plain',
    });
  });

  it('BINARY: base64 in the request, the decoded bytes on the wire, a custom content type kept', async () => {
    const device = await provisionDevice(sdk, t.emu.domain.id);
    const d = await t.connect(device, { subscribe: [['cmd/bin', 1]] });
    const bytes = Buffer.from([0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff]);
    const res = await sdk.iot.invokeRawCommand({
      digitalTwinInstanceId: device.instanceId,
      invokeRawCommandDetails: {
        requestDataFormat: 'BINARY',
        requestEndpoint: 'cmd/bin',
        requestData: bytes.toString('base64'),
        requestDataContentType: 'application/x-firmware-chunk',
      } as models.InvokeRawBinaryCommandDetails,
    });
    expect((await d.next('cmd/bin')).payload).toEqual(bytes);
    await t.waitFor(commandIdOf(res.location), 'COMPLETED');
    expect(await fetchRow(res.location)).toMatchObject({
      request_data_format: 'BINARY',
      request_data: bytes.toString('base64'),
      request_content_type: 'application/x-firmware-chunk',
    });
  });
});

describe('a device completes a command invoked through the SDK', () => {
  it('two-way JSON command: the reply on responseEndpoint lands in response_data, COMPLETED', async () => {
    const device = await provisionDevice(sdk, t.emu.domain.id, { displayName: 'hvac-7' });
    const d = await t.connect(device, { clientId: 'hvac-7', subscribe: [['iot/v1/cmd/#', 1]] });
    const res = await sdk.iot.invokeRawCommand({
      digitalTwinInstanceId: device.instanceId,
      invokeRawCommandDetails: {
        requestDataFormat: 'JSON',
        requestEndpoint: 'iot/v1/cmd/identify',
        requestData: { blink: 3 },
        responseEndpoint: 'iot/v1/rsp/identify',
        responseDuration: 'PT1M',
      } as models.InvokeRawJsonCommandDetails,
    });
    const id = commandIdOf(res.location);
    expect(JSON.parse((await d.next('iot/v1/cmd/identify')).payload.toString())).toEqual({ blink: 3 });
    expect((await fetchRow(res.location)).delivery_status).toBe('SENT');

    await d.client.publishAsync('iot/v1/rsp/identify', JSON.stringify({ status: 'acknowledged' }), { qos: 1 });
    await t.waitFor(id, 'COMPLETED');
    const row = await fetchRow(res.location);
    expect(row).toMatchObject({
      delivery_status: 'COMPLETED',
      response_endpoint: 'iot/v1/rsp/identify',
      response_duration: 'PT1M',
      response_data_format: 'JSON',
      response_data: '{"status":"acknowledged"}',
    });
    expect(String(row.time_finished) >= String(row.time_created)).toBe(true);
  });
});

describe('opc-retry-token', () => {
  it('the same token and body return the same command, delivered once; another body with it is 409 InvalidatedRetryToken', async () => {
    const device = await provisionDevice(sdk, t.emu.domain.id);
    const d = await t.connect(device, { subscribe: [['cmd/once', 1], ['cmd/marker', 1]] });
    const details = { requestDataFormat: 'TEXT', requestEndpoint: 'cmd/once', requestData: 'unlock' } as models.InvokeRawTextCommandDetails;
    const first = await sdk.iot.invokeRawCommand({ digitalTwinInstanceId: device.instanceId, invokeRawCommandDetails: details, opcRetryToken: 'unlock-door-4711' });
    await t.waitFor(commandIdOf(first.location), 'COMPLETED');
    const rows = commandRows(t);

    const again = await sdk.iot.invokeRawCommand({ digitalTwinInstanceId: device.instanceId, invokeRawCommandDetails: details, opcRetryToken: 'unlock-door-4711' });
    expect(again.location).toBe(first.location);
    expect(commandRows(t)).toBe(rows);

    const other = await ociError(
      sdk.iot.invokeRawCommand({
        digitalTwinInstanceId: device.instanceId,
        invokeRawCommandDetails: { ...details, requestData: 'lock' } as models.InvokeRawTextCommandDetails,
        opcRetryToken: 'unlock-door-4711',
      }),
    );
    expect(other).toMatchObject({ statusCode: 409, serviceCode: 'InvalidatedRetryToken' });
    expect(commandRows(t)).toBe(rows);

    // A later command arrives next: the replay put nothing on the wire before it.
    await sdk.iot.invokeRawCommand({
      digitalTwinInstanceId: device.instanceId,
      invokeRawCommandDetails: { requestDataFormat: 'TEXT', requestEndpoint: 'cmd/marker', requestData: 'marker' } as models.InvokeRawTextCommandDetails,
    });
    expect((await d.next()).payload.toString()).toBe('unlock');
    expect((await d.next()).topic).toBe('cmd/marker');
    expect(d.received).toEqual([]);
  });

  it("a response lost on the network: the SDK's default retry resends the same generated token, and one command is made and delivered", async () => {
    const device = await provisionDevice(sdk, t.emu.domain.id);
    const d = await t.connect(device, { subscribe: [['cmd/lossy', 1], ['cmd/marker', 1]] });
    const proxy = await startProxy(t.emu.restUrl);
    try {
      const viaProxy = sdkClients(proxy.url, authProvider(key));
      proxy.dropResponses(1);
      const rows = commandRows(t);
      const res = await viaProxy.iot.invokeRawCommand({
        digitalTwinInstanceId: device.instanceId,
        invokeRawCommandDetails: { requestDataFormat: 'TEXT', requestEndpoint: 'cmd/lossy', requestData: 'only once' } as models.InvokeRawTextCommandDetails,
        retryConfiguration: retryWithoutWaiting,
      });
      const invokes = proxy.requests.filter((r) => r.url.endsWith('/actions/invokeRawCommand'));
      expect(invokes).toHaveLength(2);
      expect(invokes[0].headers['opc-retry-token']).toBeTruthy();
      expect(invokes[1].headers['opc-retry-token']).toBe(invokes[0].headers['opc-retry-token']);
      expect(commandRows(t)).toBe(rows + 1);
      await t.waitFor(commandIdOf(res.location), 'COMPLETED');

      await sdk.iot.invokeRawCommand({
        digitalTwinInstanceId: device.instanceId,
        invokeRawCommandDetails: { requestDataFormat: 'TEXT', requestEndpoint: 'cmd/marker', requestData: 'marker' } as models.InvokeRawTextCommandDetails,
      });
      expect((await d.next()).payload.toString()).toBe('only once');
      expect((await d.next()).topic).toBe('cmd/marker');
      expect(d.received).toEqual([]);
    } finally {
      await proxy.close();
    }
  });
});
