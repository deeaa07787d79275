/**
 * The proxy mode's gate, alone (src/proxy/https-proxy.ts): who may open a tunnel, and to
 * where. Clients "beyond this machine" are stood in for by `isLocal`, since tests stay on loopback.
 */
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, expect, it } from 'vitest';
import { connectTarget, createHttpsProxy } from '../../src/proxy/https-proxy.js';

const proxies: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

async function start(opts: { adminToken: string | null; local: boolean }) {
  const accepted: Duplex[] = [];
  const proxy = createHttpsProxy({
    tunnels: (host) => host === 'iot.us-ashburn-1.oci.oraclecloud.com',
    accept: (socket) => {
      accepted.push(socket);
      socket.destroy();
    },
    adminToken: opts.adminToken,
    log: () => {},
    isLocal: () => opts.local,
  });
  proxies.push(proxy);
  return { port: await proxy.listen(0, '127.0.0.1'), accepted };
}

function status(port: number, target: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let seen = '';
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      seen += chunk.toString('latin1');
      if (seen.includes('\r\n')) {
        socket.destroy();
        resolve(Number(seen.split(' ')[1]));
      }
    });
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${extra}\r\n`);
  });
}

const IOT = 'iot.us-ashburn-1.oci.oraclecloud.com:443';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

it('serves this machine without a token', async () => {
  const { port, accepted } = await start({ adminToken: null, local: true });
  expect(await status(port, IOT)).toBe(200);
  expect(accepted).toHaveLength(1);
});

it('serves nobody beyond this machine when there is no admin token', async () => {
  const { port, accepted } = await start({ adminToken: null, local: false });
  for (const auth of [undefined, basic('x', 'anything'), 'Bearer anything']) {
    expect(await status(port, IOT, auth ? { 'proxy-authorization': auth } : {}), String(auth)).toBe(403);
  }
  expect(accepted).toHaveLength(0);
});

it('serves beyond this machine only with the admin token, as Basic password or Bearer', async () => {
  const { port, accepted } = await start({ adminToken: 's3cret-token', local: false });
  const cases: Array<[string | undefined, number]> = [
    [undefined, 407],
    [basic('x', 'wrong'), 407],
    ['Bearer wrong', 407],
    ['Bearer s3cret-token-longer', 407],
    ['Digest s3cret-token', 407],
    [basic('any-user', 's3cret-token'), 200],
    ['Bearer s3cret-token', 200],
  ];
  for (const [auth, expected] of cases) {
    expect(await status(port, IOT, auth ? { 'proxy-authorization': auth } : {}), String(auth)).toBe(expected);
  }
  expect(accepted).toHaveLength(2);
  // The token opens only the same tunnels: nothing else, anywhere.
  expect(await status(port, 'example.com:443', { 'proxy-authorization': 'Bearer s3cret-token' })).toBe(403);
});

it('reads CONNECT targets, IPv6 literals included, and nothing malformed', () => {
  expect(connectTarget('IOT.us-ashburn-1.oci.oraclecloud.com.:443')).toEqual({ host: 'iot.us-ashburn-1.oci.oraclecloud.com', port: 443 });
  expect(connectTarget('[::1]:443')).toEqual({ host: '[::1]', port: 443 });
  for (const bad of [undefined, '', 'host', 'host:', ':443', 'a b:443', 'host:443:1']) expect(connectTarget(bad), String(bad)).toBeNull();
});
