/**
 * Structured telemetry end to end through the official SDK and real TLS MQTT: Oracle's M5
 * "custom adapter" sample (examples/telemetry/m5-env.ts) becomes historized, snapshot and
 * rejected rows and the twin's content; the default adapter; the model, adapter and
 * relationship operations; and bad input refused with OCI's status and code, storing nothing.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createSensor, inboundEnvelope, inboundRoutes, model, publish, readBack } from '../../examples/telemetry/m5-env.js';
import { until, type TestEmulator } from '../support/harness.js';
import { ociError, type SdkClients, sdkSuite } from './support.js';

let t: TestEmulator;
/** Waits until every message received so far is mapped: one whose adapter ran past the wait is mapped in a later write. */
const mappedAll = () => until(() => t.emu.telemetry.pending() === 0);
let sdk: SdkClients;
let domainId: string;
let dataApi: string;
let mqttUrl: string;

sdkSuite(
  (started) => {
    ({ t, sdk } = started);
    domainId = t.emu.domain.id;
    dataApi = `${t.emu.restUrl}/ords/${t.emu.domain.shortId}/20250531`;
    mqttUrl = `mqtts://localhost:${t.emu.mqttPort}`;
  },
  { adapterTimeLimit: 'PT0.3S' },
);

const count = (table: string) => (t.emu.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
const micros = (iso: string) => Date.parse(iso) * 1000;

describe("Oracle's M5 custom-adapter sample", () => {
  it('maps telemetry into historized_data and the snapshot, keeps other endpoints as system, rejects what does not fit', async () => {
    const sensor = await createSensor(sdk.iot, sdk.vaults, domainId, 'm5-env-cstm-01', 's3cret');
    const instance = (await sdk.iot.getDigitalTwinInstance({ digitalTwinInstanceId: sensor.instanceId })).digitalTwinInstance;
    expect(instance.digitalTwinModelSpecUri).toBe(model['@id']);
    expect(instance.digitalTwinModelId).toMatch(/^ocid1\.iotdigitaltwinmodel\./);

    const reading = { sht_temperature: 23.8, qmp_temperature: 24.4, humidity: 56.1, pressure: 1012.2 };
    await publish(sensor, mqttUrl, t.emu.ca, [
      { topic: 'iot/v1/telemetry', payload: { ...reading, count: 1, time: micros('2025-09-10T13:47:05.226Z') } },
      { topic: 'iot/v1/telemetry', payload: { ...reading, humidity: 57, count: 2, time: micros('2025-09-10T13:48:05Z') } },
      // Late: observed before the previous one. It is historized, but the snapshot keeps the newer values.
      { topic: 'iot/v1/telemetry', payload: { ...reading, humidity: 40, count: 0, time: micros('2025-09-10T13:46:05Z') } },
      { topic: 'iot/v1/status', payload: { uptime: 5, firmware: '1.2' } },
      { topic: 'iot/v1/telemetry', payload: { humidity: 'wet', count: 3 } },
    ]);

    await mappedAll();
    const { content, historized, rejected } = await readBack(sdk.iot, dataApi, sensor.instanceId);
    expect(content).toEqual({ ...reading, humidity: 57, count: 2, system: { uptime: 5, firmware: '1.2' } });
    // count is not Historized: it is in the content, not in historized_data (as in the sample's output).
    expect(historized.map((r) => r.content_path)).toEqual([
      ...['humidity', 'pressure', 'qmp_temperature', 'sht_temperature'],
      ...['humidity', 'pressure', 'qmp_temperature', 'sht_temperature'],
      ...['humidity', 'pressure', 'qmp_temperature', 'sht_temperature'],
      'system',
    ]);
    expect(historized[0]).toMatchObject({ value: 56.1, time_observed: '2025-09-10T13:47:05.226000Z', digital_twin_instance_id: sensor.instanceId });
    expect(historized.filter((r) => r.content_path === 'humidity').map((r) => [r.value, r.time_observed])).toEqual([
      [56.1, '2025-09-10T13:47:05.226000Z'],
      [57, '2025-09-10T13:48:05.000000Z'],
      [40, '2025-09-10T13:46:05.000000Z'],
    ]);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ endpoint: 'iot/v1/telemetry', reason_code: 400 });
    const one: any = await (await fetch(`${dataApi}/rejectedData/${rejected[0].id}`)).json();
    expect(one.reason_message).toMatch(/humidity: expected double, got "wet"/);
    expect(Buffer.from(one.content, 'base64').toString()).toBe('{"humidity":"wet","count":3}');

    // $date filters compare at the column's microseconds.
    const since = async (op: string, date: string) => {
      const q = { $and: [{ digital_twin_instance_id: sensor.instanceId }, { content_path: 'humidity' }, { time_observed: { [op]: { $date: date } } }] };
      const page: any = await (await fetch(`${dataApi}/historizedData?q=${encodeURIComponent(JSON.stringify(q))}`)).json();
      return page.items.map((r: { value: number }) => r.value).sort();
    };
    expect(await since('$gte', '2025-09-10T13:47:05.226Z')).toEqual([56.1, 57]);
    expect(await since('$gt', '2025-09-10T13:47:05.226Z')).toEqual([57]);
    expect(await since('$gt', '2025-09-10T13:47:05.225999Z')).toEqual([56.1, 57]);
    const snapshot: any = await (await fetch(`${dataApi}/snapshotData?q=${encodeURIComponent(JSON.stringify({ digital_twin_instance_id: sensor.instanceId }))}`)).json();
    expect(snapshot.items.find((r: { content_path: string }) => r.content_path === 'humidity')).toMatchObject({ value: 57, time_observed: '2025-09-10T13:48:05.000000Z' });

    // Every message is still a raw_data row, as before adapters.
    const raw = t.emu.db.prepare('SELECT count(*) AS n FROM raw_data WHERE digital_twin_instance_id = ?').get(sensor.instanceId) as { n: number };
    expect(raw.n).toBe(5);
    // The tables are there for SQL too.
    const sql = t.emu.db.prepare("SELECT value FROM snapshot_data WHERE digital_twin_instance_id = ? AND content_path = 'count'").get(sensor.instanceId);
    expect(sql).toEqual({ value: '2' });
  });
});

