/**
 * Every registered route, fuzzed: `Emulator.routes` is enumerated (so a route added later is
 * fuzzed without touching this file), its path parameters filled with real ids of the
 * fixture (and of what earlier requests made) or random text, its query strings and JSON
 * bodies generated from the names its OpenAPI schema declares plus random ones and garbage.
 * Whatever arrives: never a 5xx; every error is OCI's `{code, message}` with the status that
 * code has; and a refused request changes nothing (every resource table's rows, and every
 * table's row count, as they were).
 *
 * The seed is printed; rerun a failure with `FUZZ_SEED=<seed>`, run more with
 * `FUZZ_RUNS=<per route>` (default 12: about 1,250 requests).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator, type TestEmulator } from '../support/harness.js';

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const RUNS = Number(process.env.FUZZ_RUNS ?? 12);

/** The status each OCI error code goes with. */
const STATUS_OF_CODE: Record<string, number> = {
  InvalidParameter: 400,
  MissingParameter: 400,
  CannotParseRequest: 400,
  RelatedResourceNotAuthorizedOrNotFound: 400,
  NotAuthenticated: 401,
  NotAuthorizedOrNotFound: 404,
  NotFound: 404,
  NotAllowed: 403,
  Conflict: 409,
  IncorrectState: 409,
  NoEtagMatch: 412,
  RequestEntityTooLarge: 413,
  TooManyRequests: 429,
};

/** Rows only the API writes: after a refused request each is exactly as it was. */
const RESOURCE_TABLES = [
  'emulator_meta',
  'iot_domain_groups',
  'iot_domains',
  'vault_secrets',
  'vault_secret_versions',
  'digital_twin_instances',
  'digital_twin_models',
  'digital_twin_adapters',
  'digital_twin_relationships',
  'client_certificates',
  'work_requests',
  'work_request_entries',
  'webhooks',
];

/** Where the real values of a path parameter or body field of this name are. */
const REAL_IDS: Record<string, string> = {
  iotDomainGroupId: 'SELECT id FROM iot_domain_groups',
  iotDomainId: 'SELECT id FROM iot_domains',
  workRequestId: 'SELECT id FROM work_requests',
  digitalTwinInstanceId: 'SELECT id FROM digital_twin_instances',
  instanceId: 'SELECT id FROM digital_twin_instances',
  sourceDigitalTwinInstanceId: 'SELECT id FROM digital_twin_instances',
  targetDigitalTwinInstanceId: 'SELECT id FROM digital_twin_instances',
  digitalTwinModelId: 'SELECT id FROM digital_twin_models',
  digitalTwinAdapterId: 'SELECT id FROM digital_twin_adapters',
  digitalTwinRelationshipId: 'SELECT id FROM digital_twin_relationships',
  secretId: 'SELECT id FROM vault_secrets',
  authId: 'SELECT id FROM vault_secrets',
  certificateId: 'SELECT id FROM client_certificates',
  shortId: 'SELECT short_id AS id FROM iot_domains',
  compartmentId: 'SELECT compartment_id AS id FROM iot_domains',
};

/** Where the real values of an `:id` path parameter are, by the route's template. */
function realIdsOfId(template: string): string | null {
  const byPrefix: Array<[RegExp, string]> = [
    [/rawCommandData|^\/emulator\/commands/, 'SELECT id FROM commands'],
    [/rawData/, 'SELECT id FROM raw_data'],
    [/historizedData/, 'SELECT id FROM historized_data'],
    [/rejectedData/, 'SELECT id FROM rejected_data'],
    [/^\/emulator\/faults/, 'SELECT id FROM faults'],
    [/^\/emulator\/webhooks/, 'SELECT id FROM webhooks'],
    [/^\/emulator\/virtual-devices/, 'SELECT id FROM virtual_devices'],
  ];
  return byPrefix.find(([re]) => re.test(template))?.[1] ?? null;
}

interface Schema {
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  minimum?: number;
  minLength?: number;
}

