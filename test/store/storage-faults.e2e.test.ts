/**
 * A full or read-only disk, on every path that writes: callers get answers (503, no PUBACK),
 * timers wait and try again on the clock, the process never ends, one log line says why and
 * one says it is over, and once the storage takes writes again everything goes on without a
 * restart, nothing acknowledged lost and nothing stored twice.
 *
 * The faults are SQLite's own, made without root on the emulator's own connection:
 * `PRAGMA max_page_count` at the current size makes a write that needs a new page fail with
 * SQLITE_FULL (so these tests send rows larger than a page), and `PRAGMA query_only` makes
 * every write fail with SQLITE_READONLY, as a data dir turned read-only does.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { request } from 'node:https';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SEED_COMMAND, startTestEmulator, until, type TestEmulator } from '../support/harness.js';

let t: TestEmulator;
const logLines: Array<{ level: number; msg: string; dataDir?: string; code?: string }> = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logLines.push(JSON.parse(line));
      done();
    },
  });
  t = await startTestEmulator({ logger: pino({ level: 'info' }, sink) });
});
afterAll(async () => {
  await t.close();
});
afterEach(async () => {
  spaceBack();
  // Whatever a test left waiting is settled before the next one starts, and the storage is healthy again.
  t.advance('PT1M');
  await until(() => t.emu.storage.status().ok);
});
/** Waits until the path `where` has met the storage fault. */
const faultAt = (where: string) => until(() => (t.emu.storage.status() as { where?: string }).where === where);

/** The database is full: writes that need one more page fail with SQLITE_FULL. */
function diskFull(): void {
  const pages = t.emu.db.pragma('page_count', { simple: true }) as number;
  t.emu.db.pragma(`max_page_count = ${pages}`);
}
/** Every write fails with SQLITE_READONLY, as on a data dir made read-only. */
function readOnly(): void {
  t.emu.db.pragma('query_only = ON');
}
function spaceBack(): void {
  t.emu.db.pragma('query_only = OFF');
  t.emu.db.pragma('max_page_count = 1073741823');
}
const storageLines = () => logLines.filter((l) => /storage/.test(l.msg));
const health = () => t.rest('GET', '/emulator/health');
/** Larger than a page (4 KiB), so storing it needs new pages. */
const big = (n = 40_000) => 'x'.repeat(n);

describe('the API', () => {
  it('an invoke on a full disk gets 503 ServiceUnavailable with retry-after, logged once; once space is back it is taken', async () => {
    const device = await t.createDevice();
    const before = storageLines().length;
    diskFull();
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await t.rest('POST', `/20250531/digitalTwinInstances/${device.instanceId}/actions/invokeRawCommand`, { ...SEED_COMMAND, requestData: { blob: big() } }));
    for (const a of answers) {
      expect(a.status).toBe(503);
      expect(a.headers.get('retry-after')).toBe('5');
      expect(a.body).toEqual({ code: 'ServiceUnavailable', message: expect.stringContaining('SQLITE_FULL') });
    }
    const degraded = await health();
    expect(degraded.status).toBe(503);
    expect(degraded.body).toMatchObject({ status: 'degraded', storage: { kind: 'full', code: 'SQLITE_FULL', refused: 3 } });
    // One line for three refusals, naming the data dir and the cause.
    const faultLines = storageLines().slice(before);
    expect(faultLines).toHaveLength(1);
    expect(faultLines[0]).toMatchObject({ level: 50, dataDir: expect.stringContaining(t.dataDir), code: 'SQLITE_FULL' });
    expect(faultLines[0].msg).toContain('disk (or the database) is full');

    spaceBack();
    const accepted = await t.rest('POST', `/20250531/digitalTwinInstances/${device.instanceId}/actions/invokeRawCommand`, { ...SEED_COMMAND, requestData: { blob: big() } });
    expect(accepted.status).toBe(202);
    expect(await health()).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(storageLines().slice(before).map((l) => l.msg)).toEqual([faultLines[0].msg, expect.stringContaining('takes writes again (3 refused')]);
    // Only the accepted one exists.
    expect(t.emu.sql(`select count(*) as n from raw_command_data where digital_twin_instance_id = '${device.instanceId}'`).rows).toEqual([{ n: 1 }]);
  });

  it('a read-only data dir: 503 for a change, reads still answered', async () => {
    readOnly();
    const created = await t.rest('POST', '/20250531/digitalTwinInstances', { iotDomainId: t.emu.domain.id, externalKey: 'read-only-probe' });
    expect(created.status).toBe(503);
    expect(created.body).toMatchObject({ code: 'ServiceUnavailable', message: expect.stringContaining('SQLITE_READONLY') });
    expect((await t.rest('GET', `/20250531/digitalTwinInstances?iotDomainId=${t.emu.domain.id}`)).status).toBe(200);
    expect((await health()).body).toMatchObject({ status: 'degraded', storage: { kind: 'read-only' } });
    spaceBack();
    expect((await t.rest('POST', '/20250531/digitalTwinInstances', { iotDomainId: t.emu.domain.id, externalKey: 'read-only-probe' })).status).toBe(200);
    expect((await health()).body).toEqual({ status: 'ok' });
  });
});