describe('the default adapter (a model, no envelope, no routes)', () => {
  it('maps each payload field of the same name, takes time from $.time, and rejects an empty result as OCI does', async () => {
    const spec = { ...model, '@id': 'dtmi:com:oracle:example:m5:env:dflt;1' };
    const { digitalTwinModel } = await sdk.iot.createDigitalTwinModel({ createDigitalTwinModelDetails: { iotDomainId: domainId, spec } });
    expect(digitalTwinModel.displayName).toBe(spec['@id']);
    const { digitalTwinAdapter } = await sdk.iot.createDigitalTwinAdapter({
      createDigitalTwinAdapterDetails: { iotDomainId: domainId, digitalTwinModelId: digitalTwinModel.id },
    });
    expect(digitalTwinAdapter.inboundEnvelope?.envelopeMapping).toEqual({ timeObserved: '$.time' });
    expect(digitalTwinAdapter.inboundRoutes).toEqual([
      {
        condition: '*',
        description: 'Default condition',
        payloadMapping: Object.fromEntries(spec.contents.map((c) => [`$.${c.name}`, `$.${c.name}`])),
      },
    ]);
    const device = await t.createDevice({ digitalTwinAdapterId: digitalTwinAdapter.id });
    await publish({ ...device }, mqttUrl, t.emu.ca, [
      { topic: 'anything', payload: { humidity: 50, count: '7' } },
      { topic: 'anything', payload: { unrelated: true } },
    ]);
    await mappedAll();
    const { content, historized, rejected } = await readBack(sdk.iot, dataApi, device.instanceId);
    // "7" for an integer: OCI's soft conversion stores 7.
    expect(content).toEqual({ humidity: 50, count: 7 });
    expect(historized).toHaveLength(1);
    expect(Date.parse(historized[0].time_observed as string)).toBe(t.emu.clock.now());
    expect(rejected.map((r) => [r.reason_code, r.reason_message])).toEqual([[500, 'Normalization output is empty']]);
  });
});

