/**
 * OCI's host names over TLS on the emulator's HTTPS port (told apart by SNI and Host), the
 * identity domain's token endpoint, and the HTTPS proxy mode that tunnels only those names.
 * Clients connect to 127.0.0.1 and name the host in SNI and Host, as a resolver entry or
 * the proxy would have them do; the certificate is checked against the emulator's CA.
 */
import { Agent, request as httpsRequest } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator, type TestEmulator } from '../support/harness.js';

const REGION = 'us-ashburn-1';
const IOT = `iot.${REGION}.oci.oraclecloud.com`;
const IDENTITY = 'idcs-0123456789abcdef.identity.oraclecloud.com';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/** One HTTPS request to `host` on the emulator's HTTPS port (or over `socket`, a tunnel), verified for that name. */
function call(port: number, ca: string, host: string, method: string, path: string, opts: { headers?: Record<string, string>; body?: string; socket?: Socket } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        servername: host,
        ca,
        method,
        path,
        headers: { host, ...opts.headers },
        agent: opts.socket ? tunnelAgent(opts.socket, host, ca) : false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** An agent whose one connection is TLS over `socket` (a proxy tunnel). */
function tunnelAgent(socket: Socket, servername: string, ca: string): Agent {
  const agent = new Agent();
  agent.createConnection = () => tlsConnect({ socket, servername, ca });
  return agent;
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const tokenRequest = (fields: Record<string, string>, auth: string | null = basic('client-id', 'client-secret')) => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...(auth ? { authorization: auth } : {}) },
  body: form(fields),
});

/** The answer to `CONNECT target` on the proxy port, and the socket (open when it was 200). */
function proxyConnect(proxyPort: number, target: string, headers: Record<string, string> = {}): Promise<{ status: number; head: string; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(proxyPort, '127.0.0.1');
    let seen = '';
    socket.on('error', reject);
    socket.on('data', function onData(chunk) {
      seen += chunk.toString('latin1');
      const end = seen.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      resolve({ status: Number(seen.split(' ')[1]), head: seen, socket });
    });
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${extra}\r\n`);
  });
}

describe('OCI host names on the HTTPS port', () => {
  let t: TestEmulator;
  let https: (host: string, method: string, path: string, opts?: Parameters<typeof call>[5]) => Promise<Reply>;
  beforeAll(async () => {
    t = await startTestEmulator({ region: REGION, proxyPort: 0 });
    https = (host, method, path, opts) => call(t.emu.httpsPort, t.emu.ca, host, method, path, opts);
  });
  afterAll(() => t?.close());

  it('serves the IoT API at iot.<region>.oci.oraclecloud.com, the same as the REST port', async () => {
    const overTls = await https(IOT, 'GET', `/20250531/iotDomains/${t.emu.domain.id}`);
    const plain = await t.rest('GET', `/20250531/iotDomains/${t.emu.domain.id}`);
    expect(overTls.status).toBe(200);
    expect(overTls.body).toEqual(plain.body);
    expect(overTls.headers['opc-request-id']).toBeTruthy();
  });

  it('serves the Vault, Secrets and data hosts the SDKs and samples use', async () => {
    for (const host of [`vaults.${REGION}.oci.oraclecloud.com`, `secrets.vaults.${REGION}.oci.oraclecloud.com`]) {
      const r = await https(host, 'GET', '/20180608/secrets/ocid1.vaultsecret.oc1..nope');
      expect(r.status, host).toBe(404);
      expect(r.body.code).toBe('NotAuthorizedOrNotFound');
    }
    const data = await https(`abcdefghijkl.data.iot.${REGION}.oci.oraclecloud.com`, 'GET', `/ords/${t.emu.domain.shortId}/20250531/rawData`);
    expect(data.status).toBe(200);
    expect(data.body).toMatchObject({ items: [], hasMore: false });
    // ORDS links name the host and scheme the client used.
    expect(data.body.links[0].href).toMatch(new RegExp(`^https://abcdefghijkl\\.data\\.iot\\.${REGION}`));
  });

  it('answers HEAD on the API hosts as the GET without a body', async () => {
    const r = await https(IOT, 'HEAD', `/20250531/iotDomains/${t.emu.domain.id}`);
    expect(r.status).toBe(200);
    expect(r.body).toBeUndefined();
  });

  it('leaves device hosts (and localhost) to the device side: HTTPS publish as before', async () => {
    for (const host of ['localhost', `${t.emu.domain.shortId}.device.iot.${REGION}.oci.oraclecloud.com`]) {
      const r = await https(host, 'GET', '/ords/x/20250531/rawData');
      expect(r.status, host).toBe(405);
      expect(r.body.message).toMatch(/devices POST/);
    }
  });

  it('issues bearer tokens at an identity domain for the password and client_credentials grants', async () => {
    const password = await https(IDENTITY, 'POST', '/oauth2/v1/token', tokenRequest({ grant_type: 'password', username: 'me', password: 'pw', scope: '/grp/iot/dom' }));
    expect(password.status).toBe(200);
    expect(password.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600 });
    expect(password.headers['cache-control']).toBe('no-store');
    const claims = JSON.parse(Buffer.from(password.body.access_token.split('.')[1], 'base64url').toString());
    expect(claims).toMatchObject({ iss: `https://${IDENTITY}`, sub: 'me', client_id: 'client-id', scope: '/grp/iot/dom' });

    const client = await https(IDENTITY, 'POST', '/oauth2/v1/token', tokenRequest({ grant_type: 'client_credentials' }));
    expect(client.status).toBe(200);
    expect(client.body.token_type).toBe('Bearer');
    // Client id and secret as form fields, as some OAuth clients send them.
    const inForm = await https(IDENTITY, 'POST', '/oauth2/v1/token', tokenRequest({ grant_type: 'client_credentials', client_id: 'c', client_secret: 's' }, null));
    expect(inForm.status).toBe(200);
    // Plain HTTP on the REST port answers the same.
    const plain = await fetch(`${t.emu.restUrl}/oauth2/v1/token`, { method: 'POST', ...tokenRequest({ grant_type: 'client_credentials' }) });
    expect(plain.status).toBe(200);
  });

  it('refuses token requests in OAuth\'s error shape', async () => {
    const cases: Array<[ReturnType<typeof tokenRequest>, number, string]> = [
      [tokenRequest({ grant_type: 'client_credentials' }, null), 401, 'invalid_client'],
      [tokenRequest({ grant_type: 'password', username: 'me' }), 400, 'invalid_request'],
      [tokenRequest({}), 400, 'invalid_request'],
      [tokenRequest({ grant_type: 'authorization_code', code: 'x' }), 400, 'unsupported_grant_type'],
      [{ headers: { 'content-type': 'application/json', authorization: basic('a', 'b') }, body: '{"grant_type":"client_credentials"}' }, 400, 'invalid_request'],
    ];
    for (const [req, status, error] of cases) {
      const r = await https(IDENTITY, 'POST', '/oauth2/v1/token', req);
      expect([r.status, r.body.error], req.body).toEqual([status, error]);
      expect(r.body.error_description).toEqual(expect.any(String));
    }
  });

  it('tunnels CONNECT to OCI host names on 443 into the HTTPS port', async () => {
    const tunnel = await proxyConnect(Number(new URL(t.emu.proxyUrl!).port), `${IOT}:443`);
    expect(tunnel.status).toBe(200);
    const r = await call(0, t.emu.ca, IOT, 'GET', `/20250531/iotDomains/${t.emu.domain.id}`, { socket: tunnel.socket });
    expect(r.status).toBe(200);
    expect(r.body.id).toBe(t.emu.domain.id);
  });

  it('tunnels nothing else: other hosts, other ports, and plain proxy requests are refused', async () => {
    const port = Number(new URL(t.emu.proxyUrl!).port);
    for (const target of ['example.com:443', `${IOT}:80`, `${IOT}:8883`, '127.0.0.1:443', `127.0.0.1:${t.emu.restPort}`, 'localhost:443', 'oraclecloud.com:443', `evil.com.${IOT}:443`, 'nonsense']) {
      const r = await proxyConnect(port, target);
      expect(r.status, target).toBe(403);
      r.socket.destroy();
    }
    const plain = await fetch(`${t.emu.proxyUrl}/`, { method: 'GET' });
    expect(plain.status).toBe(405);
  });
});

