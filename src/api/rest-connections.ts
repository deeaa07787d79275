import type { RequestListener, Server } from 'node:http';
import { family } from '../ops/metrics.js';
import { headAsGetServer } from './head-requests.js';

/** What bounds the REST port's sockets, in milliseconds and connections. */
export interface RestLimits {
  /** An idle keep-alive connection is closed this long after its last response. */
  keepAliveTimeoutMs: number;
  /** Time a connection has to send a request's headers (a silent new connection included). */
  headersTimeoutMs: number;
  /** Time a connection has to send a whole request, body included. */
  requestTimeoutMs: number;
  /** Open connections beyond which a new one is closed at once. */
  maxConnections: number;
}

export interface RestConnections {
  /** Fastify's `serverFactory`: HEAD as GET (head-requests.ts), with the limits set. */
  serverFactory(handler: RequestListener, opts: Record<string, unknown>): Server;
  /** The /metrics families of the REST port's connections. */
  metricFamilies(): string[];
}

/**
 * The REST port's sockets, bounded so that what one client holds open there cannot use up
 * the process's file descriptors that device logins on the MQTTS and HTTPS ports need: a
 * connection cap of its own (Node closes a connection over it at once), and Node's
 * keep-alive, headers and request timeouts. A connection that never sends a byte is closed
 * by the headers timeout. Server-sent event streams are responses, not requests, so no
 * timeout here ends them.
 */
export function restConnections(limits: RestLimits): RestConnections {
  let open = 0;
  let accepted = 0;
  let refused = 0;
  const headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  return {
    serverFactory(handler, opts) {
      const server = headAsGetServer(handler, opts, {
        headersTimeout,
        requestTimeout: limits.requestTimeoutMs,
        keepAliveTimeout: limits.keepAliveTimeoutMs,
        // How often Node looks for requests past their timeouts (its default is every 30 s).
        connectionsCheckingInterval: Math.max(50, Math.min(headersTimeout / 4, 30_000)),
      });
      server.keepAliveTimeout = limits.keepAliveTimeoutMs;
      server.headersTimeout = headersTimeout;
      server.requestTimeout = limits.requestTimeoutMs;
      server.maxConnections = limits.maxConnections;
      server.on('connection', (socket) => {
        open++;
        accepted++;
        socket.once('close', () => open--);
      });
      server.on('drop', () => refused++);
      return server;
    },
    metricFamilies: () => [
      family('oci_iot_rest_connections', 'gauge', 'Open connections to the REST port', [['oci_iot_rest_connections', {}, open]]),
      family('oci_iot_rest_max_connections', 'gauge', 'Open connections the REST port accepts (--rest-max-connections)', [['oci_iot_rest_max_connections', {}, limits.maxConnections]]),
      family('oci_iot_rest_connections_accepted_total', 'counter', 'Connections the REST port accepted', [['oci_iot_rest_connections_accepted_total', {}, accepted]]),
      family('oci_iot_rest_connections_refused_total', 'counter', 'Connections the REST port closed at once because --rest-max-connections were open', [['oci_iot_rest_connections_refused_total', {}, refused]]),
    ],
  };
}