describe('timers', () => {
  it('a command deadline that comes due on a read-only disk is settled once it can be written, by the clock', async () => {
    const device = await t.createDevice();
    // A persistent session that is away: the command waits for it, PENDING.
    const away = await t.connect(device, { clean: false, clientId: `away-${device.instanceId.slice(-8)}`, subscribe: [['/endpoints/1234', 1]] });
    await away.close();
    await until(() => !t.emu.devices.isOnline(device.instanceId));
    const id = await t.invoke(device.instanceId, { ...SEED_COMMAND, requestDuration: 'PT1M' });
    expect(t.command(id).delivery_status).toBe('PENDING');
    readOnly();
    t.advance('PT2M');
    t.advance('PT2S');
    expect(t.command(id).delivery_status).toBe('PENDING');
    expect(t.emu.storage.status()).toMatchObject({ ok: false, where: 'command deadlines' });
    spaceBack();
    t.advance('PT10S');
    expect(t.command(id).delivery_status).toBe('EXPIRED');
    // Stamped with its deadline, not with the time it could be written.
    expect(t.command(id).time_finished).toBe(new Date(Date.parse(t.command(id).time_created) + 60_000).toISOString());
    expect(t.emu.storage.status()).toEqual({ ok: true });
  });

  it('a work request step on a read-only disk waits, then finishes', async () => {
    const wr = await t.rest('PUT', `/20250531/iotDomains/${t.emu.domain.id}`, { displayName: 'renamed-on-a-bad-disk' });
    expect(wr.status).toBe(202);
    const wrId = wr.headers.get('opc-work-request-id')!;
    readOnly();
    t.advance('PT5M');
    expect((await t.rest('GET', `/20250531/workRequests/${wrId}`)).body).toMatchObject({ status: 'ACCEPTED' });
    spaceBack();
    t.advance('PT30S');
    expect((await t.rest('GET', `/20250531/workRequests/${wrId}`)).body).toMatchObject({ status: 'SUCCEEDED' });
    expect((await t.rest('GET', `/20250531/iotDomains/${t.emu.domain.id}`)).body).toMatchObject({ displayName: 'renamed-on-a-bad-disk' });
  });

  it('the retention purge on a read-only disk fails quietly and runs again', async () => {
    const purges = () => t.emu.control.purge.settled();
    await purges();
    readOnly();
    t.advance('PT2M');
    await purges();
    expect(t.emu.storage.status()).toMatchObject({ ok: false, where: 'retention purge', code: 'SQLITE_READONLY' });
    spaceBack();
    t.advance('PT2M');
    const report = await purges();
    expect(report!.batches).toBeGreaterThan(0);
  });
});

