import type { RequestListener, Server } from 'node:http';
import { capConnections, timeoutCheckInterval } from '../ops/connection-cap.js';
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
  let metricFamilies: () => string[] = () => [];
  const headersTimeout = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  return {
    serverFactory(handler, opts) {
      const server = headAsGetServer(handler, opts, {
        headersTimeout,
        requestTimeout: limits.requestTimeoutMs,
        keepAliveTimeout: limits.keepAliveTimeoutMs,
        connectionsCheckingInterval: timeoutCheckInterval(headersTimeout),
      });
      server.keepAliveTimeout = limits.keepAliveTimeoutMs;
      server.headersTimeout = headersTimeout;
      server.requestTimeout = limits.requestTimeoutMs;
      metricFamilies = capConnections(server, { metric: 'rest', what: 'the REST port', flag: '--rest-max-connections' }, limits.maxConnections);
      return server;
    },
    metricFamilies: () => metricFamilies(),
  };
}
