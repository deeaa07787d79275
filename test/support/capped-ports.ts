/**
 * What the connection-cap tests share: the built CLI started under a file-descriptor limit,
 * and raw TCP connections that show whether the server answered or closed them.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { cli, startServing } from './cli-start.js';

export interface RawConnection {
  socket: Socket;
  /** Everything received so far, as text. */
  received(): string;
  /** Resolves when the connection is closed (by either side). */
  closed: Promise<void>;
}

/** A raw TCP connection to a loopback port; a connection the kernel refuses rejects. */
export function openRaw(port: number): Promise<RawConnection> {
  return watched(connect(port, '127.0.0.1'), 'connect');
}

/** A TLS connection to a loopback port of the emulator, for the name localhost, once its handshake is done. */
export function openTls(port: number, ca: string | Buffer): Promise<RawConnection> {
  return watched(tlsConnect({ port, host: '127.0.0.1', servername: 'localhost', ca }), 'secureConnect');
}

async function watched(socket: Socket, ready: 'connect' | 'secureConnect'): Promise<RawConnection> {
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => {});
  const closed = new Promise<void>((res) => socket.once('close', () => res()));
  await new Promise<void>((res, rej) => {
    socket.once(ready, () => res());
    socket.once('error', rej);
  });
  return { socket, received: () => received, closed };
}

/** `count` connections opened one after another; for ones over a cap, which the server closes at once. */
export async function openMany(port: number, count: number): Promise<RawConnection[]> {
  const refused: RawConnection = { socket: null as never, received: () => '', closed: Promise.resolve() };
  const conns: RawConnection[] = [];
  for (let i = 0; i < count; i++) conns.push(await openRaw(port).catch(() => refused));
  return conns;
}

export const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`;

/** Resolves once a whole response head has arrived on the connection. */
export async function responded(conn: { received: () => string }): Promise<void> {
  while (!/\r\n\r\n/.test(conn.received())) await new Promise((r) => setImmediate(r));
}

export interface CliEmulator {
  restPort: number;
  mqttPort: number;
  httpsPort: number;
  /** The text of GET /metrics. */
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/** `oci-iot-emulator start` on any free ports, under `ulimit -n <fdLimit>` (soft and hard) for the whole process. */
export async function startCliWithFdLimit(fdLimit: number, dataDir: string, certsDir: string, flags: string[]): Promise<CliEmulator> {
  const serving = await startServing('/bin/sh', ['-c', `ulimit -n ${fdLimit} && exec "$0" "$@"`, process.execPath, cli, 'start', '--rest-port', '0', '--mqtt-port', '0', '--https-port', '0', '--data-dir', dataDir, '--certs-dir', certsDir, '--log-level', 'warn', ...flags]);
  const port = (pattern: RegExp) => Number(pattern.exec(serving.out)![1]);
  const restPort = port(/REST API\s+http:\/\/[^:]+:(\d+)/);
  return {
    restPort,
    mqttPort: port(/MQTTS\s+mqtts:\/\/[^:]+:(\d+)/),
    httpsPort: port(/device HTTPS\s+https:\/\/[^:]+:(\d+)/),
    metrics: async () => (await fetch(`http://127.0.0.1:${restPort}/metrics`)).text(),
    stop: async () => void (await serving.stop()),
  };
}

/** The value of an unlabelled series in /metrics text. */
export function metric(text: string, name: string): number {
  const m = new RegExp(`\\n${name} (\\d+)`).exec(text);
  if (!m) throw new Error(`${name} is not in /metrics`);
  return Number(m[1]);
}
