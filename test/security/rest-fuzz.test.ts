/**
 * Property-based REST fuzzing: thousands of generated bodies, paths and query strings
 * against a real emulator over HTTP. Whatever arrives, the answer is an OCI error or a
 * success, never a 5xx, and every error has OCI's {code, message} shape.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestEmulator, type TestEmulator } from '../support/harness.js';

let t: TestEmulator;
let device: { instanceId: string; externalKey: string };
let shortId: string;

beforeAll(async () => {
  t = await startTestEmulator();
  device = await t.createDevice();
  shortId = t.emu.domain.shortId;
});
afterAll(async () => {
  await t.close();
});

interface Sent {
  method: string;
  path: string;
  body?: string;
  contentType?: string;
}

const failures: Array<Sent & { status: number; reply: string }> = [];
beforeEach(() => {
  failures.length = 0;
});
/** Thousands of requests per property: generous against a loaded CI machine, never near it alone. */
const FUZZ_TIMEOUT = 60_000;

/** Sends one request; records it if the reply is a 5xx or an error without OCI's shape. */
async function send(req: Sent): Promise<number> {
  const headers: Record<string, string> = {};
  if (req.contentType !== undefined) headers['content-type'] = req.contentType;
  const res = await fetch(t.emu.restUrl + req.path, { method: req.method, headers, body: req.body });
  const text = await res.text();
  let shaped = true;
  if (res.status >= 400) {
    try {
      const body = JSON.parse(text) as { code?: unknown; message?: unknown };
      shaped = typeof body.code === 'string' && typeof body.message === 'string';
    } catch {
      shaped = false;
    }
  }
  if (res.status >= 500 || !shaped) failures.push({ ...req, status: res.status, reply: text.slice(0, 300) });
  return res.status;
}

const jsonish = fc.jsonValue({ maxDepth: 6 });
const anyText = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }));
const oneOf = <T>(...xs: T[]) => fc.constantFrom(...xs);

/** Values near what the routes expect, plus what they do not. */
const fieldValue = fc.oneof(
  jsonish,
  oneOf('JSON', 'TEXT', 'BINARY', 'PT1M', 'P1D', 'PT0S', 'P1Y', '', 'ocid1.x', '$SYS/#', '#', '+/+', 'a/#/b', '\u0000'),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 300 }),
);

const objectBody = (keys: string[]) =>
  fc.dictionary(fc.oneof(oneOf(...keys), fc.string({ maxLength: 12 }), oneOf('__proto__', 'constructor')), fieldValue, { maxKeys: 8 });

const invokeKeys = ['requestDataFormat', 'requestEndpoint', 'requestDuration', 'requestData', 'requestDataContentType', 'responseEndpoint', 'responseDuration'];
const instanceKeys = ['iotDomainId', 'authId', 'externalKey', 'displayName', 'description', 'gateways', 'freeformTags', 'definedTags', 'connectivityType'];
const secretKeys = ['secretContent', 'secretName', 'vaultId', 'compartmentId', 'freeformTags'];
const clockKeys = ['advance', 'set'];
const certKeys = ['commonName', 'validity'];

const rawBody = fc.oneof(
  anyText,
  fc.integer({ min: 1, max: 5000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc.integer({ min: 1, max: 5000 }).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)),
  oneOf('{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}', 'null', 'true', '1e999', '"\\ud800"'),
  // Numbers JSON.parse turns into Infinity, in every field a route reads.
  fc.tuple(oneOf(...invokeKeys, ...instanceKeys, ...secretKeys, ...clockKeys, ...certKeys), oneOf('1e999', '-1e999', '1e308', '-0', '9007199254740993')).map(
    ([key, n]) => `{"${key}":${n},"requestDataFormat":"JSON","requestEndpoint":"a"}`,
  ),
);

