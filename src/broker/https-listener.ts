import type { Connection } from 'aedes';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { TlsMaterial } from '../pki/certificates.js';
import { capConnections, timeoutCheckInterval } from '../ops/connection-cap.js';
import { deviceTlsOptions } from '../pki/tls-policy.js';
import { GuardedConnection } from './guarded-connection.js';
import type { BrokerLimits } from './limits.js';
import { dropFailedHandshakes, guardOptions, listenOn } from './listener.js';
import type { BrokerLog } from './log.js';

/** Where MQTT over secure WebSockets is served, as on OCI's device host. */
export const WSS_PATH = '/mqtt';

/**
 * The device HTTPS listener (OCI serves both on 443 of the device host): a WebSocket
 * upgrade on /mqtt carries MQTT, with the same certificate, login, limits and guard as
 * MQTTS; any other request is an HTTPS device publish (see https-publish.ts).
 */
export function createHttpsListener(deps: {
  tls: TlsMaterial;
  limits: BrokerLimits;
  handle: (conn: Connection) => void;
  publish: (req: IncomingMessage, res: ServerResponse, expectsContinue?: boolean) => void;
  log: BrokerLog;
}) {
  const { limits, log } = deps;
  // The service APIs on OCI's host names (see `serveApi`); until then every request is a device's.
  let api: ApiRoute | null = null;
  const server = createServer({ ...deviceTlsOptions(deps.tls, limits.connectTimeoutMs), connectionsCheckingInterval: timeoutCheckInterval(limits.connectTimeoutMs) }, (req, res) => {
    if (api?.accepts(req)) api.handle(req, res);
    else deps.publish(req, res);
  });
  // A request's head must arrive as fast as an MQTT CONNECT must (a silent socket's too).
  server.headersTimeout = limits.connectTimeoutMs;
  server.requestTimeout = limits.drainTimeoutMs;
  // An idle keep-alive socket waits for its next request as long as a new one for its first.
  server.keepAliveTimeout = limits.connectTimeoutMs;
  const metricFamilies = capConnections(server, { metric: 'https', what: 'the device HTTPS port', flag: '--https-max-connections' }, limits.maxConnections.https);
  // Credentials and size are checked before a client that asks is told to send its body.
  server.on('checkContinue', (req, res) => {
    if (!api?.accepts(req)) return deps.publish(req, res, true);
    res.writeContinue();
    api.handle(req, res);
  });
  const wss = new WebSocketServer({
    noServer: true,
    // One MQTT packet per message is what clients send; a bigger message cannot be a packet we accept.
    maxPayload: limits.maxPacketSize,
    handleProtocols: (offered) => (offered.has('mqtt') ? 'mqtt' : (offered.values().next().value ?? false)),
  });

  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    if (pathOf(req.url) !== WSS_PATH) {
      socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${JSON.stringify({ code: 'NotFound', message: `MQTT over WebSockets is served at ${WSS_PATH}` })}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const tlsSocket = req.socket as TLSSocket;
      deps.handle(
        new GuardedConnection(tlsSocket, guardOptions(limits, log, tlsSocket, 'wss'), createWebSocketStream(ws), 'wss'),
      );
    });
  });
  dropFailedHandshakes(server, log, 'https');

  return {
    metricFamilies,
    listen: (port: number, host: string) => listenOn(server, port, host),
    /**
     * Requests `accepts` claims (by the host they name) go to `handle` instead of the
     * device side: the REST API served under OCI's host names, on the same port and
     * certificate as devices, as OCI serves each on 443.
     */
    serveApi(route: ApiRoute): void {
      api = route;
    },
    /** A connection that arrived elsewhere (a tunnel of the HTTPS proxy mode): TLS and all else as if it came here. */
    accept(socket: Duplex): void {
      server.emit('connection', socket);
    },
    /** Stops accepting; resolves once open connections have ended (closing Aedes ends the WebSockets). */
    close(): Promise<void> {
      if (!server.listening) return Promise.resolve();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      wss.close();
      return closed;
    },
  };
}

export interface ApiRoute {
  accepts(req: IncomingMessage): boolean;
  handle(req: IncomingMessage, res: ServerResponse): void;
}

/** The path of a request target, without its query. */
export function pathOf(url: string | undefined): string {
  const target = url ?? '/';
  const q = target.indexOf('?');
  return q < 0 ? target : target.slice(0, q);
}