interface OpenApiOperation {
  parameters?: Array<{ in: string; name: string; required?: boolean; schema?: Schema }>;
  requestBody?: { content?: Record<string, { schema?: Schema }> };
}

/** What the route's OpenAPI entry declares: body and query names, the enum values among them, and a minimal valid body and query. */
interface Declared {
  bodyKeys: string[];
  queryKeys: string[];
  enums: unknown[];
  body?: Schema;
  requiredQuery: string[];
}

let t: TestEmulator;
let openapi: Record<string, Record<string, OpenApiOperation>>;

beforeAll(async () => {
  t = await startTestEmulator();
  openapi = ((await (await fetch(`${t.emu.restUrl}/docs/json`)).json()) as { paths: typeof openapi }).paths;
  // A fixture with one of everything, so real ids reach every handler past its lookup.
  const post = async (path: string, body: unknown) => {
    const res = await t.rest('POST', path, body);
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
    return res.body as { id: string };
  };
  const domainId = t.emu.domain.id;
  const spec = {
    '@context': ['dtmi:dtdl:context;3', 'dtmi:dtdl:extension:historization;1'],
    '@id': 'dtmi:example:fuzz:room;1',
    '@type': 'Interface',
    contents: [
      { '@type': ['Telemetry', 'Historized'], name: 'temperature', schema: 'double' },
      { '@type': 'Property', name: 'setpoint', schema: 'double' },
    ],
  };
  const model = await post('/20250531/digitalTwinModels', { iotDomainId: domainId, spec });
  const adapter = await post('/20250531/digitalTwinAdapters', { iotDomainId: domainId, digitalTwinModelId: model.id });
  const a = await t.createDevice({ digitalTwinAdapterId: adapter.id });
  const b = await t.createDevice();
  await post('/20250531/digitalTwinRelationships', { iotDomainId: domainId, contentPath: 'feeds', sourceDigitalTwinInstanceId: a.instanceId, targetDigitalTwinInstanceId: b.instanceId });
  await post('/20250531/iotDomains', { iotDomainGroupId: t.emu.domain.groupId, compartmentId: 'ocid1.compartment.oc1..fuzz', displayName: 'fuzz' });
  await post('/emulator/certificates', { commonName: 'fuzz-cert' });
  await post('/emulator/faults', { instanceId: b.instanceId, kind: 'drop', count: 1 });
  await post('/emulator/webhooks', { url: 'http://127.0.0.1:9/hook' });
  await post('/emulator/virtual-devices', { instanceId: b.instanceId });
  // Telemetry (mapped and historized, and one rejected) and commands, for the ORDS ids.
  const device = await t.connect(a);
  await device.client.publishAsync('telemetry', JSON.stringify({ temperature: 21.5 }), { qos: 1 });
  await device.client.publishAsync('telemetry', 'not json', { qos: 1 });
  await t.invoke(a.instanceId, { requestDataFormat: 'JSON', requestEndpoint: 'cmd/1', requestData: { on: true } });
  await device.client.endAsync();
});
afterAll(async () => {
  await t.close();
});

function declared(method: string, template: string): Declared {
  const op = openapi[template.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()];
  const props = op?.requestBody?.content?.['application/json']?.schema?.properties ?? {};
  const query = (op?.parameters ?? []).filter((p) => p.in === 'query');
  return {
    bodyKeys: Object.keys(props),
    queryKeys: query.map((p) => p.name),
    enums: [...Object.values(props).flatMap((p) => p.enum ?? []), ...query.flatMap((p) => p.schema?.enum ?? [])],
    body: op?.requestBody?.content?.['application/json']?.schema,
    requiredQuery: query.filter((p) => p.required).map((p) => p.name),
  };
}

/**
 * A body the schema accepts, as far as a schema can tell: its required fields, an id of the
 * right kind where the name says one (`iotDomainId`: a domain's), the first enum value, a
 * short string. Handlers then refuse or accept it on what only they know.
 */