describe('adapter expressions', () => {
  it('jq with fromdateformat, first route wins, a failing expression and a runaway one are rejected', async () => {
    const spec = {
      '@context': ['dtmi:dtdl:context;3'],
      '@id': 'dtmi:com:example:clock;1',
      '@type': 'Interface',
      contents: [
        { '@type': 'Telemetry', name: 'speed', schema: 'integer' },
        { '@type': 'Telemetry', name: 'label', schema: 'string' },
      ],
    };
    const { digitalTwinModel } = await sdk.iot.createDigitalTwinModel({ createDigitalTwinModelDetails: { iotDomainId: domainId, spec } });
    const { digitalTwinAdapter } = await sdk.iot.createDigitalTwinAdapter({
      createDigitalTwinAdapterDetails: {
        iotDomainId: domainId,
        digitalTwinModelId: digitalTwinModel.id,
        inboundEnvelope: {
          referenceEndpoint: 'cars/1/speed',
          envelopeMapping: { timeObserved: '${if .iso_time == null then null else .iso_time | fromdateformat("yyyy/MM/dd HH:mm:ss.SSSSSS") end}' },
        },
        inboundRoutes: [
          { condition: '${endpoint(1) == "cars" and endpoint(3) == "speed"}', payloadMapping: { '$.speed': '${(.velocity_kph / 1.609) | floor}' } },
          { condition: '${endpoint(1) == "cars"}', payloadMapping: { '$.label': '${.name | ascii_upcase}', '$.speed': '${error("no speed here")}' } },
          { condition: '${endpoint(1) == "loop"}', payloadMapping: { '$.speed': '${def f: f; f}' } },
        ],
      },
    });
    const device = await t.createDevice({ digitalTwinAdapterId: digitalTwinAdapter.id });
    await publish(device, mqttUrl, t.emu.ca, [
      { topic: 'cars/1/speed', payload: { velocity_kph: 100, iso_time: '2025/09/10 13:47:05.226854' } },
      { topic: 'cars/1/name', payload: { name: 'x' } },
      { topic: 'loop', payload: {} },
      { topic: 'boats/1', payload: {} },
    ]);
    // The runaway goes on off the event loop: it is rejected when its time limit ends, after the PUBACKs.
    await mappedAll();
    const { content, historized, rejected } = await readBack(sdk.iot, dataApi, device.instanceId);
    expect(content).toEqual({ speed: 62 });
    expect(historized).toHaveLength(0); // nothing is Historized in this model
    const snap = t.emu.db.prepare('SELECT time_observed FROM snapshot_data WHERE digital_twin_instance_id = ?').get(device.instanceId);
    // Microseconds kept, as OCI keeps them.
    expect(snap).toEqual({ time_observed: '2025-09-10T13:47:05.226854Z' });
    expect(rejected.map((r) => r.reason_code)).toEqual([422, 404, 504]);
    expect(rejected[0].reason_message).toMatch(/inboundRoutes\[1\] \$\.speed failed: no speed here/);
    expect(rejected[1].reason_message).toMatch(/No inbound route .* "boats\/1"/);
    expect(rejected[2].reason_message).toMatch(/longer than 300 ms/);
    expect(rejected[2].endpoint).toBe('loop');
  });
});