describe('REST bodies', () => {
  it('generated bodies on every writing route never produce a 5xx', async () => {
    const target = fc.oneof(
      fc.record({ path: fc.constant(() => `/20250531/digitalTwinInstances/${device.instanceId}/actions/invokeRawCommand`), body: objectBody(invokeKeys) }),
      fc.record({ path: fc.constant(() => '/20250531/digitalTwinInstances'), body: objectBody(instanceKeys) }),
      fc.record({ path: fc.constant(() => '/20180608/secrets'), body: objectBody(secretKeys) }),
      fc.record({ path: fc.constant(() => '/emulator/clock'), body: objectBody(clockKeys) }),
      fc.record({ path: fc.constant(() => '/emulator/certificates'), body: objectBody(certKeys) }),
    );
    await fc.assert(
      fc.asyncProperty(target, fc.boolean(), async ({ path, body }, withDomain) => {
        const payload = withDomain && path().endsWith('Instances') ? { ...body, iotDomainId: t.emu.domain.id } : body;
        await send({ method: 'POST', path: path(), body: JSON.stringify(payload), contentType: 'application/json' });
      }),
      { numRuns: 1000 },
    );
    expect(failures).toEqual([]);
  }, FUZZ_TIMEOUT);

  it('raw, malformed, deep or mislabelled bodies never produce a 5xx', async () => {
    const paths = () => [
      `/20250531/digitalTwinInstances/${device.instanceId}/actions/invokeRawCommand`,
      '/20250531/digitalTwinInstances',
      `/20250531/digitalTwinInstances/${device.instanceId}`,
      '/20180608/secrets',
      '/emulator/clock',
      '/emulator/certificates',
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 5 }),
        oneOf('POST', 'PUT'),
        rawBody,
        oneOf('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/octet-stream', 'application/x-www-form-urlencoded', ''),
        async (i, method, body, contentType) => {
          await send({ method, path: paths()[i], body, contentType });
        },
      ),
      { numRuns: 1000 },
    );
    expect(failures).toEqual([]);
  }, FUZZ_TIMEOUT);
});

describe('numbers JSON cannot carry', () => {
  it('every field of every writing route refuses 1e999 (Infinity after JSON.parse) with 400 and changes nothing', async () => {
    const routes: Array<[string, string[]]> = [
      [`/20250531/digitalTwinInstances/${'{id}'}/actions/invokeRawCommand`, invokeKeys],
      ['/20250531/digitalTwinInstances', instanceKeys],
      ['/20180608/secrets', secretKeys],
      ['/emulator/clock', clockKeys],
      ['/emulator/certificates', certKeys],
    ];
    const clockBefore = (await t.rest('GET', '/emulator/clock')).body.now;
    const rows = () => t.emu.db.prepare('SELECT (SELECT count(*) FROM commands) + (SELECT count(*) FROM digital_twin_instances) + (SELECT count(*) FROM vault_secrets) AS n').get();
    const before = rows();
    for (const [template, keys] of routes) {
      for (const key of keys) {
        for (const n of ['1e999', '-1e999']) {
          const path = template.replace('{id}', device.instanceId);
          const status = await send({ method: 'POST', path, body: `{"${key}":${n}}`, contentType: 'application/json' });
          expect({ path, key, n, status }).toEqual({ path, key, n, status: 400 });
        }
      }
    }
    expect((await t.rest('GET', '/emulator/clock')).body.now).toBe(clockBefore);
    expect(rows()).toEqual(before);
    expect(failures).toEqual([]);
  });

  it('query numbers that Ajv would coerce to Infinity are refused with 400', async () => {
    for (const path of [
      `/ords/${shortId}/20250531/rawCommandData?limit=Infinity`,
      `/ords/${shortId}/20250531/rawData?offset=-Infinity`,
      `/ords/${shortId}/20250531/rawData?offset=1e300`,
      `/20250531/digitalTwinInstances?iotDomainId=${t.emu.domain.id}&limit=Infinity`,
      `/20250531/digitalTwinInstances?iotDomainId=${t.emu.domain.id}&page=1e300`,
    ]) {
      expect({ path, status: await send({ method: 'GET', path }) }).toEqual({ path, status: 400 });
    }
    expect(failures).toEqual([]);
  });
});

