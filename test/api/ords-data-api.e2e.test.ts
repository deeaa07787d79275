/**
 * The ORDS data API as back ends poll it (Oracle's Node-RED node, its MCP server, the
 * samples): `q` filters, `$orderby`, limit/offset/hasMore, list rows without payloads,
 * single rows with them, times as ISO strings. Commands are made at known manual-clock
 * times so the time filters have exact answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator, until, type Device, type ConnectedDevice, type TestEmulator } from '../support/harness.js';

const MIN = 60_000;
let t: TestEmulator;
let a: Device;
let b: Device;
let dev: ConnectedDevice;
/** Command ids in the order they were made, one minute apart. */
const ids: number[] = [];
let t0: number;

type Page = {
  items: Array<Record<string, unknown>>;
  hasMore: boolean;
  limit: number;
  offset: number;
  count: number;
  links: Array<{ rel: string; href: string }>;
};

const base = () => `/ords/${t.emu.domain.shortId}/20250531`;
const iso = (ms: number) => new Date(ms).toISOString();
async function list(resource: string, params: Record<string, string | number> = {}): Promise<Page> {
  const query = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
  const res = await t.rest<Page>('GET', `${base()}/${resource}${query ? `?${query}` : ''}`);
  expect(res.status).toBe(200);
  return res.body;
}
const q = (filter: unknown) => ({ q: JSON.stringify(filter) });

beforeAll(async () => {
  t = await startTestEmulator();
  t0 = t.emu.clock.now();
  a = await t.createDevice();
  b = await t.createDevice();
  dev = await t.connect(a, { subscribe: [['cmd/#', 1]] });
  // 0: a, one-way, COMPLETED on PUBACK
  ids.push(await t.invoke(a.instanceId, { requestDataFormat: 'TEXT', requestEndpoint: 'cmd/one', requestData: 'first' }));
  await t.waitFor(ids[0], 'COMPLETED');
  t.advance(MIN);
  // 1: a, two-way, answered
  ids.push(
    await t.invoke(a.instanceId, {
      requestDataFormat: 'JSON',
      requestEndpoint: 'cmd/two',
      requestData: { n: 2 },
      responseEndpoint: 'rsp/two',
    }),
  );
  await dev.next('cmd/two');
  await dev.client.publishAsync('rsp/two', '{"ok":true}', { qos: 1 });
  await t.waitFor(ids[1], 'COMPLETED');
  t.advance(MIN);
  // 2: b, offline: REFUSED
  ids.push(await t.invoke(b.instanceId, { requestDataFormat: 'TEXT', requestEndpoint: 'cmd/x', requestData: 'to b' }));
  t.advance(MIN);
  // 3: a, two-way, left waiting: SENT
  ids.push(await t.invoke(a.instanceId, { requestDataFormat: 'BINARY', requestEndpoint: 'cmd/three', requestData: 'AAEC', responseEndpoint: 'rsp/three' }));
  await t.waitFor(ids[3], 'SENT');
  // telemetry becomes raw_data
  await dev.client.publishAsync('telemetry/temp', '{"t":21}', { qos: 1 });
  await until(() => (t.emu.db.prepare('SELECT count(*) AS n FROM raw_data').get() as { n: number }).n === 1);
});
afterAll(async () => {
  await t?.close();
});