describe('models, adapters and relationships', () => {
  it('model CRUD with /spec, etag and if-match, specUriStartsWith; relationship CRUD between two instances', async () => {
    const spec = { '@context': 'dtmi:dtdl:context;3', '@id': 'dtmi:com:example:room;1', '@type': 'Interface', displayName: 'Room', contents: [{ '@type': 'Relationship', name: 'contains' }] };
    const created = await sdk.iot.createDigitalTwinModel({ createDigitalTwinModelDetails: { iotDomainId: domainId, spec } });
    expect(created.digitalTwinModel).toMatchObject({ specUri: 'dtmi:com:example:room;1', displayName: 'Room', lifecycleState: 'ACTIVE' });
    const got = await sdk.iot.getDigitalTwinModelSpec({ digitalTwinModelId: created.digitalTwinModel.id });
    expect(got.value).toEqual(spec);
    const listed = await sdk.iot.listDigitalTwinModels({ iotDomainId: domainId, specUriStartsWith: 'dtmi:com:example:room' });
    expect(listed.digitalTwinModelCollection.items.map((m) => m.id)).toEqual([created.digitalTwinModel.id]);

    const stale = await ociError(
      sdk.iot.updateDigitalTwinModel({ digitalTwinModelId: created.digitalTwinModel.id, ifMatch: 'nope', updateDigitalTwinModelDetails: { displayName: 'x' } }),
    );
    expect(stale).toMatchObject({ statusCode: 412, serviceCode: 'NoEtagMatch' });
    const updated = await sdk.iot.updateDigitalTwinModel({
      digitalTwinModelId: created.digitalTwinModel.id,
      ifMatch: created.etag,
      updateDigitalTwinModelDetails: { displayName: 'Room v1' },
    });
    expect(updated.digitalTwinModel.displayName).toBe('Room v1');

    const [a, b] = [await t.createDevice(), await t.createDevice()];
    const rel = await sdk.iot.createDigitalTwinRelationship({
      createDigitalTwinRelationshipDetails: { iotDomainId: domainId, contentPath: 'contains', sourceDigitalTwinInstanceId: a.instanceId, targetDigitalTwinInstanceId: b.instanceId, content: { since: 2024 } },
    });
    expect(rel.digitalTwinRelationship).toMatchObject({ contentPath: 'contains', displayName: 'contains', content: { since: 2024 }, lifecycleState: 'ACTIVE' });
    const rels = await sdk.iot.listDigitalTwinRelationships({ iotDomainId: domainId, sourceDigitalTwinInstanceId: a.instanceId });
    expect(rels.digitalTwinRelationshipCollection.items.map((r) => r.id)).toEqual([rel.digitalTwinRelationship.id]);
    await sdk.iot.updateDigitalTwinRelationship({ digitalTwinRelationshipId: rel.digitalTwinRelationship.id, updateDigitalTwinRelationshipDetails: { description: 'room a holds b' } });
    await sdk.iot.deleteDigitalTwinRelationship({ digitalTwinRelationshipId: rel.digitalTwinRelationship.id });
    const gone = await sdk.iot.getDigitalTwinRelationship({ digitalTwinRelationshipId: rel.digitalTwinRelationship.id });
    expect(gone.digitalTwinRelationship.lifecycleState).toBe('DELETED');

    const missing = await ociError(
      sdk.iot.createDigitalTwinRelationship({
        createDigitalTwinRelationshipDetails: { iotDomainId: domainId, contentPath: 'contains', sourceDigitalTwinInstanceId: a.instanceId, targetDigitalTwinInstanceId: 'ocid1.iotdigitaltwininstance.oc1..nope' },
      }),
    );
    expect(missing).toMatchObject({ statusCode: 400, serviceCode: 'RelatedResourceNotAuthorizedOrNotFound' });

    await sdk.iot.deleteDigitalTwinModel({ digitalTwinModelId: created.digitalTwinModel.id });
    expect((await sdk.iot.listDigitalTwinModels({ iotDomainId: domainId, specUriStartsWith: 'dtmi:com:example:room' })).digitalTwinModelCollection.items).toEqual([]);
  });
});