describe('REST paths and query strings', () => {
  it('ORDS q refuses prototype names as columns and operators, and slow LIKE patterns, with 400', async () => {
    const qs: Array<Record<string, unknown>> = [
      { id: { constructor: 1 } },
      { id: { toString: 'x' } },
      { constructor: 1 },
      { $orderby: { constructor: 'asc' } },
      { request_endpoint: { $like: '%' + 'a'.repeat(200) + 'b' } },
      { request_data: { $like: '%temp%' } },
    ];
    for (const filter of qs) {
      const path = `/ords/${shortId}/20250531/rawCommandData?q=${encodeURIComponent(JSON.stringify(filter))}`;
      expect({ filter, status: await send({ method: 'GET', path }) }).toEqual({ filter, status: 400 });
    }
    const fine = `/ords/${shortId}/20250531/rawCommandData?q=${encodeURIComponent(JSON.stringify({ request_endpoint: { $like: '/endpoints/%' } }))}`;
    expect(await send({ method: 'GET', path: fine })).toBe(200);
    expect(failures).toEqual([]);
  });

  const ords = (what: string) => `/ords/${shortId}/20250531/${what}`;
  const columns = ['constructor', '__proto__', 'id', 'digital_twin_instance_id', 'request_endpoint', 'delivery_status', 'time_created', 'request_data', 'endpoint', 'content', 'time_received', 'nope'];
  const operators = ['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$like', '$in', '$nin', '$null', '$notnull', '$between', '$or', 'constructor', 'toString', '__proto__', '$orderby'];

  /** ORDS `q` filters from a grammar, so most are nearly valid, plus raw junk. */
  const q: fc.Arbitrary<string> = fc.oneof(
    fc
      .letrec((tie) => ({
        node: fc.oneof(
          { depthSize: 'small' },
          fc.dictionary(oneOf(...columns), fc.oneof(fieldValue, fc.dictionary(oneOf(...operators), fieldValue, { maxKeys: 3 })), { maxKeys: 3 }),
          fc.record({ $and: fc.array(tie('node'), { maxLength: 3 }) }),
          fc.record({ $or: fc.array(tie('node'), { maxLength: 3 }) }),
        ),
      }))
      .node.chain((node) =>
        fc.option(fc.dictionary(oneOf(...columns), fc.constantFrom<string | number>('asc', 'desc', 'up', 1, -1)), { nil: undefined }).map((order) =>
          JSON.stringify(order ? { ...(node as object), $orderby: order } : node),
        ),
      ),
    anyText,
    fc.integer({ min: 1, max: 50 }).map((n) => JSON.stringify({ request_endpoint: { $like: '%a'.repeat(n) } })),
  );

  const query = (params: Record<string, unknown>) =>
    '?' + new URLSearchParams(Object.entries(params).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)] as [string, string]]))).toString();
  const number = fc.oneof(fc.integer(), fc.double(), oneOf('1e20', '-1', 'NaN', 'Infinity', '0x10', '', '9'.repeat(30)));

  it('generated GETs, ORDS filters included, never produce a 5xx', async () => {
    const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
    const request = fc.oneof(
      fc
        .record({ what: oneOf('rawCommandData', 'rawData'), q: maybe(q), limit: maybe(number), offset: maybe(number) })
        .map(({ what, ...params }) => ords(what) + query(params)),
      fc
        .tuple(oneOf('rawCommandData', 'rawData'), fc.oneof(fc.string({ maxLength: 30 }), number.map(String)))
        .map(([what, id]) => `${ords(what)}/${encodeURIComponent(id)}`),
      fc
        .record({ limit: maybe(number), page: maybe(fc.oneof(number, fc.string())), sortBy: maybe(fc.string()), sortOrder: maybe(oneOf('ASC', 'DESC', 'x')) })
        .map((params) => '/20250531/digitalTwinInstances' + query({ iotDomainId: t.emu.domain.id, ...params })),
      fc.string({ maxLength: 80 }).map((s) => `/20250531/digitalTwinInstances/${encodeURIComponent(s)}`),
      fc.string({ maxLength: 80 }).map((s) => `/emulator/certificates/${encodeURIComponent(s)}`),
      fc.string({ maxLength: 80 }).map((s) => `/20190301/secretbundles/${encodeURIComponent(s)}`),
      fc.webPath().map((p) => p || '/'),
    );
    await fc.assert(
      fc.asyncProperty(request, async (path) => {
        await send({ method: 'GET', path });
      }),
      { numRuns: 2500 },
    );
    expect(failures).toEqual([]);
  }, FUZZ_TIMEOUT);
});
