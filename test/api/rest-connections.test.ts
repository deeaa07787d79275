/**
 * The REST port's sockets are bounded: idle keep-alive, silent and slow connections are
 * closed after their timeouts (small ones here, so the test waits for the close event, not
 * for a clock), and beyond the connection cap new REST connections are refused while a
 * device still logs in over MQTTS, even at a file-descriptor limit the REST sockets alone
 * would have used up.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type StartedEmulator } from '../../src/programmatic.js';
import { GET, metric, openMany, openRaw as open, responded, startCliWithFdLimit, type CliEmulator, type RawConnection } from '../support/capped-ports.js';
import { startTestEmulator } from '../support/harness.js';

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
  let emu: CliEmulator | undefined;
  afterAll(async () => {
    await emu?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('beyond it new REST connections are refused while a device still logs in over MQTTS, at a file-descriptor limit the REST sockets would use up; /metrics counts them', async () => {
    const setup = await startTestEmulator({ dataDir: join(dir, 'data'), certsDir: join(dir, 'certs') });
    const device = await setup.createDevice();
    await setup.close();
    // 256 descriptors for the whole process; 300 REST connections are tried below.
    emu = await startCliWithFdLimit(256, join(dir, 'data'), join(dir, 'certs'), ['--rest-max-connections', '100', '--rest-keepalive-timeout', 'PT10M', '--rest-headers-timeout', 'PT10M', '--rest-request-timeout', 'PT10M']);

    const held: RawConnection[] = [];
    for (let i = 0; i < 100; i++) {
      const conn = await open(emu.restPort);
      conn.socket.write(GET('/emulator/health'));
      await responded(conn);
      held.push(conn);
    }
    // Over the cap: accepted by the kernel, closed by the emulator at once, with no answer.
    const over = await openMany(emu.restPort, 200);
    await Promise.all(over.map((c) => c.closed));
    expect(over.every((c) => c.received() === '')).toBe(true);
    expect(held.every((c) => !c.socket.destroyed)).toBe(true);

    const client = await mqtt.connectAsync(`mqtts://localhost:${emu.mqttPort}`, {
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
    expect(metric(metrics, 'oci_iot_rest_connections_refused_total')).toBe(200);
    expect(metric(metrics, 'oci_iot_rest_connections')).toBe(100);
    expect(metric(metrics, 'oci_iot_rest_max_connections')).toBe(100);
    expect(metric(metrics, 'oci_iot_rest_connections_accepted_total')).toBe(100);
    held.forEach((c) => c.socket.destroy());
  });
});
