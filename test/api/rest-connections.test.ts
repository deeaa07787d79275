/**
 * The REST port's sockets are bounded: idle keep-alive, silent and slow connections are
 * closed after their timeouts (small ones here, so the test waits for the close event, not
 * for a clock), and beyond the connection cap new REST connections are refused while a
 * device still logs in over MQTTS, even at a file-descriptor limit the REST sockets alone
 * would have used up.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type StartedEmulator } from '../../src/programmatic.js';
import { startTestEmulator } from '../support/harness.js';

const root = resolve(dirname(new URL(import.meta.url).pathname), '../..');
const cli = join(root, 'dist', 'cli.js');

/** A raw TCP connection to the REST port, with what it received and whether the server closed it. */
async function open(port: number): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => {});
  const closed = new Promise<void>((res) => socket.once('close', () => res()));
  await new Promise<void>((res, rej) => {
    socket.once('connect', () => res());
    socket.once('error', rej);
  });
  return { socket, received: () => received, closed };
}

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`;

async function responded(conn: { received: () => string }): Promise<void> {
  while (!/\r\n\r\n/.test(conn.received())) await new Promise((r) => setImmediate(r));
}

describe('REST timeouts', () => {
  let emu: StartedEmulator;
  beforeAll(async () => {
    emu = await startEmulator({ restKeepAliveTimeout: 'PT0.1S', restHeadersTimeout: 'PT0.2S', restRequestTimeout: 'PT0.4S' });
  });
  afterAll(() => emu.close());

  it('an idle keep-alive connection is closed by the server after its last response', async () => {
    const conn = await open(emu.restPort);
    conn.socket.write(GET('/emulator/health'));
    await responded(conn);
    expect(conn.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*keep-alive/i);
    await conn.closed;
    // One response, then the server's close: nothing else came.
    expect(conn.received().match(/HTTP\/1\.1/g)).toHaveLength(1);
  });

  it('a connection that never sends a byte is closed (408)', async () => {
    const conn = await open(emu.restPort);
    await conn.closed;
    expect(conn.received()).toMatch(/^(HTTP\/1\.1 408 |$)/);
  });

  it('a request whose body never finishes is closed with 408', async () => {
    const conn = await open(emu.restPort);
    conn.socket.write('POST /20180608/secrets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":');
    await conn.closed;
    expect(conn.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('a server-sent event stream is a response, not a request: it stays open past every timeout', async () => {
    const conn = await open(emu.restPort);
    conn.socket.write(GET('/emulator/events'));
    await responded(conn);
    expect(conn.received()).toMatch(/text\/event-stream/);
    // Longer than every timeout above, counted by the emulator's own timers firing.
    const idle = await open(emu.restPort);
    idle.socket.write(GET('/emulator/health'));
    await idle.closed;
    const silent = await open(emu.restPort);
    await silent.closed;
    expect(conn.socket.destroyed).toBe(false);
    conn.socket.destroy();
  });
});

describe('the REST connection cap', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oci-iot-restcap-'));
  let child: ChildProcessWithoutNullStreams | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('beyond it new REST connections are refused while a device still logs in over MQTTS, at a file-descriptor limit the REST sockets would use up; /metrics counts them', async () => {
    const setup = await startTestEmulator({ dataDir: join(dir, 'data'), certsDir: join(dir, 'certs') });
    const device = await setup.createDevice();
    await setup.close();
    // 256 descriptors for the whole process; 300 REST connections are tried below.
    child = spawn('/bin/sh', ['-c', `ulimit -n 256 && exec "$0" "$@"`, process.execPath, cli, 'start', '--rest-port', '0', '--mqtt-port', '0', '--https-port', '0', '--data-dir', join(dir, 'data'), '--certs-dir', join(dir, 'certs'), '--log-level', 'warn', '--rest-max-connections', '100', '--rest-keepalive-timeout', 'PT10M', '--rest-headers-timeout', 'PT10M', '--rest-request-timeout', 'PT10M']);
    let out = '';
    await new Promise<void>((res, rej) => {
      child!.stdout.on('data', (b: Buffer) => ((out += b.toString()), out.includes('clock') && res()));
      child!.once('exit', (code) => rej(new Error(`exited ${code}`)));
    });
    const restPort = Number(/REST API\s+http:\/\/[^:]+:(\d+)/.exec(out)![1]);
    const mqttPort = Number(/MQTTS\s+mqtts:\/\/localhost:(\d+)/.exec(out)![1]);

    const held: Array<Awaited<ReturnType<typeof open>>> = [];
    for (let i = 0; i < 100; i++) {
      const conn = await open(restPort);
      conn.socket.write(GET('/emulator/health'));
      await responded(conn);
      held.push(conn);
    }
    // Over the cap: accepted by the kernel, closed by the emulator at once, with no answer.
    const over: Array<Awaited<ReturnType<typeof open>>> = [];
    for (let i = 0; i < 200; i++) over.push(await open(restPort).catch(() => ({ socket: null as never, received: () => '', closed: Promise.resolve() })));
    await Promise.all(over.map((c) => c.closed));
    expect(over.every((c) => c.received() === '')).toBe(true);
    expect(held.every((c) => !c.socket.destroyed)).toBe(true);

    const client = await mqtt.connectAsync(`mqtts://localhost:${mqttPort}`, {
      ca: readFileSync(join(dir, 'certs', 'ca.pem')),
      username: device.externalKey,
      password: device.password,
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    expect(client.connected).toBe(true);
    await client.endAsync();

    // A held connection still works, and reads the counts.
    held[0].socket.write(GET('/metrics'));
    while (!/oci_iot_rest_connections_refused_total \d+/.test(held[0].received())) await new Promise((r) => setImmediate(r));
    const metrics = held[0].received();
    expect(Number(/\noci_iot_rest_connections_refused_total (\d+)/.exec(metrics)![1])).toBe(200);
    expect(Number(/\noci_iot_rest_connections (\d+)/.exec(metrics)![1])).toBe(100);
    expect(metrics).toContain('\noci_iot_rest_max_connections 100');
    expect(Number(/\noci_iot_rest_connections_accepted_total (\d+)/.exec(metrics)![1])).toBe(100);
    held.forEach((c) => c.socket.destroy());
  });
});