function minimalValue(name: string, schema: Schema | undefined, ids: Record<string, string[]>): unknown {
  if (!schema) return 'fuzz';
  if (schema.enum?.length) return schema.enum[0];
  const type = [schema.type ?? 'string'].flat()[0];
  if (type === 'object') {
    return Object.fromEntries((schema.required ?? []).map((k) => [k, minimalValue(k, schema.properties?.[k], ids)]));
  }
  if (type === 'array') return [];
  if (type === 'integer' || type === 'number') return Math.max(schema.minimum ?? 1, 1);
  if (type === 'boolean') return true;
  const real = ids[name];
  if (real?.length) return real[0];
  return 'fuzz-value'.padEnd(schema.minLength ?? 1, 'x');
}

const oneOf = <T>(...xs: T[]) => fc.constantFrom(...xs);
const text = fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 }), oneOf('', '..', '%2F', '/', '\u0000', 'ocid1.x', 'a'.repeat(2000)));

/** A value a handler may meet in any field: near-valid ones (enums, durations, real ids) and not. */
function fieldValue(d: Declared, realIds: string[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.jsonValue({ maxDepth: 4 }),
    oneOf('JSON', 'TEXT', 'BINARY', 'BASE64', 'PT1M', 'P1D', 'PT0S', '-PT1M', 'P1Y', '2026-01-01T00:00:00Z', '$SYS/#', '#', 'cmd/1', 'http://127.0.0.1:9/x', 'SELECT 1'),
    d.enums.length ? oneOf(...d.enums) : fc.constant(null),
    realIds.length ? oneOf(...realIds) : fc.constant('ocid1.none'),
    fc.integer(),
    fc.double(),
    text,
  );
}

interface Case {
  path: string;
  query: string;
  body?: string;
  contentType?: string;
}