describe('--data-api-auth required', () => {
  let t: TestEmulator;
  let ords: (auth?: string) => Promise<Reply>;
  beforeAll(async () => {
    t = await startTestEmulator({ region: REGION, dataApiAuth: 'required' });
    ords = (auth) => call(t.emu.httpsPort, t.emu.ca, `grp.data.iot.${REGION}.oci.oraclecloud.com`, 'GET', `/ords/${t.emu.domain.shortId}/20250531/historizedData`, { headers: auth ? { authorization: auth } : {} });
  });
  afterAll(() => t?.close());

  it('opens the data API only to a token the emulator issued, until it expires on the emulator clock', async () => {
    const issued = await call(t.emu.httpsPort, t.emu.ca, IDENTITY, 'POST', '/oauth2/v1/token', tokenRequest({ grant_type: 'password', username: 'u', password: 'p' }));
    const token = issued.body.access_token as string;
    for (const auth of [undefined, 'Bearer not-a-token', `Bearer ${token.slice(0, -2)}xx`, basic('u', 'p')]) {
      const r = await ords(auth);
      expect([r.status, r.body.code], String(auth)).toEqual([401, 'NotAuthenticated']);
    }
    expect((await ords(`Bearer ${token}`)).status).toBe(200);
    // Plain HTTP on the REST port is the same data API, under the same rule.
    expect((await t.rest('GET', `/ords/${t.emu.domain.shortId}/20250531/historizedData`)).status).toBe(401);
    t.advance(3599_000);
    expect((await ords(`Bearer ${token}`)).status).toBe(200);
    t.advance(1000);
    const expired = await ords(`Bearer ${token}`);
    expect([expired.status, expired.body.message]).toEqual([401, 'The bearer token has expired']);
    // The rest of the API does not want the data API's token.
    expect((await t.rest('GET', `/20250531/iotDomains/${t.emu.domain.id}`)).status).toBe(200);
  });
});