describe('devices', () => {
  const sessionRow = (instanceId: string) =>
    t.emu.sql(`select online from device_sessions where digital_twin_instance_id = '${instanceId}'`).rows as Array<{ online: number }>;

  it('a device that connects on a full disk stays connected; its session row is written once it can be', async () => {
    const device = await t.createDevice();
    diskFull();
    // Its session row (client id 8 KB) needs new pages; the broker's own session work does not.
    const d = await t.connect(device, { clientId: `c${'x'.repeat(8_000)}` });
    await faultAt('device connect');
    expect(d.client.connected).toBe(true);
    expect(sessionRow(device.instanceId)).toEqual([]);
    spaceBack();
    t.advance('PT2S');
    expect(sessionRow(device.instanceId)).toEqual([{ online: 1 }]);
    expect(d.client.connected).toBe(true);
    await d.close();
  });

  it('devices logging in on a read-only disk: nothing thrown at the process; a persistent session is taken, a clean one waits for the disk', async () => {
    const persistent = await t.createDevice();
    const clean = await t.createDevice();
    readOnly();
    const p = await t.connect(persistent, { clean: false, clientId: `ro-${persistent.instanceId.slice(-8)}` });
    expect(p.client.connected).toBe(true);
    // A clean session whose old state cannot be cleared is not accepted: closed without CONNACK, the device tries again.
    const refused = await new Promise<string>((resolve) => {
      const c = mqtt.connect(`mqtts://localhost:${t.emu.mqttPort}`, { ca: t.emu.ca, username: clean.externalKey, password: clean.password, clientId: 'ro-clean', reconnectPeriod: 0 });
      c.once('connect', () => resolve('connected'));
      c.once('close', () => resolve('closed'));
    });
    expect(refused).toBe('closed');
    expect(t.emu.storage.status()).toMatchObject({ ok: false, code: 'SQLITE_READONLY' });
    spaceBack();
    const again = await t.connect(clean, { clientId: 'ro-clean' });
    expect(again.client.connected).toBe(true);
    await again.close();
    await p.close();
  });

  it('a device that disconnects on a read-only disk is recorded offline once it can be', async () => {
    const device = await t.createDevice();
    const d = await t.connect(device);
    await until(() => sessionRow(device.instanceId)[0]?.online === 1);
    readOnly();
    await d.close();
    await until(() => !t.emu.devices.isOnline(device.instanceId));
    expect(sessionRow(device.instanceId)).toEqual([{ online: 1 }]);
    spaceBack();
    t.advance('PT2S');
    expect(sessionRow(device.instanceId)).toEqual([{ online: 0 }]);
  });

  it('an MQTT publish on a full disk gets no PUBACK and no disconnect; once space is back, its PUBACK, stored once', async () => {
    const device = await t.createDevice();
    const d = await t.connect(device);
    let closed = false;
    d.client.on('close', () => (closed = true));
    diskFull();
    let acked = false;
    const published = d.client.publishAsync('telemetry/big', big(), { qos: 1 }).then(() => (acked = true));
    await faultAt('MQTT publish');
    t.advance('PT2S'); // a retry, still full
    await new Promise((resolve) => setImmediate(resolve));
    expect(acked).toBe(false);
    expect(closed).toBe(false);
    expect(t.emu.sql(`select count(*) as n from raw_data where digital_twin_instance_id = '${device.instanceId}'`).rows).toEqual([{ n: 0 }]);

    spaceBack();
    t.advance('PT10S');
    await published;
    expect(closed).toBe(false);
    expect(t.emu.sql(`select count(*) as n from raw_data where digital_twin_instance_id = '${device.instanceId}'`).rows).toEqual([{ n: 1 }]);
    // The device goes on as before.
    await d.client.publishAsync('telemetry/small', '{"t":1}', { qos: 1 });
    expect(t.emu.sql(`select count(*) as n from raw_data where digital_twin_instance_id = '${device.instanceId}'`).rows).toEqual([{ n: 2 }]);
    await d.close();
  });

  it("a device's HTTPS POST on a full disk gets 503 with retry-after; once space is back, 202", async () => {
    const device = await t.createDevice({ externalKey: `https-full-${Date.now()}` });
    const post = (body: string) =>
      new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
        const req = request(
          `${t.emu.httpsUrl}/telemetry`,
          { method: 'POST', ca: t.emu.ca, servername: t.emu.domain.deviceHost, auth: `${device.username}:${device.password}`, headers: { 'content-type': 'application/json' } },
          (res) => {
            let text = '';
            res.on('data', (c) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    diskFull();
    const refused = await post(JSON.stringify({ blob: big() }));
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'ServiceUnavailable' });
    spaceBack();
    expect((await post(JSON.stringify({ blob: big() }))).status).toBe(202);
    expect(t.emu.sql(`select count(*) as n from raw_data where digital_twin_instance_id = '${device.instanceId}'`).rows).toEqual([{ n: 1 }]);
  });
});

describe('webhooks and virtual devices', () => {
  let receiver: Server;
  const posts: string[] = [];
  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        posts.push(body);
        // The disk turns read-only while the receiver answers: the attempt cannot be recorded.
        if (posts.length === 1) readOnly();
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => receiver.close(resolve));
  });

  it('a webhook attempt whose record fails is recorded later, and not sent again', async () => {
    const port = (receiver.address() as AddressInfo).port;
    const hook = (await t.rest('POST', '/emulator/webhooks', { url: `http://127.0.0.1:${port}/hook`, secret: 'storage-faults-secret' })).body as { id: string };
    const device = await t.createDevice();
    await t.invoke(device.instanceId, SEED_COMMAND);
    await faultAt('webhook attempt');
    expect(posts).toHaveLength(1);
    t.advance('PT2S');
    spaceBack();
    t.advance('PT10S');
    await until(() => (t.emu.sql(`select status from webhook_deliveries where webhook_id = '${hook.id}'`).rows as Array<{ status: string }>)[0]?.status === 'DELIVERED');
    expect(posts).toHaveLength(1);
    expect(t.emu.sql(`select attempts from webhook_deliveries where webhook_id = '${hook.id}'`).rows).toEqual([{ attempts: 1 }]);
    await t.rest('DELETE', `/emulator/webhooks/${hook.id}`);
  });

  it("a virtual device: 503 while it cannot be stored; its telemetry held on a full disk is stored once, later", async () => {
    const device = await t.createDevice();
    readOnly();
    const refused = await t.rest('POST', '/emulator/virtual-devices', { instanceId: device.instanceId, telemetry: { endpoint: 'vd/telemetry', every: 'PT1S', values: { blob: { kind: 'constant', value: big(8_000) } } } });
    expect(refused.status).toBe(503);
    spaceBack();
    const created = await t.rest('POST', '/emulator/virtual-devices', { instanceId: device.instanceId, telemetry: { endpoint: 'vd/telemetry', every: 'PT1S', values: { blob: { kind: 'constant', value: big(8_000) } } } });
    expect(created.status).toBe(200);
    await until(() => t.emu.devices.isOnline(device.instanceId));
    const rows = () => (t.emu.sql(`select count(*) as n from raw_data where digital_twin_instance_id = '${device.instanceId}'`).rows as Array<{ n: number }>)[0].n;
    diskFull();
    t.advance('PT1S');
    await faultAt('MQTT publish');
    expect(rows()).toBe(0);
    spaceBack();
    t.advance('PT2S');
    await until(() => rows() >= 1);
    await t.rest('DELETE', `/emulator/virtual-devices/${(created.body as { id: string }).id}`);
    // Each tick stored once: as many rows as ticks sent, none twice.
    const sent = t.emu.sql(`select count(distinct cast(content as text)) as distinct_rows, count(*) as n from raw_data where digital_twin_instance_id = '${device.instanceId}'`).rows[0] as { n: number };
    expect(sent.n).toBeGreaterThanOrEqual(1);
  });
});