function caseFor(method: string, template: string, d: Declared, ids: Record<string, string[]>, allIds: string[]): fc.Arbitrary<Case> {
  const params = [...template.matchAll(/:(\w+)/g)].map((m) => m[1]);
  const path = fc
    .tuple(...params.map((p) => (ids[p]?.length ? fc.oneof({ weight: 3, arbitrary: oneOf(...ids[p]) }, { weight: 1, arbitrary: text }) : text)))
    .map((values) => params.reduce((url, p, i) => url.replace(`:${p}`, encodeURIComponent(String(values[i])) || '%20'), template));
  const value = fieldValue(d, allIds);
  const query = fc.oneof(
    fc
      .dictionary(fc.oneof(d.queryKeys.length ? oneOf(...d.queryKeys) : fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })), value, { maxKeys: 5 })
      .map((q) => {
        const s = new URLSearchParams(Object.entries(q).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString();
        return s ? `?${s}` : '';
      }),
    oneOf('', '?', '?%zz', '?a[b]=1&a[c]=2', '?limit=1e999', '?limit=-1&page=x', `?q=${encodeURIComponent('{"constructor":1}')}`),
  );
  // Near-valid: the minimal body with one field changed, dropped or added, so refusals past validation are met too.
  const minimal = (d.body ? minimalValue('', d.body, ids) : {}) as Record<string, unknown>;
  const nearBody = fc
    .tuple(fc.oneof(oneOf(...d.bodyKeys, 'unknownField'), fc.constant('')), value, fc.boolean())
    .map(([key, v, drop]) => {
      const body = { ...minimal };
      if (key && drop) delete body[key];
      else if (key) body[key] = v;
      return JSON.stringify(body);
    });
  const nearQuery = fc.dictionary(oneOf(...(d.queryKeys.length ? d.queryKeys : ['limit'])), value, { maxKeys: 2 }).map((extra) => {
    const q: Record<string, string> = Object.fromEntries(d.requiredQuery.map((k) => [k, String(minimalValue(k, undefined, ids))]));
    for (const [k, v] of Object.entries(extra)) q[k] = typeof v === 'string' ? v : JSON.stringify(v);
    const text = new URLSearchParams(q).toString();
    return text ? `?${text}` : '';
  });
  const writes = method === 'POST' || method === 'PUT';
  const jsonBody = fc.dictionary(fc.oneof(d.bodyKeys.length ? oneOf(...d.bodyKeys) : fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), oneOf('__proto__', 'constructor')), value, { maxKeys: 8 }).map((b) => JSON.stringify(b));
  const rawBody = fc.oneof(
    fc.string({ maxLength: 100 }),
    oneOf('', 'null', '[]', '1e999', '{"a":', '"\\ud800"', '{"__proto__":{"x":1}}'),
    fc.integer({ min: 1, max: 3000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  );
  const body = writes
    ? fc.oneof(
        { weight: 3, arbitrary: fc.record({ body: jsonBody, contentType: fc.constant('application/json') }) },
        { weight: 3, arbitrary: fc.record({ body: nearBody, contentType: fc.constant('application/json') }) },
        { weight: 1, arbitrary: fc.record({ body: rawBody, contentType: oneOf('application/json', 'text/plain', 'application/octet-stream', 'application/x-www-form-urlencoded') }) },
        { weight: 1, arbitrary: fc.constant({ body: undefined as string | undefined, contentType: undefined as string | undefined }) },
      )
    : // A body on DELETE (GET cannot carry one in fetch): a handler must not trip over it.
      method === 'DELETE'
      ? fc.oneof(fc.constant({ body: undefined, contentType: undefined }), fc.record({ body: jsonBody, contentType: fc.constant('application/json') }))
      : fc.constant({ body: undefined, contentType: undefined });
  return fc.record({ path, query: fc.oneof(query, nearQuery), b: body }).map(({ path, query, b }) => ({ path, query, body: b.body, contentType: b.contentType }));
}

/** The ids in the database now, per path parameter or field name, and all of them for any field. */
function realIds(template: string): { ids: Record<string, string[]>; all: string[] } {
  const read = (sql: string) => (t.emu.db.prepare(`${sql} LIMIT 20`).all() as Array<{ id: string | number }>).map((r) => String(r.id));
  const ids: Record<string, string[]> = Object.fromEntries(Object.entries(REAL_IDS).map(([name, sql]) => [name, read(sql)]));
  const ofId = realIdsOfId(template);
  ids.id = ofId ? read(ofId) : [];
  return { ids, all: [...new Set(Object.values(ids).flat())] };
}

/** Every table's row count, and the rows themselves of the tables only the API writes. */
let readers: Array<[string, () => string | number]> | undefined;
function snapshot(): Record<string, string | number> {
  readers ??= (t.emu.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as Array<{ name: string }>).map(({ name }) => {
    if (RESOURCE_TABLES.includes(name)) {
      const rows = t.emu.db.prepare(`SELECT * FROM "${name}" ORDER BY rowid`);
      return [name, () => JSON.stringify(rows.all())];
    }
    const count = t.emu.db.prepare(`SELECT count(*) AS n FROM "${name}"`).pluck();
    return [name, () => count.get() as number];
  });
  return Object.fromEntries(readers.map(([name, read]) => [name, read()]));
}

/** Tables whose rows devices and timers change on their own (virtual devices, webhook attempts): only counted, and not on a refusal. */
const MOVES_ON_ITS_OWN = new Set(['device_sessions', 'mqtt_subscriptions', 'mqtt_outgoing', 'mqtt_incoming', 'mqtt_retained', 'mqtt_wills', 'raw_data', 'historized_data', 'snapshot_data', 'rejected_data', 'command_events', 'command_deliveries', 'webhook_deliveries']);

interface Failure {
  route: string;
  request: string;
  status: number;
  problem: string;
  reply: string;
}

async function send(method: string, c: Case): Promise<{ status: number; text: string; stream: boolean }> {
  const headers: Record<string, string> = {};
  if (c.contentType) headers['content-type'] = c.contentType;
  const controller = new AbortController();
  const res = await fetch(t.emu.restUrl + c.path + c.query, { method, headers, body: c.body, signal: controller.signal });
  // A server-sent event stream never ends: its head is the answer.
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    controller.abort();
    return { status: res.status, text: '', stream: true };
  }
  return { status: res.status, text: await res.text(), stream: false };
}

