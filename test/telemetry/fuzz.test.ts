/**
 * Property tests of what users hand the adapter pipeline, against a real emulator over HTTP
 * and real MQTTS, WSS and HTTPS devices: generated DTDL specs and adapter expressions are
 * taken (200) or refused with OCI's 4xx shape, never a 5xx; generated payloads on every
 * transport are acknowledged and each ends mapped or as one rejected_data row with a
 * reason, and nothing escapes as an uncaught exception (vitest fails a run that has one).
 * Runs are few and bounded: the file takes seconds, not minutes.
 */
import fc from 'fast-check';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDevice } from '../../src/programmatic.js';
import { devicePost, startTestEmulator, until, type TestEmulator } from '../support/harness.js';

let t: TestEmulator;
let domainId: string;

beforeAll(async () => {
  t = await startTestEmulator({ adapterTimeLimit: 'PT0.2S' });
  domainId = t.emu.domain.id;
});
afterAll(() => t?.close());

const FUZZ_TIMEOUT = 120_000;
let serial = 0;

/** POSTs `body`; any 5xx, or an error not in OCI's {code, message} shape, fails the property. */
async function post(path: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await t.rest('POST', path, body);
  expect(res.status, JSON.stringify(res.body)?.slice(0, 300)).toBeLessThan(500);
  if (res.status >= 400) {
    expect(typeof res.body?.code).toBe('string');
    expect(typeof res.body?.message).toBe('string');
  }
  return res;
}

// ---- DTDL specs: near-valid, so the generator reaches deep into the parser, plus noise.

