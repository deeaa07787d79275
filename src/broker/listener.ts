import { createServer as createTlsServer } from 'node:tls';
import type { AddressInfo, Server } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Connection } from 'aedes';
import type { TlsMaterial } from '../pki/certificates.js';
import { capConnections } from '../ops/connection-cap.js';
import { deviceTlsOptions } from '../pki/tls-policy.js';
import { GuardedConnection } from './guarded-connection.js';
import type { BrokerLimits } from './limits.js';
import type { BrokerLog } from './log.js';

/**
 * The MQTTS listener: TLS with the emulator's certificate, then each connection wrapped
 * in a GuardedConnection (packet size and drain limits) before Aedes sees a byte. A socket
 * has the connect timeout to finish its handshake and again to send CONNECT, and the port
 * has a connection cap of its own.
 */
export function createTlsListener(deps: {
  tls: TlsMaterial;
  limits: BrokerLimits;
  handle: (conn: Connection) => void;
  log: BrokerLog;
}) {
  const { limits, log } = deps;
  const server = createTlsServer(deviceTlsOptions(deps.tls, limits.connectTimeoutMs), (socket) =>
    deps.handle(new GuardedConnection(socket, guardOptions(limits, log, socket))),
  );
  dropFailedHandshakes(server, log);
  const metricFamilies = capConnections(server, { metric: 'mqtts', what: 'the MQTTS port', flag: '--mqtt-max-connections' }, limits.maxConnections.mqtts);

  return {
    metricFamilies,
    /** Binds; resolves with the port (useful when asked for port 0). */
    listen: (port: number, host: string) => listenOn(server, port, host),
    /** Stops accepting; resolves once every open connection has ended (closing Aedes ends them). */
    close(): Promise<void> {
      return server.listening ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    },
  };
}

/** A device connection's guard, the same on every transport; `transport` tags its log lines. */
export function guardOptions(limits: BrokerLimits, log: BrokerLog, socket: TLSSocket, transport?: string) {
  return {
    maxPacketSize: limits.maxPacketSize,
    maxConnectSize: limits.maxConnectSize,
    drainTimeoutMs: limits.drainTimeoutMs,
    onRefused: (reason: string) =>
      log('info', 'device connection closed', { reason, address: socket.remoteAddress, ...(transport !== undefined && { transport }) }),
  };
}

/**
 * A client that is not speaking TLS never reaches MQTT; there is nothing to answer. With a
 * listener attached Node leaves the socket open, so a silent TCP peer would stay forever.
 */
export function dropFailedHandshakes(server: Pick<Server, 'on'>, log: BrokerLog, transport?: string): void {
  server.on('tlsClientError', (err: Error, socket: { destroy(): void }) => {
    log('debug', 'TLS handshake failed', { err: err.message, ...(transport !== undefined && { transport }) });
    socket.destroy();
  });
}

/** Binds; resolves with the port (useful when asked for port 0). */
export async function listenOn(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}
