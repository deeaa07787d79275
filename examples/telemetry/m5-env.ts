// Structured telemetry with a custom adapter: Oracle's "custom-adapter" digital twin from
// oracle-samples/oci-iot-samples (samples/python/manage-dt: m5_model_custom.json,
// m5_adapter_envelope.json, m5_adapter_routes.json), an M5Stack with an Env-III sensor.
// Nothing here is emulator-specific except the endpoints; point them at OCI to run it there.
import mqtt from 'mqtt';
import { IotClient, models } from 'oci-iot';
import { VaultsClient } from 'oci-vault';

/** The model: five telemetry values, four of them historized, and a catch-all `system` object. */
export const model = {
  '@context': ['dtmi:dtdl:context;3', 'dtmi:dtdl:extension:historization;1', 'dtmi:dtdl:extension:quantitativeTypes;1'],
  '@id': 'dtmi:com:oracle:example:m5:env:cstm;1',
  '@type': 'Interface',
  contents: [
    { '@type': ['Telemetry', 'Historized', 'Temperature'], name: 'sht_temperature', displayName: 'SHT Temperature', schema: 'double', unit: 'degreeCelsius' },
    { '@type': ['Telemetry', 'Historized', 'Temperature'], name: 'qmp_temperature', displayName: 'QMP Temperature', schema: 'double', unit: 'degreeCelsius' },
    { '@type': ['Telemetry', 'Historized', 'RelativeHumidity'], name: 'humidity', displayName: 'Relative Humidity', schema: 'double', unit: 'percent' },
    { '@type': ['Telemetry', 'Historized', 'Pressure'], name: 'pressure', displayName: 'Pressure', schema: 'double', unit: 'hectopascal' },
    { '@type': ['Telemetry'], name: 'count', displayName: 'Message Count', schema: 'integer' },
    { '@type': ['Telemetry', 'Historized'], name: 'system', displayName: 'System Message', schema: { '@type': 'Object' } },
  ],
};

/** The envelope: the observation time comes from the payload's `time` (epoch microseconds). */
export const inboundEnvelope: models.DigitalTwinAdapterInboundEnvelope = {
  referenceEndpoint: 'iot/v1/telemetry',
  referencePayload: {
    dataFormat: 'JSON',
    data: { count: 0, humidity: 0.0, pressure: 0.0, qmp_temperature: 0.0, sht_temperature: 0.0, time: 0 },
  },
  envelopeMapping: { timeObserved: '$.time' },
};

/** The routes, first match wins: telemetry on `…/…/telemetry`, anything else kept whole as `system`. */
export const inboundRoutes: models.DigitalTwinAdapterInboundRoute[] = [
  {
    condition: '${endpoint(3) == "telemetry"}',
    description: 'Environment data',
    payloadMapping: {
      '$.count': '$.count',
      '$.humidity': '$.humidity',
      '$.pressure': '$.pressure',
      '$.qmp_temperature': '$.qmp_temperature',
      '$.sht_temperature': '$.sht_temperature',
    },
  },
  { condition: '*', description: 'Default condition', payloadMapping: { '$.system': '${.}' } },
];

export interface Sensor {
  instanceId: string;
  externalKey: string;
  password: string;
}

/** Creates the model, the adapter, the device's password in Vault and the digital twin instance. */
export async function createSensor(iot: IotClient, vaults: VaultsClient, iotDomainId: string, externalKey: string, password: string): Promise<Sensor> {
  const { digitalTwinModel } = await iot.createDigitalTwinModel({
    createDigitalTwinModelDetails: { iotDomainId, spec: model, displayName: model['@id'], description: 'M5 with EnvIII sensors' },
  });
  const { digitalTwinAdapter } = await iot.createDigitalTwinAdapter({
    createDigitalTwinAdapterDetails: {
      iotDomainId,
      digitalTwinModelSpecUri: digitalTwinModel.specUri,
      displayName: `${externalKey}-adapter`,
      inboundEnvelope,
      inboundRoutes,
    },
  });
  const { secret } = await vaults.createSecret({
    createSecretDetails: {
      compartmentId: process.env.OCI_COMPARTMENT_ID ?? 'ocid1.compartment.oc1..example',
      vaultId: process.env.OCI_VAULT_ID ?? 'ocid1.vault.oc1..example',
      keyId: process.env.OCI_VAULT_KEY_ID ?? 'ocid1.key.oc1..example',
      secretName: `${externalKey}-password`,
      secretContent: { contentType: 'BASE64', content: Buffer.from(password).toString('base64') },
    },
  });
  // Naming the adapter is enough: the instance takes the adapter's model.
  const { digitalTwinInstance } = await iot.createDigitalTwinInstance({
    createDigitalTwinInstanceDetails: { iotDomainId, digitalTwinAdapterId: digitalTwinAdapter.id, externalKey, authId: secret.id, displayName: externalKey },
  });
  return { instanceId: digitalTwinInstance.id, externalKey, password };
}

/** The device: publishes each message at QoS 1 over MQTTS, as the sample's publish-mqtt scripts do. */
export async function publish(sensor: Sensor, url: string, ca: string, messages: Array<{ topic: string; payload: object }>): Promise<void> {
  const client = await mqtt.connectAsync(url, { ca, username: sensor.externalKey, password: sensor.password, protocolVersion: 4 });
  try {
    for (const m of messages) await client.publishAsync(m.topic, JSON.stringify(m.payload), { qos: 1 });
  } finally {
    await client.endAsync();
  }
}

/** What a back end reads: the twin's content, and its recent historized and rejected rows from the data API. */
export async function readBack(iot: IotClient, dataApi: string, instanceId: string) {
  const { value: content } = await iot.getDigitalTwinInstanceContent({ digitalTwinInstanceId: instanceId });
  const q = encodeURIComponent(JSON.stringify({ digital_twin_instance_id: instanceId, $orderby: { id: 'asc' } }));
  const rows = async (table: string) => ((await (await fetch(`${dataApi}/${table}?q=${q}`)).json()) as { items: Array<Record<string, unknown>> }).items;
  return { content, historized: await rows('historizedData'), rejected: await rows('rejectedData') };
}