const name = fc.oneof({ weight: 6, arbitrary: fc.constantFrom('t', 'v', 'count', 'a_b', 'x1', 'y', 'z9') }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) });
const primitive = fc.constantFrom('double', 'integer', 'string', 'boolean', 'dateTime', 'long', 'point', 'number', 'Double', '');
const { schema } = fc.letrec<{ schema: unknown }>((tie) => ({
  schema: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    primitive,
    fc.record({ '@type': fc.constant('Array'), elementSchema: tie('schema') }, { requiredKeys: ['@type'] }),
    fc.record({ '@type': fc.constant('Map'), mapKey: fc.constant({ name: 'k', schema: 'string' }), mapValue: fc.record({ name: name, schema: tie('schema') }) }),
    fc.record({ '@type': fc.constant('Object'), fields: fc.array(fc.record({ name: name, schema: tie('schema') }), { maxLength: 3 }) }, { requiredKeys: ['@type'] }),
    fc.record({
      '@type': fc.constant('Enum'),
      valueSchema: fc.constantFrom('integer', 'string', 'double'),
      enumValues: fc.array(fc.record({ name: name, enumValue: fc.oneof(fc.integer(), fc.string({ maxLength: 5 })) }), { maxLength: 3 }),
    }),
    fc.jsonValue({ maxDepth: 2 }),
  ),
}));
/** Patterns RE2 takes, patterns it refuses (backreferences, lookaround), and catastrophic ones for a backtracker. */
const pattern = fc.oneof(
  fc.constantFrom('^(a+)+$', '(a|aa)*b', '^(a)\\1$', '(?=x)', '(?<=a)b', '[', '\\p{L}+', '^[A-Z]{2}-\\d+$', '(a{1000}){1000}', 'a{1001}'),
  fc.stringMatching(/^[\^$()|*+?.a-c\\[\]{}0-9,]{0,20}$/),
  fc.jsonValue({ maxDepth: 1 }),
);
const content = fc
  .tuple(
    fc.record(
      {
        '@type': fc.oneof(
          { weight: 4, arbitrary: fc.constantFrom('Telemetry', 'Property', 'Command', 'Relationship', 'Component') },
          { weight: 4, arbitrary: fc.constantFrom(['Telemetry', 'Historized'], ['Telemetry', 'Validated'], ['Property', 'Validated'], ['Telemetry', 'Temperature'], ['Telemetry', 'Bogus']) },
          { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
        ),
        name,
        schema,
        pattern,
      },
      { requiredKeys: ['@type', 'name', 'schema'] },
    ),
    // Now and then what OCI refuses or what the validation extension reads.
    fc.option(
      fc.record(
        {
          minimum: fc.oneof(fc.integer(), fc.string({ maxLength: 3 })),
          maxLength: fc.integer({ min: -1, max: 50 }),
          unit: fc.constantFrom('degreeCelsius', 'percent'),
          writable: fc.boolean(),
        },
        { requiredKeys: [] },
      ),
      { freq: 3 },
    ),
  )
  .map(([c, extra]) => ({ ...c, ...extra }));
const spec = fc.oneof(
  { weight: 8, arbitrary: fc.record(
    {
      '@context': fc.oneof(
        { weight: 5, arbitrary: fc.constant(['dtmi:dtdl:context;3', 'dtmi:dtdl:extension:historization;1', 'dtmi:com:oracle:dtdl:extension:validation;1', 'dtmi:dtdl:extension:quantitativeTypes;1']) },
        { weight: 1, arbitrary: fc.constantFrom('dtmi:dtdl:context;3', 'dtmi:dtdl:context;2') },
        { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
      ),
      '@id': fc.oneof({ weight: 5, arbitrary: fc.constant(null).map(() => `dtmi:com:example:fuzz:m${++serial};1`) }, { weight: 1, arbitrary: fc.string({ maxLength: 20 }) }),
      '@type': fc.oneof({ weight: 8, arbitrary: fc.constant('Interface') }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) }),
      contents: fc.oneof({ weight: 5, arbitrary: fc.uniqueArray(content, { selector: (c) => c.name, maxLength: 4 }) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }),
      schemas: fc.oneof({ weight: 4, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(fc.record({ '@id': fc.constantFrom('dtmi:com:example:s;1', 'dtmi:com:example:s;2', 'x'), '@type': fc.constantFrom('Object', 'Enum'), fields: fc.constant([]) }), { maxLength: 1 }) }),
    },
    { requiredKeys: ['@context', '@id', '@type'] },
  ) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
);

describe('DTDL specs', () => {
  it('a generated spec is a model (200), 400 InvalidParameter, or 409 for an @id already taken, never a 5xx', async () => {
    let accepted = 0;
    // fast-check may hand the same generated spec twice (and shrinking replays it): the second is a conflict.
    const taken = new Set<unknown>();
    await fc.assert(
      fc.asyncProperty(spec, async (s) => {
        const res = await post('/20250531/digitalTwinModels', { iotDomainId: domainId, spec: s });
        const id = typeof s === 'object' && s !== null && !Array.isArray(s) ? (s as Record<string, unknown>)['@id'] : undefined;
        if (res.status === 409) {
          expect(taken.has(id)).toBe(true);
          return;
        }
        if (res.status === 200) {
          accepted++;
          taken.add(id);
        }
        expect([200, 400]).toContain(res.status);
        if (res.status === 400) expect(res.body.code).toBe('InvalidParameter');
      }),
      { numRuns: 150 },
    );
    // The generator must reach past the first checks into contents, schemas and patterns.
    expect(accepted).toBeGreaterThan(0);
  }, FUZZ_TIMEOUT);
});

// ---- jq expressions: fragments of jq and of OCI's syntax, runaways included.

const jqAtom = fc.constantFrom(
  '.', '.n', '.v', '.a.b', '.[0]', '.[]', 'null', '1', '"s"', '[.[]?]', 'keys', 'length', 'tojson', 'fromjson', 'endpoint(1)', 'endpoint(-1)',
  'now', 'error("x")', 'error', 'input', 'halt', 'debug', '$__loc__', 'env', 'splits("a")', 'test("(a+)+$")', 'range(5)',
  'def f: f; f', '[range(1e8)]', '"a" * 1e8', 'recurse', '[limit(3; repeat(1))]', 'tostream', 'ltrimstr("x")', '@base64d',
  'fromdateformat("yyyy-MM-dd")', 'fromdateformat("QQ")', 'getpath(["a"])', 'paths', 'until(false; .)', 'walk(.)', '..',
);
const jqOp = fc.constantFrom(' | ', ' + ', ' // ', ', ', ' and ', ' == ', ' as $x | ', ' * ', ' / ', ' ? ', ' |= ');
const jqExpression = fc
  .array(fc.tuple(jqAtom, jqOp), { minLength: 1, maxLength: 4 })
  .map((parts) => parts.map(([a, o]) => a + o).join('').replace(/ (\| |\+ |\/\/ |, |and |== |as \$x \| |\* |\/ |\? |\|= )$/, ''));
const expression = fc.oneof(
  { weight: 4, arbitrary: jqExpression.map((e) => `\${${e}}`) },
  { weight: 1, arbitrary: fc.constantFrom('$.n', '$.v', "$['a'][0]", '$.list[*]', '$..a', '$', '*', '${}', 'endpoint(1)') },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
);

describe('adapter expressions', () => {
  it('a generated adapter is taken (200) or a 4xx; messages through a taken one are mapped or rejected with a reason', async () => {
    const model = await post('/20250531/digitalTwinModels', {
      iotDomainId: domainId,
      spec: {
        '@context': ['dtmi:dtdl:context;3', 'dtmi:dtdl:extension:historization;1'],
        '@id': 'dtmi:com:example:fuzz:jq;1',
        '@type': 'Interface',
        contents: [
          { '@type': ['Telemetry', 'Historized'], name: 'n', schema: 'double' },
          { '@type': ['Telemetry', 'Historized'], name: 'v', schema: { '@type': 'Object' } },
        ],
      },
    });
    expect(model.status).toBe(200);
    let taken = 0;
    await fc.assert(
      fc.asyncProperty(expression, expression, expression, fc.jsonValue({ maxDepth: 3 }), async (condition, n, time, payload) => {
        const adapter = await post('/20250531/digitalTwinAdapters', {
          iotDomainId: domainId,
          digitalTwinModelId: model.body.id,
          inboundEnvelope: { referenceEndpoint: 'fuzz', envelopeMapping: { timeObserved: time } },
          inboundRoutes: [{ condition, payloadMapping: { '$.n': n, '$.v': '${.}' } }],
        });
        if (adapter.status !== 200) return;
        taken++;
        const device = await t.createDevice({ digitalTwinAdapterId: adapter.body.id });
        await sendAndCheck(device, 'mqtts', Buffer.from(JSON.stringify({ n: 1, payload })));
      }),
      { numRuns: 40 },
    );
    // The generator must reach the pipeline, not only the compiler.
    expect(taken).toBeGreaterThan(0);
  }, FUZZ_TIMEOUT);
});

// ---- telemetry payloads, on every transport.

type Transport = 'mqtts' | 'wss' | 'https';
const clients = new Map<string, MqttClient>();

async function clientOf(device: TestDevice, transport: 'mqtts' | 'wss'): Promise<MqttClient> {
  const key = `${device.instanceId}:${transport}`;
  let client = clients.get(key);
  if (!client) {
    client = await mqtt.connectAsync({ ...(transport === 'mqtts' ? device.mqttOptions : device.wssOptions), clientId: `${device.externalKey}-${transport}` });
    clients.set(key, client);
  }
  return client;
}
afterAll(async () => {
  await Promise.all([...clients.values()].map((c) => c.endAsync(true)));
});


const count = (table: string, instanceId: string) =>
  (t.emu.db.prepare(`SELECT count(*) AS n FROM ${table} WHERE digital_twin_instance_id = ?`).get(instanceId) as { n: number }).n;

/**
 * Sends `payload` as `device` and checks what a user would see: the device's
 * acknowledgement, one more raw_data row, and either mapped rows or one rejected_data row
 * with a reason.
 */
async function sendAndCheck(device: TestDevice, transport: Transport, payload: Buffer): Promise<void> {
  const before = { raw: count('raw_data', device.instanceId), rejected: count('rejected_data', device.instanceId), historized: count('historized_data', device.instanceId) };
  const endpoint = `fuzz/${transport}/${++serial}`;
  if (transport === 'https') expect(await devicePost(t.emu, device, `/${endpoint}`, payload)).toBe(202);
  else await (await clientOf(device, transport)).publishAsync(endpoint, payload, { qos: 1 });
  await until(() => t.emu.telemetry.pending() === 0);
  expect(count('raw_data', device.instanceId)).toBe(before.raw + 1);
  const rejected = count('rejected_data', device.instanceId) - before.rejected;
  const historized = count('historized_data', device.instanceId) - before.historized;
  if (rejected === 0) expect(historized).toBeGreaterThan(0);
  else {
    expect(rejected).toBe(1);
    const row = t.emu.db.prepare('SELECT reason_code, reason_message FROM rejected_data WHERE endpoint = ?').get(endpoint) as { reason_code: number; reason_message: string };
    expect(row.reason_message.length).toBeGreaterThan(0);
    expect([400, 404, 422, 500, 504]).toContain(row.reason_code);
  }
}

const nested = (n: number) => `{"v":${'['.repeat(n)}${']'.repeat(n)}}`;
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b)),
  fc.jsonValue({ maxDepth: 5 }).map((v) => Buffer.from(JSON.stringify(v))),
  fc.record({ v: fc.jsonValue({ maxDepth: 4 }), n: fc.oneof(fc.double(), fc.integer(), fc.string({ maxLength: 5 })), time: fc.oneof(fc.integer(), fc.string({ maxLength: 8 })) }, { requiredKeys: [] }).map((v) => Buffer.from(JSON.stringify(v))),
  fc.integer({ min: 1, max: 6000 }).map((n) => Buffer.from(nested(n))),
  fc.string({ unit: 'binary', maxLength: 60 }).map((s) => Buffer.from(JSON.stringify({ v: { s } }))),
  fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.uint8Array({ maxLength: 8 })).map(([a, b]) => Buffer.concat([Buffer.from('{"v":"'), Buffer.from(a).map((x) => x | 0x80), Buffer.from(b), Buffer.from('"}')])),
);

