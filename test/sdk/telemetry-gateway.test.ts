/**
 * An envelope `target` through the official SDK and real TLS MQTT: Oracle's Node-RED
 * gateway sample (samples/node/node-red-gateway) forwards M5 devices' telemetry on its own
 * connection; the gateway adapter's target names the device by externalKey and its content
 * root goes through that device's adapter.
 */
import { models } from 'oci-iot';
import { expect, it } from 'vitest';
import { inboundEnvelope as m5Envelope, model as m5Model, publish, readBack } from '../../examples/telemetry/m5-env.js';
import { until, type TestEmulator } from '../support/harness.js';
import { type SdkClients, sdkSuite } from './support.js';

let t: TestEmulator;
/** Waits until every message received so far is mapped: one whose adapter ran past the wait is mapped in a later write. */
const mappedAll = () => until(() => t.emu.telemetry.pending() === 0);
let sdk: SdkClients;

sdkSuite((started) => {
  ({ t, sdk } = started);
});

it("a gateway's message for m5/<device>/telemetry lands in that device's twin; its own metrics in the gateway's", async () => {
  const iotDomainId = t.emu.domain.id;
  const gatewayModel = {
    '@context': ['dtmi:dtdl:context;3', 'dtmi:dtdl:extension:historization;1'],
    '@id': 'dtmi:com:oracle:iot:samples:nodered:gateway;1',
    '@type': 'Interface',
    displayName: 'Node-RED Gateway',
    contents: [
      { '@type': ['Telemetry', 'Historized'], name: 'messagesReceived', schema: 'integer' },
      { '@type': 'Telemetry', name: 'system', schema: { '@type': 'Object' } },
    ],
  };
  const gm = await sdk.iot.createDigitalTwinModel({ createDigitalTwinModelDetails: { iotDomainId, spec: gatewayModel } });
  const ga = await sdk.iot.createDigitalTwinAdapter({
    createDigitalTwinAdapterDetails: {
      iotDomainId,
      digitalTwinModelId: gm.digitalTwinModel.id,
      inboundEnvelope: {
        referenceEndpoint: 'gateway/metrics',
        envelopeMapping: { timeObserved: '$.time', target: '${if endpoint(1) == "m5" then endpoint(2) else null end}', contentRoot: '$' },
      },
      inboundRoutes: [
        { condition: '${endpoint(1) == "gateway" and endpoint(2) == "metrics"}', payloadMapping: { '$.messagesReceived': '$.messagesReceived' } },
        { condition: '*', payloadMapping: { '$.system': '${.}' } },
      ],
    },
  });
  const mm = await sdk.iot.createDigitalTwinModel({ createDigitalTwinModelDetails: { iotDomainId, spec: { ...m5Model, '@id': 'dtmi:com:oracle:iot:samples:m5;1' } } });
  const ma = await sdk.iot.createDigitalTwinAdapter({
    createDigitalTwinAdapterDetails: {
      iotDomainId,
      digitalTwinModelId: mm.digitalTwinModel.id,
      inboundEnvelope: m5Envelope,
      inboundRoutes: [
        { condition: '${endpoint(1) == "m5" and endpoint(3) == "telemetry"}', payloadMapping: { '$.humidity': '$.humidity', '$.count': '$.count' } },
        { condition: '*', payloadMapping: { '$.system': '${.}' } },
      ],
    },
  });
  // A GATEWAY instance: only those may be named in an INDIRECT instance's gateways.
  const gateway = await t.createDevice({ connectivityType: 'GATEWAY', digitalTwinAdapterId: ga.digitalTwinAdapter.id });
  const m5 = await sdk.iot.createDigitalTwinInstance({
    createDigitalTwinInstanceDetails: { iotDomainId, connectivityType: models.DigitalTwinInstanceConnectivityType.Indirect, externalKey: 'm5-01', gateways: [gateway.instanceId], digitalTwinAdapterId: ma.digitalTwinAdapter.id },
  });
  await publish(gateway, `mqtts://localhost:${t.emu.mqttPort}`, t.emu.ca, [
    { topic: 'm5/m5-01/telemetry', payload: { humidity: 61.5, count: 9 } },
    { topic: 'gateway/metrics', payload: { messagesReceived: 12 } },
    { topic: 'm5/m5-99/telemetry', payload: { humidity: 1 } },
  ]);
  const dataApi = `${t.emu.restUrl}/ords/${t.emu.domain.shortId}/20250531`;
  await mappedAll();
  const device = await readBack(sdk.iot, dataApi, m5.digitalTwinInstance.id);
  expect(device.content).toEqual({ humidity: 61.5, count: 9 });
  expect(device.historized.map((r) => [r.content_path, r.value])).toEqual([['humidity', 61.5]]);
  const gw = await readBack(sdk.iot, dataApi, gateway.instanceId);
  expect(gw.content).toEqual({ messagesReceived: 12 });
  expect(gw.rejected.map((r) => [r.reason_code, r.reason_message])).toEqual([
    [404, 'Envelope target "m5-99" is not an active digital twin instance of this IoT domain'],
  ]);
});