describe('rawCommandData lists', () => {
  it('rows carry OCI’s columns in OCI’s order, without the payloads; times are ISO 8601 UTC strings', async () => {
    const page = await list('rawCommandData');
    expect(page.items.map((r) => r.id)).toEqual(ids);
    expect(page).toMatchObject({ hasMore: false, limit: 25, offset: 0, count: 4 });
    expect(Object.keys(page.items[1])).toEqual([
      'id', 'digital_twin_instance_id', 'request_endpoint', 'request_duration', 'request_data_format',
      'request_content_type', 'response_endpoint', 'response_duration', 'response_data_format',
      'response_content_type', 'delivery_status', 'created_by', 'time_created', 'time_updated', 'time_finished',
    ]);
    expect(page.items[1]).toMatchObject({
      delivery_status: 'COMPLETED',
      time_created: iso(t0 + MIN),
      time_finished: iso(t0 + MIN),
      response_data_format: 'JSON',
    });
    expect(page.items.map((r) => r.delivery_status)).toEqual(['COMPLETED', 'COMPLETED', 'REFUSED', 'SENT']);
    expect(page.items[3].time_finished).toBeNull();
  });

  it('equality, $and, and $gt / $gte / $lt / $lte on {"$date"} select exactly the rows in the window', async () => {
    const byInstance = await list('rawCommandData', q({ digital_twin_instance_id: b.instanceId }));
    expect(byInstance.items.map((r) => r.id)).toEqual([ids[2]]);

    const window = (from: [string, number], to: [string, number]) =>
      q({ $and: [{ time_created: { [from[0]]: { $date: iso(from[1]) } } }, { time_created: { [to[0]]: { $date: iso(to[1]) } } }] });
    expect((await list('rawCommandData', window(['$gte', t0 + MIN], ['$lte', t0 + 2 * MIN]))).items.map((r) => r.id)).toEqual([ids[1], ids[2]]);
    expect((await list('rawCommandData', window(['$gt', t0 + MIN], ['$lt', t0 + 3 * MIN]))).items.map((r) => r.id)).toEqual([ids[2]]);

    const completedOfA = await list(
      'rawCommandData',
      q({ $and: [{ digital_twin_instance_id: a.instanceId }, { delivery_status: 'COMPLETED' }, { time_created: { $gte: { $date: iso(t0) } } }] }),
    );
    expect(completedOfA.items.map((r) => r.id)).toEqual([ids[0], ids[1]]);
  });

  it('$orderby sorts, limit / offset page, and hasMore says whether another page follows', async () => {
    const newestFirst = { $orderby: { time_created: 'desc' } };
    expect((await list('rawCommandData', q(newestFirst))).items.map((r) => r.id)).toEqual([...ids].reverse());

    const first = await list('rawCommandData', { ...q(newestFirst), limit: 3 });
    expect(first).toMatchObject({ hasMore: true, limit: 3, offset: 0, count: 3 });
    const second = await list('rawCommandData', { ...q(newestFirst), limit: 3, offset: 3 });
    expect(second).toMatchObject({ hasMore: false, limit: 3, offset: 3, count: 1 });
    expect([...first.items, ...second.items].map((r) => r.id)).toEqual([...ids].reverse());

    // The `next` link leads to the second page, as ORDS clients expect.
    const next = first.links.find((l) => l.rel === 'next')!;
    const followed = (await (await fetch(next.href)).json()) as Page;
    expect(followed.items.map((r) => r.id)).toEqual(second.items.map((r) => r.id));
    expect(second.links.map((l) => l.rel)).toEqual(['self', 'first', 'prev']);
  });

  it('a bad q is 400 InvalidParameter naming the problem; an unknown domain short id is 404', async () => {
    for (const [filter, message] of [
      ['{not json', /not valid JSON/],
      [JSON.stringify({ password: 'x' }), /password is not a column/],
      [JSON.stringify({ time_created: { $between: 1 } }), /unsupported operator \$between/],
      [JSON.stringify({ time_created: { $gt: { $date: 'yesterday' } } }), /is not a date/],
      [JSON.stringify({ $orderby: { time_created: 'sideways' } }), /asc or desc/],
    ] as const) {
      const res = await t.rest('GET', `${base()}/rawCommandData?q=${encodeURIComponent(filter)}`);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ code: 'InvalidParameter', message: expect.stringMatching(message) });
    }
    expect((await t.rest('GET', `/ords/nosuchdomain/20250531/rawCommandData`)).status).toBe(404);
  });
});

describe('single rows', () => {
  it('rawCommandData/{id} has the payloads: request_data and response_data', async () => {
    const res = await t.rest('GET', `${base()}/rawCommandData/${ids[1]}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: ids[1],
      request_data: '{"n":2}',
      response_data: '{"ok":true}',
      response_content_type: 'application/json',
      time_created: iso(t0 + MIN),
    });
    const binary = await t.rest('GET', `${base()}/rawCommandData/${ids[3]}`);
    expect(binary.body).toMatchObject({ request_data_format: 'BINARY', request_data: 'AAEC', response_data: null, delivery_status: 'SENT' });
    expect((await t.rest('GET', `${base()}/rawCommandData/999999`)).status).toBe(404);
  });

  it('rawData lists leave out content; the single row has it, base64 like any ORDS BLOB', async () => {
    const page = await list('rawData', q({ digital_twin_instance_id: a.instanceId }));
    expect(page.items).toHaveLength(1);
    expect(page.items[0]).not.toHaveProperty('content');
    expect(page.items[0]).toMatchObject({ endpoint: 'telemetry/temp', time_received: iso(t0 + 3 * MIN) });
    const one = await t.rest('GET', `${base()}/rawData/${page.items[0].id}`);
    expect(Buffer.from(one.body.content, 'base64').toString()).toBe('{"t":21}');
  });
});