describe('bad input: OCI status and code, nothing stored', () => {
  const tables = ['digital_twin_models', 'digital_twin_adapters', 'digital_twin_instances', 'digital_twin_relationships'];
  const counts = () => tables.map(count);

  it.each([
    ['no DTDL v3 context', { '@id': 'dtmi:com:example:a;1', '@type': 'Interface', contents: [] }, /@context must include "dtmi:dtdl:context;3"/],
    ['a bad DTMI', { '@context': 'dtmi:dtdl:context;3', '@id': 'placeholder', '@type': 'Interface' }, /@id "placeholder" is not a valid DTMI/],
    ['a schema DTDL lacks', { '@context': 'dtmi:dtdl:context;3', '@id': 'dtmi:com:example:a;1', '@type': 'Interface', contents: [{ '@type': 'Telemetry', name: 't', schema: 'number' }] }, /unknown schema "number"/],
    ['Historized without its extension', { '@context': 'dtmi:dtdl:context;3', '@id': 'dtmi:com:example:a;1', '@type': 'Interface', contents: [{ '@type': ['Telemetry', 'Historized'], name: 't', schema: 'double' }] }, /lacks "dtmi:dtdl:extension:historization;1"/],
    ['a writable property', { '@context': 'dtmi:dtdl:context;3', '@id': 'dtmi:com:example:a;1', '@type': 'Interface', contents: [{ '@type': 'Property', name: 'p', schema: 'string', writable: true }] }, /writable/],
    ['a component of no known model', { '@context': 'dtmi:dtdl:context;3', '@id': 'dtmi:com:example:a;1', '@type': 'Interface', contents: [{ '@type': 'Component', name: 'c', schema: 'dtmi:com:example:none;1' }] }, /not a model of this IoT domain/],
  ])('a model spec with %s: 400 InvalidParameter', async (_name, spec, message) => {
    const before = counts();
    const err = await ociError(sdk.iot.createDigitalTwinModel({ createDigitalTwinModelDetails: { iotDomainId: domainId, spec } }));
    expect(err).toMatchObject({ statusCode: 400, serviceCode: 'InvalidParameter' });
    expect(err.message).toMatch(message);
    expect(counts()).toEqual(before);
  });

  it('adapters: jq that does not compile, a route writing a property the model lacks; instances: a deleted adapter; a model in use is not deleted', async () => {
    const spec = { ...model, '@id': 'dtmi:com:example:bad:input;1' };
    const { digitalTwinModel } = await sdk.iot.createDigitalTwinModel({ createDigitalTwinModelDetails: { iotDomainId: domainId, spec } });
    const before = counts();
    const adapter = (routes: object[]) =>
      ociError(sdk.iot.createDigitalTwinAdapter({ createDigitalTwinAdapterDetails: { iotDomainId: domainId, digitalTwinModelId: digitalTwinModel.id, inboundEnvelope, inboundRoutes: routes as typeof inboundRoutes } }));
    const badJq = await adapter([{ condition: '*', payloadMapping: { '$.count': '${.count |}' } }]);
    expect(badJq).toMatchObject({ statusCode: 400, serviceCode: 'InvalidParameter' });
    expect(badJq.message).toMatch(/inboundRoutes\[0\]\.payloadMapping\["\$\.count"\]: jq does not compile/);
    const noSuch = await adapter([{ condition: '*', payloadMapping: { '$.temperature': '$.t' } }]);
    expect(noSuch.message).toMatch(/has no Telemetry or Property "temperature"/);
    const plainText = await adapter([{ condition: 'endpoint(1) == "x"', payloadMapping: {} }]);
    expect(plainText.message).toMatch(/neither a jq expression/);
    expect(counts()).toEqual(before);

    const made = await sdk.iot.createDigitalTwinAdapter({ createDigitalTwinAdapterDetails: { iotDomainId: domainId, digitalTwinModelId: digitalTwinModel.id, inboundEnvelope, inboundRoutes } });
    const device = await t.createDevice({ digitalTwinAdapterId: made.digitalTwinAdapter.id });
    const inUse = await ociError(sdk.iot.deleteDigitalTwinModel({ digitalTwinModelId: digitalTwinModel.id }));
    expect(inUse).toMatchObject({ statusCode: 409, serviceCode: 'Conflict' });
    expect(inUse.message).toContain(device.instanceId);
    await sdk.iot.deleteDigitalTwinInstance({ digitalTwinInstanceId: device.instanceId });
    await sdk.iot.deleteDigitalTwinAdapter({ digitalTwinAdapterId: made.digitalTwinAdapter.id });
    const afterDelete = counts();
    const deleted = await ociError(
      sdk.iot.createDigitalTwinInstance({ createDigitalTwinInstanceDetails: { iotDomainId: domainId, digitalTwinAdapterId: made.digitalTwinAdapter.id } }),
    );
    expect(deleted).toMatchObject({ statusCode: 400, serviceCode: 'RelatedResourceNotAuthorizedOrNotFound' });
    const unknownModel = await ociError(
      sdk.iot.createDigitalTwinInstance({ createDigitalTwinInstanceDetails: { iotDomainId: domainId, digitalTwinModelSpecUri: 'dtmi:com:example:unknown;1' } }),
    );
    expect(unknownModel).toMatchObject({ statusCode: 400, serviceCode: 'RelatedResourceNotAuthorizedOrNotFound' });
    expect(counts()).toEqual(afterDelete);
    await sdk.iot.deleteDigitalTwinModel({ digitalTwinModelId: digitalTwinModel.id });
  });
});

describe('docs/models-and-adapters.md', () => {
  it('shows examples/telemetry/m5-env.ts exactly', () => {
    const root = new URL('../../', import.meta.url);
    const sample = readFileSync(new URL('examples/telemetry/m5-env.ts', root), 'utf8');
    const doc = readFileSync(new URL('docs/models-and-adapters.md', root), 'utf8');
    const embedded = /<!-- sample: examples\/telemetry\/m5-env.ts -->\n```ts\n([\s\S]*?)```/.exec(doc);
    expect(embedded, 'docs/models-and-adapters.md embeds examples/telemetry/m5-env.ts').not.toBeNull();
    expect(embedded![1]).toBe(sample);
  });
});
