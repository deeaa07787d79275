/**
 * The admin surface: open on loopback as before; beyond loopback (--bind 0.0.0.0) the
 * console and /emulator/* need the token printed at start (or given), while the OCI API,
 * the data API, health and the CA stay open. Traffic is still only on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type StartedEmulator } from '../../src/programmatic.js';

const root = resolve(dirname(new URL(import.meta.url).pathname), '../..');

describe('on loopback (the default)', () => {
  let emu: StartedEmulator;
  beforeAll(async () => {
    emu = await startEmulator();
  });
  afterAll(() => emu.close());

  it('the admin routes and the console are open, as before', async () => {
    expect(emu.adminToken).toBeNull();
    expect((await fetch(`${emu.restUrl}/emulator/faults`)).status).toBe(200);
    expect((await fetch(`${emu.restUrl}/emulator/info`)).status).toBe(200);
    expect((await fetch(emu.consoleUrl)).status).toBe(200);
  });
});

describe('bound beyond loopback (0.0.0.0)', () => {
  let emu: StartedEmulator;
  let url: string;
  beforeAll(async () => {
    emu = await startEmulator({ bindHost: '0.0.0.0' });
    url = `http://127.0.0.1:${emu.restPort}`;
  });
  afterAll(() => emu.close());

  it('a token is generated; admin routes and the console answer 401 NotAuthenticated without it', async () => {
    expect(emu.adminToken).toMatch(/^[A-Za-z0-9_-]{24}$/);
    for (const path of ['/emulator/faults', '/emulator/info', '/emulator/devices', '/emulator/commands', '/emulator/events', '/console/', '/console/console.js']) {
      const res = await fetch(url + path);
      expect(res.status, path).toBe(401);
      expect(await res.json()).toMatchObject({ code: 'NotAuthenticated' });
    }
    const posted = await fetch(`${url}/emulator/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"advance":"PT1M"}' });
    expect(posted.status).toBe(401);
    const sql = await fetch(`${url}/emulator/sql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sql":"select 1"}' });
    expect(sql.status).toBe(401);
    const wrong = await fetch(`${url}/emulator/faults`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { message: string }).message).toBe('The admin token is wrong');
  });

  it('with the token (Bearer, x-emulator-token) they work', async () => {
    expect((await fetch(`${url}/emulator/faults`, { headers: { authorization: `Bearer ${emu.adminToken}` } })).status).toBe(200);
    expect((await fetch(`${url}/emulator/info`, { headers: { 'x-emulator-token': emu.adminToken! } })).status).toBe(200);
  });

  it('?token= is taken on the console page only, not on API routes (it would end up in logs)', async () => {
    for (const path of ['/emulator/faults', '/emulator/info', '/emulator/events']) {
      const res = await send(emu.restPort, 'GET', `${path}?token=${emu.adminToken}`);
      expect(res.status, path).toBe(401);
    }
    const sql = await send(emu.restPort, 'POST', `/emulator/sql?token=${emu.adminToken}`, { body: '{"sql":"select 1"}' });
    expect(sql.status).toBe(401);
  });

  it('the console link with ?token= sets a cookie that its own requests then carry', async () => {
    const page = await fetch(`${url}/console/?token=${emu.adminToken}`);
    expect(page.status).toBe(200);
    const cookie = page.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^oci_iot_emulator_token=.+; Path=\/; HttpOnly; SameSite=Strict$/);
    const info = await fetch(`${url}/emulator/info`, { headers: { cookie: cookie.split(';')[0] } });
    expect(info.status).toBe(200);
  });

  it('the OCI API, the data API, health, the CA, /metrics and /docs need no token', async () => {
    expect((await fetch(`${url}/20250531/iotDomains/${emu.domain.id}`)).status).toBe(200);
    expect((await fetch(`${url}/ords/${emu.domain.shortId}/20250531/rawCommandData`)).status).toBe(200);
    expect((await fetch(`${url}/emulator/health`)).status).toBe(200);
    expect(await (await fetch(`${url}/emulator/ca.pem`)).text()).toBe(emu.ca);
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    expect((await fetch(`${url}/docs/json`)).status).toBe(200);
    const device = await emu.createDevice();
    expect(await emu.invoke(device.instanceId, { requestDataFormat: 'TEXT', requestEndpoint: 'a/b', requestData: 'x' })).toBeGreaterThan(0);
  });
});

describe('a token given on loopback', () => {
  it('is required too', async () => {
    const emu = await startEmulator({ adminToken: 's3cret-admin' });
    try {
      expect((await fetch(`${emu.restUrl}/emulator/faults`)).status).toBe(401);
      expect((await fetch(`${emu.restUrl}/emulator/faults`, { headers: { authorization: 'Bearer s3cret-admin' } })).status).toBe(200);
    } finally {
      await emu.close();
    }
  });
});

describe('the CLI', () => {
  it('prints the generated token and the console link with it when started with --bind 0.0.0.0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oci-iot-admin-'));
    const child = spawn(
      process.execPath,
      [join(root, 'dist', 'cli.js'), 'start', '--bind', '0.0.0.0', '--rest-port', '0', '--mqtt-port', '0', '--https-port', '0', '--data-dir', join(dir, 'data'), '--certs-dir', join(dir, 'certs'), '--log-level', 'silent'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      let out = '';
      await new Promise<void>((resolvePromise, reject) => {
        child.stdout.on('data', (b: Buffer) => {
          out += b.toString();
          if (out.includes('admin token')) resolvePromise();
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
      });
      const token = /admin token\s+(\S+)/.exec(out)![1];
      const consoleUrl = /console\s+(\S+)/.exec(out)![1];
      expect(consoleUrl).toMatch(new RegExp(`/console/\\?token=${token}$`));
      const port = new URL(consoleUrl).port;
      expect((await fetch(`http://127.0.0.1:${port}/emulator/faults`)).status).toBe(401);
      expect((await fetch(`http://127.0.0.1:${port}/emulator/faults`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A request sent byte for byte as given: fetch would normalize the path and forbids a Host header. */
