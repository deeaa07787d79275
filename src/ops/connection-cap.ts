import type { Server } from 'node:net';
import { family } from './metrics.js';

/** One listening port as /metrics and its help texts name it. */
export interface PortName {
  /** The metric name's part: `oci_iot_<metric>_connections`. */
  metric: string;
  /** The port in words, e.g. "the REST port". */
  what: string;
  /** The option that sets its cap, e.g. "--rest-max-connections". */
  flag: string;
}

/**
 * A port's own connection cap: Node closes a connection over it at once (counted as
 * refused), so what one client holds open on one port cannot use up the process's file
 * descriptors that the other ports need. Counts raw sockets, so on a TLS port a
 * connection counts from before its handshake, and on the device HTTPS port a WebSocket
 * counts until it closes. Returns the port's /metrics families.
 */
export function capConnections(server: Server, port: PortName, maxConnections: number): () => string[] {
  let open = 0;
  let accepted = 0;
  let refused = 0;
  server.maxConnections = maxConnections;
  // On a TLS server 'connection' is the TCP socket, before the handshake; its close is the end.
  server.on('connection', (socket: { once(event: 'close', listener: () => void): unknown }) => {
    open++;
    accepted++;
    socket.once('close', () => open--);
  });
  server.on('drop', () => refused++);
  const name = `oci_iot_${port.metric}`;
  return () => [
    family(`${name}_connections`, 'gauge', `Open connections to ${port.what}`, [[`${name}_connections`, {}, open]]),
    family(`${name}_max_connections`, 'gauge', `Open connections ${port.what} accepts (${port.flag})`, [[`${name}_max_connections`, {}, maxConnections]]),
    family(`${name}_connections_accepted_total`, 'counter', `Connections ${port.what} accepted`, [[`${name}_connections_accepted_total`, {}, accepted]]),
    family(`${name}_connections_refused_total`, 'counter', `Connections ${port.what} closed at once because ${port.flag} were open`, [[`${name}_connections_refused_total`, {}, refused]]),
  ];
}

/**
 * How often Node looks for HTTP requests past their headers or request timeout: its
 * default is every 30 s, which would let a slow client keep a socket up to 30 s past its
 * timeout. A quarter of the timeout, at least 50 ms.
 */
export function timeoutCheckInterval(headersTimeoutMs: number): number {
  return Math.max(50, Math.min(headersTimeoutMs / 4, 30_000));
}
