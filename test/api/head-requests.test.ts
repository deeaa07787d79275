/**
 * HEAD on any GET route: the GET's status and headers, no body. The server routes a HEAD
 * as its GET (src/api/head-requests.ts) instead of registering a HEAD copy of every route;
 * what the client sees is what Fastify's HEAD routes gave: checked on the raw bytes.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator, type TestEmulator } from '../support/harness.js';
import { handSign, newApiKey } from '../sdk/support.js';

/** One request on its own connection; the raw response split into status line, headers and body. */
function raw(url: string, method: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(u.port), u.hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
      resolve({
        status: Number(statusLine.split(' ')[1]),
        headers: Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()])),
        body: text.slice(split + 4),
      });
    });
    const extra = Object.entries({ host: u.host, connection: 'close', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.end(`${method} ${u.pathname}${u.search} HTTP/1.1\r\n${extra}\r\n`);
  });
}

describe('HEAD requests', () => {
  let t: TestEmulator;
  beforeAll(async () => {
    t = await startTestEmulator();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("answers with the GET's status and headers and sends no body: OCI API, console and emulator routes", async () => {
    for (const path of [`/20250531/iotDomains/${t.emu.domain.id}`, '/console/', '/emulator/info']) {
      const get = await raw(t.emu.restUrl + path, 'GET');
      const head = await raw(t.emu.restUrl + path, 'HEAD');
      expect(get.body.length, path).toBeGreaterThan(0);
      expect(head.status, path).toBe(get.status);
      expect(head.headers['content-type'], path).toBe(get.headers['content-type']);
      expect(head.headers['content-length'], path).toBe(get.headers['content-length']);
      expect(head.headers['opc-request-id'], path).toMatch(/./);
      expect(head.body, path).toBe('');
    }
    expect((await raw(`${t.emu.restUrl}/20250531/iotDomains/${t.emu.domain.id}`, 'HEAD')).headers.etag).toMatch(/./);
  });

  it('an unknown path, or one with no GET, answers 404 NotFound naming HEAD (its length in content-length), with no body', async () => {
    for (const path of ['/20250531/noSuchThing', '/20250531/digitalTwinInstances/x/actions/invokeRawCommand']) {
      const get = await raw(t.emu.restUrl + path, 'GET');
      const head = await raw(t.emu.restUrl + path, 'HEAD');
      expect(get.status, path).toBe(404);
      expect(JSON.parse(get.body).message).toBe(`No such operation: GET ${path}`);
      expect(head.status, path).toBe(404);
      expect(head.headers['content-length'], path).toBe(String(Buffer.byteLength(JSON.stringify({ code: 'NotFound', message: `No such operation: HEAD ${path}` }))));
      expect(head.body, path).toBe('');
    }
  });

  it('/metrics counts them as HEAD', async () => {
    await raw(`${t.emu.restUrl}/emulator/info`, 'HEAD');
    const metrics = await (await fetch(`${t.emu.restUrl}/metrics`)).text();
    expect(metrics).toMatch(/oci_iot_http_requests_total\{method="HEAD",route="\/emulator\/info",status="200"\} [1-9]/);
  });
});

describe('HEAD with signature checking on', () => {
  const key = newApiKey();
  let t: TestEmulator;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oci-iot-keys-'));
    writeFileSync(join(dir, 'key.pem'), key.publicKeyPem);
    t = await startTestEmulator({ verifySignatures: true, signatureKeys: dir });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('a HEAD signed as HEAD is accepted; one signed as GET is not', async () => {
    const url = `${t.emu.restUrl}/20250531/iotDomains/${t.emu.domain.id}`;
    expect((await raw(url, 'HEAD', handSign({ method: 'HEAD', url, key }))).status).toBe(200);
    const wrong = await raw(url, 'HEAD', handSign({ method: 'GET', url, key }));
    expect(wrong.status).toBe(401);
    expect(wrong.body).toBe('');
  });
});
