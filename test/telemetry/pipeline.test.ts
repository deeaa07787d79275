/**
 * The adapter pipeline without sockets: an in-memory database, the store, jq in its worker,
 * and messages handed in as the engine hands them. Also OCI's expression syntax turned
 * into jq, and a whole batch mapped in one jq call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iso, manualClock } from '../../src/clock/clock.js';
import { twinResources } from '../../src/resources/twins.js';
import { openDatabase } from '../../src/store/database.js';
import { createStore, type Store } from '../../src/store/index.js';
import { createJqEngine, type JqEngine } from '../../src/telemetry/jq.js';
import { contentPathOf, javaPatternToRegex, jsonPathToJq, toJq } from '../../src/telemetry/expressions.js';
import { createTelemetryPipeline, type TelemetryPipeline } from '../../src/telemetry/pipeline.js';

let store: Store;
let jq: JqEngine;
let pipeline: TelemetryPipeline;
let flushes: Array<() => void>;
const clock = manualClock(Date.parse('2026-03-01T00:00:00Z'));

beforeAll(() => {
  const db = openDatabase(':memory:');
  store = createStore(db);
  store.controlPlane.ensureDefault({ region: 'us-ashburn-1', hostsOf: (d, g) => ({ deviceHost: `${d}.device.iot.localhost`, dataHost: `${g}.data.iot.localhost`, dbConnectionString: `tcps:db:1522/${g}` }), now: iso(clock.now()) });
  jq = createJqEngine();
  flushes = [];
  // The test plays the batch: flushes wait until it says the batch ends. It waits for jq as long as the time limit,
  // so a batch is mapped in its own transaction even on a busy machine.
  pipeline = createTelemetryPipeline({ store, jq, timeLimitMs: 200, waitMs: 200, atEndOfBatch: (f) => flushes.push(f), afterCommit: (e) => e(), write: (apply) => apply() });
});
afterAll(() => jq.close());

const endBatch = () => {
  for (const f of flushes.splice(0)) f();
};

describe('OCI expressions as jq', () => {
  it('${…} is jq, $… is JSONPath, * a condition that holds', () => {
    expect(toJq('${.a | floor}', 'x')).toBe('.a | floor');
    expect(toJq('*', 'x', { condition: true })).toBe('true');
    expect(jsonPathToJq('$', 'x')).toBe('.');
    expect(jsonPathToJq("$.a['b c'][0][*]", 'x')).toBe('.["a"] | .["b c"] | .[0] | .[]');
    expect(() => jsonPathToJq('$..a', 'x')).toThrow(/not supported/);
    expect(() => toJq('.a', 'x')).toThrow(/neither a jq expression/);
    expect(contentPathOf('$.file.commandDetails', 'x')).toBe('file.commandDetails');
    expect(javaPatternToRegex("yyyy-MM-dd'T'HH:mm", 'x')).toBe('^(?<y>\\d{4})\\-(?<M>\\d{2})\\-(?<d>\\d{2})T(?<H>\\d{2}):(?<m>\\d{2})$');
    expect(() => javaPatternToRegex('yyyy QQ', 'x')).toThrow(/"Q" .* is not supported/);
  });
});

describe('the pipeline', () => {
  it('maps a whole batch in one jq call, writing historized and snapshot rows for every mapped device', () => {
    const twins = twinResources(store, clock, 'us-ashburn-1', jq);
    const iotDomainId = store.controlPlane.allDomains()[0].id;
    const model = twins.models.create({
      iotDomainId,
      spec: {
        '@context': ['dtmi:dtdl:context;3', 'dtmi:dtdl:extension:historization;1'],
        '@id': 'dtmi:com:example:unit;1',
        '@type': 'Interface',
        contents: [{ '@type': ['Telemetry', 'Historized'], name: 't', schema: 'double' }],
      },
    });
    const adapter = twins.adapters.create({ iotDomainId, digitalTwinModelId: model.id });
    const ids = ['a', 'b', 'c'].map((k) => {
      const id = `ocid1.iotdigitaltwininstance.oc1..unit${k}`;
      store.instances.insert({
        id, iot_domain_id: iotDomainId, connectivity_type: 'DIRECT', auth_id: null, external_key: `unit-${k}`, display_name: k,
        description: null, digital_twin_model_id: model.id, digital_twin_model_spec_uri: model.spec_uri, digital_twin_adapter_id: adapter.id,
        gateways: null, freeform_tags: '{}', defined_tags: '{}', system_tags: '{}', lifecycle_state: 'ACTIVE',
        time_created: iso(clock.now()), time_updated: iso(clock.now()), revision: 1,
      });
      return id;
    });
    const before = pipeline.stats();
    ids.forEach((instanceId, i) =>
      pipeline.receive({ instanceId, endpoint: 'x/y', payload: Buffer.from(JSON.stringify({ t: i + 0.5 })), contentType: 'application/json', timeReceived: clock.now() }),
    );
    expect(flushes).toHaveLength(1);
    expect(store.telemetryData.snapshotOf(ids[0])).toEqual([]);
    endBatch();
    const after = pipeline.stats();
    expect(after.messages - before.messages).toBe(3);
    expect(after.jqCalls - before.jqCalls).toBe(1);
    expect(ids.map((id) => store.telemetryData.series(id, 't', 10).map((r) => r.value))).toEqual([['0.5'], ['1.5'], ['2.5']]);
  });
});
