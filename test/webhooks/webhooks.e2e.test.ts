/**
 * Webhooks end to end: a real HTTP receiver on loopback, the manual clock driving retries.
 * The receiver is down while a command goes PENDING → SENT → COMPLETED; once it is back it
 * gets every transition, in order, once each, signed.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AttemptReport } from '../../src/webhooks/webhooks.js';
import { SEED_COMMAND, startTestEmulator, type TestEmulator } from '../support/harness.js';

let t: TestEmulator;
beforeEach(async () => {
  t = await startTestEmulator();
});
afterEach(async () => {
  await t.close();
});

interface Received {
  headers: Record<string, string | string[] | undefined>;
  raw: string;
  body: { webhookId: string; event: string; time: string; data: Record<string, any> };
}

/** An HTTP receiver that can be stopped and started again on the same port. */
function receiver() {
  const got: Received[] = [];
  const waiters: Array<() => void> = [];
  let server: Server | undefined;
  let status = 200;
  const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      if (status < 300) got.push({ headers: req.headers, raw, body: JSON.parse(raw) });
      res.writeHead(status).end();
      waiters.splice(0).forEach((w) => w());
    });
  };
  return {
    got,
    async up(port = 0): Promise<number> {
      server = createServer(handler);
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
      return (server.address() as AddressInfo).port;
    },
    async down(): Promise<void> {
      server?.closeAllConnections();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      server = undefined;
    },
    answer(code: number) {
      status = code;
    },
    until(n: number): Promise<void> {
      return new Promise((resolve) => {
        const check = () => (got.length >= n ? resolve() : waiters.push(check));
        check();
      });
    },
  };
}

function attempts() {
  const reports: AttemptReport[] = [];
  let waiting: Array<() => void> = [];
  t.emu.webhooks.onAttempt((r) => {
    reports.push(r);
    const w = waiting;
    waiting = [];
    w.forEach((f) => f());
  });
  return {
    reports,
    /** Resolves once `n` attempts in all have been reported. */
    until(n: number): Promise<void> {
      return new Promise((resolve) => {
        const check = () => (reports.length >= n ? resolve() : waiting.push(check));
        check();
      });
    },
  };
}

