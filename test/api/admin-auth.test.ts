/**
 * The admin surface: open on loopback as before; beyond loopback (--bind 0.0.0.0) the
 * console and /emulator/* need the token printed at start (or given), while the OCI API,
 * the data API, health and the CA stay open. Traffic is still only on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
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