/** The OAuth errors of RFC 6749 §5.2, which an identity domain's token endpoint answers with (and OAuth clients read). */
const OAUTH_ERRORS = new Set(['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope']);

/** What is wrong with this answer, or null. The token endpoint speaks OAuth's error shape, every other route OCI's. */
function problemWith(status: number, text: string, route = ''): string | null {
  if (status >= 500) return 'a 5xx';
  if (status < 400) return null;
  let body: { code?: unknown; message?: unknown; error?: unknown; error_description?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return 'an error that is not JSON';
  }
  if (route.startsWith('/oauth2/')) {
    if (typeof body.error !== 'string' || !OAUTH_ERRORS.has(body.error)) return "an OAuth error without RFC 6749's {error, error_description}";
    return status === 400 || status === 401 ? null : `OAuth error ${body.error} with status ${status}, not 400 or 401`;
  }
  if (typeof body.code !== 'string' || typeof body.message !== 'string' || body.message === '') return 'an error without OCI\'s {code, message}';
  const expected = STATUS_OF_CODE[body.code];
  if (expected === undefined) return `an error code this test does not know (${body.code}): add it with its status`;
  if (expected !== status) return `${body.code} with status ${status}, not ${expected}`;
  return null;
}

describe(`every registered route, fuzzed (seed ${SEED}; rerun with FUZZ_SEED=${SEED})`, () => {
  it('never a 5xx, always OCI\'s error shape with its status, and a refused request changes nothing', async () => {
    // Deletes last, so the other routes meet the fixture's ids.
    const routes = [...t.emu.routes].sort((x, y) => Number(x.method === 'DELETE') - Number(y.method === 'DELETE'));
    expect(routes.length).toBeGreaterThan(90);
    const failures: Failure[] = [];
    let sent = 0;
    for (const [i, route] of routes.entries()) {
      const { ids, all } = realIds(route.url);
      const cases = fc.sample(caseFor(route.method, route.url, declared(route.method, route.url), ids, all), { numRuns: RUNS, seed: SEED + i });
      for (const c of cases) {
        const before = snapshot();
        const { status, text } = await send(route.method, c);
        sent++;
        const request = `${route.method} ${c.path}${c.query}${c.body === undefined ? '' : ` ${c.contentType}: ${c.body}`}`.slice(0, 300);
        const problem = problemWith(status, text, route.url);
        if (problem) failures.push({ route: `${route.method} ${route.url}`, request, status, problem, reply: text.slice(0, 200) });
        if (status >= 400) {
          const after = snapshot();
          const changed = Object.keys(after).filter((k) => after[k] !== before[k] && !MOVES_ON_ITS_OWN.has(k));
          if (changed.length) failures.push({ route: `${route.method} ${route.url}`, request, status, problem: `refused, yet changed ${changed.join(', ')}`, reply: text.slice(0, 200) });
        }
        // A fault made by a fuzzed body would answer later requests with its own status on purpose.
        if (route.url.startsWith('/emulator/faults') && status < 300 && route.method === 'POST') await t.rest('DELETE', '/emulator/faults');
      }
    }
    expect(sent).toBe(routes.length * RUNS);
    expect(failures, `seed ${SEED}: rerun with FUZZ_SEED=${SEED}`).toEqual([]);
  }, 120_000);
});

describe('what the router refuses before any route runs', () => {
  it('a bad %-escape in the path, or a path parameter over 1024 characters: 400 InvalidParameter in OCI\'s shape', async () => {
    for (const path of ['/20250531/digitalTwinInstances/%zz', `/20250531/digitalTwinInstances/${'a'.repeat(1025)}`, `/emulator/faults/${'a'.repeat(5000)}`]) {
      const { status, text } = await send('GET', { path, query: '' });
      expect({ path: path.slice(0, 60), status, problem: problemWith(status, text), code: (JSON.parse(text) as { code: string }).code }).toEqual({ path: path.slice(0, 60), status: 400, problem: null, code: 'InvalidParameter' });
    }
  });
});
