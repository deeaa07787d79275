import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** Whether an address only this machine can reach. */
const isLoopbackAddress = (address: string | undefined) =>
  !!address && (address === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(address));

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The token in a Proxy-Authorization header: Bearer <token>, or Basic with the token as password (what HTTPS_PROXY=http://user:token@… sends). */
function proxyToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const bearer = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  if (bearer) return bearer;
  const basic = /^Basic\s+(\S+)$/i.exec(header)?.[1];
  if (!basic) return undefined;
  const text = Buffer.from(basic, 'base64').toString('utf8');
  return decodeURIComponent(text.slice(text.indexOf(':') + 1));
}

/** `host:port` of a CONNECT request target; IPv6 literals in brackets. */
export function connectTarget(target: string | undefined): { host: string; port: number } | null {
  const m = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(target ?? '');
  if (!m) return null;
  return { host: m[1].replace(/\.$/, '').toLowerCase(), port: Number(m[2]) };
}

function refuse(socket: Duplex, status: number, reason: string, message: string, extra = ''): void {
  const body = JSON.stringify({ code: status === 407 ? 'NotAuthenticated' : 'NotAllowed', message });
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`);
}

/**
 * The HTTPS proxy mode: `CONNECT <host>:443` for an OCI host name (`tunnels`) is answered
 * by the emulator itself, its HTTPS port taking the tunnel (TLS with its certificate, then
 * the API or the device side by host name), so a client that honours HTTPS_PROXY and
 * trusts the emulator's CA reaches it with no code and no DNS change. Nothing else is
 * tunneled, anywhere: it is not an open proxy. Clients beyond loopback need the admin
 * token in Proxy-Authorization; with no admin token, only loopback clients are served.
 */
export function createHttpsProxy(deps: {
  tunnels: (host: string) => boolean;
  accept: (socket: Duplex) => void;
  adminToken: string | null;
  log: (msg: string, fields: Record<string, unknown>) => void;
  /** Whether a client is on this machine (by its address); tests stand in for another machine with it. */
  isLocal?: (address: string | undefined) => boolean;
}) {
  const isLocal = deps.isLocal ?? isLoopbackAddress;
  const tunnels = new Set<Socket>();
  const server = createServer((req, res) => {
    // A plain-HTTP proxy request (GET http://…) or a direct request: nothing is served here but tunnels.
    const body = JSON.stringify({ code: 'NotAllowed', message: 'This is the emulator\'s HTTPS proxy: it only tunnels CONNECT <OCI host name>:443' });
    res.writeHead(405, { 'content-type': 'application/json', allow: 'CONNECT', connection: 'close' }).end(body);
  });
  // A tunnel is idle as long as its client keeps it; the HTTPS port's own timeouts govern it once TLS starts.
  server.headersTimeout = 10_000;

  server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (!isLocal(socket.remoteAddress)) {
      const token = proxyToken(req.headers['proxy-authorization']);
      if (deps.adminToken === null) {
        return refuse(socket, 403, 'Forbidden', 'The emulator\'s proxy serves only this machine unless an admin token is set (--admin-token)');
      }
      if (token === undefined || !same(token, deps.adminToken)) {
        return refuse(socket, 407, 'Proxy Authentication Required', 'The emulator\'s proxy needs the admin token from beyond this machine: Proxy-Authorization: Basic (any user, the token as password) or Bearer', 'Proxy-Authenticate: Basic realm="oci-iot-emulator"\r\n');
      }
    }
    const target = connectTarget(req.url);
    if (!target || target.port !== 443 || !deps.tunnels(target.host)) {
      deps.log('proxy CONNECT refused', { target: req.url, address: socket.remoteAddress });
      return refuse(socket, 403, 'Forbidden', `The emulator's proxy tunnels only OCI's host names on port 443 (iot.<region>.oci.oraclecloud.com, …), not ${req.url ?? 'this'}`);
    }
    tunnels.add(socket);
    socket.once('close', () => tunnels.delete(socket));
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) socket.unshift(head);
    deps.accept(socket);
  });

  return {
    listen(port: number, host: string): Promise<number> {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      });
    },
    close(): Promise<void> {
      if (!server.listening) return Promise.resolve();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const socket of tunnels) socket.destroy();
      return closed;
    },
  };
}