function send(
  port: number,
  method: string,
  path: string,
  opts: { host?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolvePromise, reject) => {
    const headers: Record<string, string> = { host: opts.host ?? `127.0.0.1:${port}`, ...opts.headers };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      // An event stream that was (wrongly) opened would never end: the status is enough then.
      if (res.headers['content-type']?.startsWith('text/event-stream')) {
        res.destroy();
        resolvePromise({ status: res.statusCode!, body: '', headers: res.headers });
        return;
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolvePromise({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A concrete path for a route template: every parameter and wildcard filled in. */
const concrete = (url: string) => url.replace(/:[A-Za-z0-9_]+/g, 'x').replace(/\*/g, 'x');

/** The same path spelled as a router, a proxy or a browser might read differently. */
function spellings(path: string): Array<[string, string]> {
  const [, first, rest] = /^\/([a-z])(.*)$/.exec(path) ?? [];
  const out: Array<[string, string]> = [];
  if (first) out.push(['percent-encoded', `/%${first.charCodeAt(0).toString(16)}${rest}`]);
  out.push(['all percent-encoded', path.replace(/[a-z]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)]);
  out.push(['upper case', path.toUpperCase()]);
  out.push(['mixed case', path.replace(/^\/(\w)/, (_m, c: string) => `/${c.toUpperCase()}`)]);
  out.push(['doubled slash', `/${path}`]);
  out.push(['dot-dot segment', `/emulator/..${path}`]);
  out.push(['encoded dot-dot', `/emulator/%2e%2e${path}`]);
  out.push(['dot segment', `/.${path}`]);
  out.push(['encoded slash', `/%2F${path.slice(1)}`]);
  out.push(['backslash', `/\\${path.slice(1)}`]);
  return out;
}

describe('every registered route, enumerated', () => {
  let emu: StartedEmulator;
  beforeAll(async () => {
    emu = await startEmulator({ bindHost: '0.0.0.0' });
  });
  afterAll(() => emu.close());

  it('the admin surface is every /emulator and /console route but health and the CA', () => {
    const admin = emu.routes.filter((r) => r.admin).map((r) => `${r.method} ${r.url}`);
    for (const route of ['POST /emulator/sql', 'GET /emulator/webhooks', 'POST /emulator/certificates', 'GET /emulator/events', 'POST /emulator/clock', 'GET /console/', 'GET /console/console.js', 'GET /']) {
      expect(admin).toContain(route);
    }
    for (const r of emu.routes) {
      const expected = /^\/(emulator\/|console(\/|$)|$)/.test(r.url) && r.url !== '/emulator/health' && r.url !== '/emulator/ca.pem';
      expect(r.admin, `${r.method} ${r.url}`).toBe(expected);
    }
    expect(admin.length).toBeGreaterThan(30);
  });

  it('each admin route, in every spelling, refuses a request without the token and runs nothing', async () => {
    let checked = 0;
    for (const { method, url } of emu.routes.filter((r) => r.admin)) {
      const path = concrete(url);
      const body = method === 'GET' || method === 'DELETE' ? undefined : '{}';
      const plain = await send(emu.restPort, method, path, { body });
      expect(plain.status, `${method} ${path}`).toBe(401);
      expect(JSON.parse(plain.body), `${method} ${path}`).toMatchObject({ code: 'NotAuthenticated' });
      for (const [how, spelled] of spellings(path)) {
        const res = await send(emu.restPort, method, spelled, { body });
        // 401 when it names the admin surface, 400 when the path is ambiguous: never an answer from the route.
        expect([400, 401], `${how}: ${method} ${spelled} -> ${res.status} ${res.body}`).toContain(res.status);
        expect(JSON.parse(res.body).code, `${how}: ${method} ${spelled}`).toMatch(/^(NotAuthenticated|InvalidParameter)$/);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(300);
  });

  it('the spelling the router decodes (/%65mulator/sql) is refused, and with the token the same spelling works', async () => {
    const sql = await send(emu.restPort, 'POST', '/%65mulator/sql', { body: '{"sql":"select 1 as one"}' });
    expect(sql.status).toBe(401);
    const withToken = await send(emu.restPort, 'POST', '/%65mulator/sql', { body: '{"sql":"select 1 as one"}', headers: { authorization: `Bearer ${emu.adminToken}` } });
    expect(withToken.status).toBe(200);
  });

  it('with the token, a foreign Host gets 403 NotAllowed on every admin route (DNS rebinding)', async () => {
    for (const { method, url } of emu.routes.filter((r) => r.admin)) {
      const res = await send(emu.restPort, method, concrete(url), {
        host: `rebind.attacker.example:${emu.restPort}`,
        headers: { authorization: `Bearer ${emu.adminToken}` },
        body: method === 'GET' || method === 'DELETE' ? undefined : '{}',
      });
      expect(res.status, `${method} ${url}`).toBe(403);
      expect(JSON.parse(res.body), `${method} ${url}`).toMatchObject({ code: 'NotAllowed' });
    }
  });

  it('routes outside the admin surface never ask for the token', async () => {
    for (const { method, url } of emu.routes.filter((r) => !r.admin)) {
      const res = await send(emu.restPort, method, concrete(url), { body: method === 'GET' || method === 'DELETE' ? undefined : '{}' });
      expect(res.status, `${method} ${url}`).not.toBe(401);
      expect(res.status, `${method} ${url}`).not.toBe(403);
    }
  });
});

describe('Host names on loopback (no token)', () => {
  let emu: StartedEmulator;
  beforeAll(async () => {
    emu = await startEmulator({ allowHosts: 'emulator.internal, ci-box' });
  });
  afterAll(() => emu.close());

  it('a page under another domain name reaching the loopback port (DNS rebinding) gets 403 on the console and /emulator', async () => {
    for (const path of ['/console/', '/emulator/faults', '/emulator/info', '/emulator/events']) {
      const res = await send(emu.restPort, 'GET', path, { host: `attacker.example:${emu.restPort}` });
      expect(res.status, path).toBe(403);
      expect(JSON.parse(res.body)).toMatchObject({ code: 'NotAllowed' });
    }
    const sql = await send(emu.restPort, 'POST', '/emulator/sql', { host: 'attacker.example', body: '{"sql":"select 1"}' });
    expect(sql.status).toBe(403);
  });

  it('localhost, *.localhost, IP addresses, the device host and --allow-host names are served', async () => {
    for (const host of [`localhost:${emu.restPort}`, 'LOCALHOST', `127.0.0.1:${emu.restPort}`, `[::1]:${emu.restPort}`, 'abc.device.iot.localhost', 'emulator.internal', `ci-box:${emu.restPort}`, '10.1.2.3']) {
      expect((await send(emu.restPort, 'GET', '/emulator/faults', { host })).status, host).toBe(200);
    }
  });

  it('the OCI API, health and the CA answer any Host (SDKs and containers call them by any name)', async () => {
    expect((await send(emu.restPort, 'GET', `/20250531/iotDomains/${emu.domain.id}`, { host: 'emulator' })).status).toBe(200);
    expect((await send(emu.restPort, 'GET', '/emulator/health', { host: 'emulator' })).status).toBe(200);
    expect((await send(emu.restPort, 'GET', '/emulator/ca.pem', { host: 'emulator' })).status).toBe(200);
  });
});