describe('telemetry payloads on every transport', () => {
  it('each generated payload is acknowledged, kept as raw_data, and mapped or rejected with a reason', async () => {
    const model = await post('/20250531/digitalTwinModels', {
      iotDomainId: domainId,
      spec: {
        '@context': ['dtmi:dtdl:context;3', 'dtmi:dtdl:extension:historization;1', 'dtmi:com:oracle:dtdl:extension:validation;1'],
        '@id': 'dtmi:com:example:fuzz:payload;1',
        '@type': 'Interface',
        contents: [
          { '@type': ['Telemetry', 'Historized'], name: 'v', schema: { '@type': 'Object' } },
          { '@type': ['Telemetry', 'Historized', 'Validated'], name: 'n', schema: 'double', minimum: 0 },
        ],
      },
    });
    expect(model.status).toBe(200);
    const adapter = await post('/20250531/digitalTwinAdapters', { iotDomainId: domainId, digitalTwinModelId: model.body.id });
    expect(adapter.status).toBe(200);
    const device = await t.createDevice({ digitalTwinAdapterId: adapter.body.id });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<Transport>('mqtts', 'wss', 'https'), payload, async (transport, bytes) => {
        await sendAndCheck(device, transport, bytes);
      }),
      { numRuns: 90 },
    );
  }, FUZZ_TIMEOUT);
});