describe('webhooks', () => {
  it('a receiver that was down gets every transition of a command, in order, once each, signed', async () => {
    const r = receiver();
    const port = await r.up();
    await r.down(); // down from the start: every attempt meets a refused connection
    const hook = (await t.rest('POST', '/emulator/webhooks', { url: `http://127.0.0.1:${port}/hook`, secret: 'test-secret-1234' })).body;
    expect(hook).toMatchObject({ id: expect.stringMatching(/^wh-/), events: ['command'], maxAttempts: 10, secret: 'test-secret-1234' });
    const seen = attempts();

    const device = await t.createDevice();
    const d = await t.connect(device, { subscribe: [['/endpoints/1234', 1]] });
    const id = await t.invoke(device.instanceId, SEED_COMMAND);
    await d.next('/endpoints/1234');
    await d.client.publishAsync('/endpoints/4321', '{"ok":true}', { qos: 1 });
    await t.waitFor(id, 'COMPLETED');

    // Down for a while: attempts 1, 2, 3 of the first delivery fail, 1 s then 2 s apart.
    await seen.until(1);
    t.advance(1_000);
    await seen.until(2);
    t.advance(2_000);
    await seen.until(3);
    expect(seen.reports.map((a) => [a.deliveryId, a.attempt, a.ok])).toEqual([
      [seen.reports[0].deliveryId, 1, false],
      [seen.reports[0].deliveryId, 2, false],
      [seen.reports[0].deliveryId, 3, false],
    ]);
    expect(seen.reports[0].error).toBe('ECONNREFUSED');
    const queued = (await t.rest('GET', `/emulator/webhooks/${hook.id}/deliveries`)).body.items;
    expect(queued.map((q: { status: string; attempts: number }) => [q.status, q.attempts])).toEqual([
      ['PENDING', 0],
      ['PENDING', 0],
      ['PENDING', 3],
    ]);
    expect(queued[2].timeNextAttempt).toBe(new Date(t.emu.clock.now() + 4_000).toISOString());

    // Back up: the next attempt is 4 s on; then the queue drains in order.
    await r.up(port);
    t.advance(3_999);
    expect(seen.reports).toHaveLength(3);
    t.advance(1);
    await r.until(3);

    expect(r.got.map((g) => `${g.body.data.from ?? '∅'}→${g.body.data.to}`)).toEqual(['∅→PENDING', 'PENDING→SENT', 'SENT→COMPLETED']);
    expect(r.got.every((g) => g.body.data.commandId === id && g.body.event === 'command.transition')).toBe(true);
    expect(new Set(r.got.map((g) => g.headers['x-emulator-delivery-id'])).size).toBe(3);
    for (const g of r.got) {
      const expected = `sha256=${createHmac('sha256', 'test-secret-1234').update(g.raw).digest('hex')}`;
      expect(g.headers['x-emulator-signature']).toBe(expected);
    }
    expect(r.got[2].body.data.command).toMatchObject({ delivery_status: 'COMPLETED', response_data: '{"ok":true}' });
    expect(r.got.map((g) => g.headers['x-emulator-attempt'])).toEqual(['4', '1', '1']);
    expect(Object.keys(r.got[0].body).sort()).toEqual(['data', 'event', 'time', 'webhookId']);
    expect(Object.keys(r.got[0].body.data).sort()).toEqual(['cause', 'command', 'commandId', 'from', 'instanceId', 'to']);
    expect(r.got[0].body.data.from).toBeNull();

    const after = (await t.rest('GET', `/emulator/webhooks/${hook.id}`)).body;
    expect(after).toMatchObject({ pending: 0, delivered: 3, failed: 0 });
    const metrics = await (await fetch(`${t.emu.restUrl}/metrics`)).text();
    expect(metrics).toContain('oci_iot_webhook_attempts_total{outcome="failure"} 3');
    expect(metrics).toContain('oci_iot_webhook_attempts_total{outcome="success"} 3');
    expect(metrics).toContain('oci_iot_webhook_deliveries{status="DELIVERED"} 3');
    await r.down();
  });

  it('a delivery that fails maxAttempts times is given up, and the queue moves on', async () => {
    const r = receiver();
    const port = await r.up();
    r.answer(500);
    const hook = t.emu.webhooks.add({ url: `http://127.0.0.1:${port}/`, maxAttempts: 2 });
    const seen = attempts();
    const device = await t.createDevice();
    await t.invoke(device.instanceId, SEED_COMMAND); // REFUSED: one transition, one delivery
    await seen.until(1);
    expect(seen.reports[0]).toMatchObject({ ok: false, httpStatus: 500, error: 'the receiver answered HTTP 500', status: 'PENDING' });
    t.advance(1_000);
    await seen.until(2);
    expect(seen.reports[1]).toMatchObject({ attempt: 2, status: 'FAILED' });

    r.answer(200);
    await t.invoke(device.instanceId, SEED_COMMAND);
    await seen.until(3);
    expect(r.got.map((g) => g.body.data.to)).toEqual(['REFUSED']);
    expect(t.emu.webhooks.get(hook.id)).toMatchObject({ delivered: 1, failed: 1, pending: 0 });
    await r.down();
  });

  it('an answer that is not 2xx fails the attempt: a redirect is not followed', async () => {
    const r = receiver();
    const port = await r.up();
    r.answer(302);
    t.emu.webhooks.add({ url: `http://127.0.0.1:${port}/moved`, maxAttempts: 1 });
    const seen = attempts();
    const device = await t.createDevice();
    await t.invoke(device.instanceId, SEED_COMMAND); // REFUSED: one delivery
    await seen.until(1);
    expect(seen.reports[0]).toMatchObject({ attempt: 1, ok: false, httpStatus: 302, error: 'the receiver answered HTTP 302', status: 'FAILED' });
    await r.down();
  });

  it('telemetry webhooks get device publishes that are not responses', async () => {
    const r = receiver();
    const port = await r.up();
    t.emu.webhooks.add({ url: `http://127.0.0.1:${port}/t`, events: ['telemetry'] });
    const device = await t.createDevice();
    const d = await t.connect(device, { subscribe: [['/endpoints/1234', 1]] });
    const id = await t.invoke(device.instanceId, SEED_COMMAND);
    await d.next('/endpoints/1234');
    await d.client.publishAsync('/endpoints/4321', '{"ok":true}', { qos: 1 }); // a response: not telemetry
    await t.waitFor(id, 'COMPLETED');
    await d.client.publishAsync('sensors/temp', '{"temp":21.5}', { qos: 1 });
    await r.until(1);
    expect(r.got).toHaveLength(1);
    expect(r.got[0].body).toMatchObject({ event: 'telemetry', data: { instanceId: device.instanceId, endpoint: 'sensors/temp', format: 'JSON', content: '{"temp":21.5}' } });
    expect(r.got[0].body.data).toEqual({ instanceId: device.instanceId, endpoint: 'sensors/temp', contentType: 'application/json', format: 'JSON', content: '{"temp":21.5}', timeReceived: r.got[0].body.time });
    await r.down();
  });

  it("a gateway's response to its INDIRECT instance's command is no telemetry; the gateway's own publish is", async () => {
    const r = receiver();
    const port = await r.up();
    t.emu.webhooks.add({ url: `http://127.0.0.1:${port}/t`, events: ['telemetry'] });
    const gateway = await t.createDevice({ connectivityType: 'GATEWAY' });
    const indirect = await t.rest('POST', '/20250531/digitalTwinInstances', { iotDomainId: t.emu.domain.id, connectivityType: 'INDIRECT', externalKey: 'm5-01', gateways: [gateway.instanceId] });
    expect(indirect.status, JSON.stringify(indirect.body)).toBe(200);
    const g = await t.connect(gateway, { subscribe: [['/endpoints/1234', 1]] });
    const id = await t.invoke(indirect.body.id, SEED_COMMAND);
    await g.next('/endpoints/1234');
    await g.client.publishAsync('/endpoints/4321', '{"ok":true}', { qos: 1 }); // the INDIRECT instance's answer, carried by its gateway
    expect((await t.waitFor(id, 'COMPLETED')).response_data).toBe('{"ok":true}');
    await g.client.publishAsync('sensors/temp', '{"temp":21.5}', { qos: 1 });
    await r.until(1);
    expect(r.got).toHaveLength(1);
    expect(r.got[0].body).toMatchObject({ event: 'telemetry', data: { instanceId: gateway.instanceId, endpoint: 'sensors/temp' } });
    // Queued in the batch that stored each publish: one delivery in all, the telemetry.
    expect(t.emu.db.prepare('SELECT count(*) AS n FROM webhook_deliveries').get()).toEqual({ n: 1 });
    await r.down();
  });

  it('bad input is a 400 with the reason, and registers nothing', async () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ url: 'ftp://example.com/x' }, /must be http:\/\/ or https:\/\//],
      [{ url: 'not a url' }, /is not a URL/],
      [{ url: 'http://127.0.0.1:1/', events: ['everything'] }, /must be one of command, telemetry/],
      [{ url: 'http://127.0.0.1:1/', maxAttempts: 0 }, /maxAttempts 0/],
      [{ url: 'http://127.0.0.1:1/', secret: 'short' }, /at least 8/],
      [{}, /url is required/],
    ];
    for (const [body, reason] of bad) {
      const res = await t.rest('POST', '/emulator/webhooks', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.message).toMatch(reason);
    }
    expect((await t.rest('GET', '/emulator/webhooks')).body.items).toEqual([]);
    expect((await t.rest('DELETE', '/emulator/webhooks/wh-nope')).status).toBe(404);
  });
});
