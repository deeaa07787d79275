/**
 * The device ports' sockets are bounded like the REST port's: on the HTTPS port a TLS
 * connection that sends no request, an idle keep-alive one and a POST whose body never
 * finishes are closed after their timeouts (small ones here, so the test waits for the close,
 * not for a clock); and each device port has a connection cap of its own, so beyond it new
 * connections to that port are refused while devices still log in on the other, at a
 * file-descriptor limit the refused connections would have used up.
 */
import { request } from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type StartedEmulator } from '../../src/programmatic.js';
import { metric, openMany, openRaw, openTls, startCliWithFdLimit, type CliEmulator, type RawConnection } from '../support/capped-ports.js';
import { startTestEmulator } from '../support/harness.js';

const tlsTo = (emu: StartedEmulator) => openTls(emu.httpsPort, emu.ca);

describe('device HTTPS timeouts', () => {
  let emu: StartedEmulator;
  beforeAll(async () => {
    emu = await startEmulator({ mqttConnectTimeout: 'PT0.2S', mqttDrainTimeout: 'PT0.4S' });
  });
  afterAll(() => emu.close());

  it('a TLS connection that never sends a request is closed after the connect timeout', async () => {
    const conn = await tlsTo(emu);
    await conn.closed;
    expect(conn.received()).toMatch(/^(HTTP\/1\.1 408 |$)/);
  });

  it('an idle keep-alive connection is closed after its last response', async () => {
    const device = await emu.createDevice();
    const conn = await tlsTo(emu);
    const auth = Buffer.from(`${device.username}:${device.password}`).toString('base64');
    conn.socket.write(`POST /telemetry HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic ${auth}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}`);
    await conn.closed;
    // One answer (accepted), then the server's close.
    expect(conn.received()).toMatch(/^HTTP\/1\.1 202 /);
    expect(conn.received().match(/HTTP\/1\.1/g)).toHaveLength(1);
  });

  it('a POST whose body never finishes is closed with 408', async () => {
    const device = await emu.createDevice();
    const auth = Buffer.from(`${device.username}:${device.password}`).toString('base64');
    const conn = await tlsTo(emu);
    conn.socket.write(`POST /telemetry HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic ${auth}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":`);
    await conn.closed;
    expect(conn.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('a TCP connection that never starts TLS is closed', async () => {
    const conn = await openRaw(emu.httpsPort);
    await conn.closed;
    expect(conn.received()).toBe('');
  });
});

/** An HTTPS POST of telemetry by a password device; resolves with the status. */
function post(port: number, ca: Buffer, device: { externalKey: string; password: string }): Promise<number> {
  return new Promise((res, rej) => {
    const req = request(
      { host: '127.0.0.1', servername: 'localhost', port, ca, method: 'POST', path: '/telemetry', auth: `${device.externalKey}:${device.password}`, headers: { 'content-type': 'application/json' }, agent: false },
      (reply) => (reply.resume(), res(reply.statusCode ?? 0)),
    );
    req.on('error', rej);
    req.end('{"t":21}');
  });
}

describe('the device ports’ connection caps', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oci-iot-devcap-'));
  let emu: CliEmulator | undefined;
  afterAll(async () => {
    await emu?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('beyond a port’s cap its new connections are refused while devices log in on the other port, at a file-descriptor limit the refused ones would use up; /metrics counts them', async () => {
    const setup = await startTestEmulator({ dataDir: join(dir, 'data'), certsDir: join(dir, 'certs') });
    const device = await setup.createDevice();
    await setup.close();
    const ca = readFileSync(join(dir, 'certs', 'ca.pem'));
    // 256 descriptors for the whole process; 300 connections to one port are tried below.
    // A long connect timeout, so the held TCP sockets are not closed for never starting TLS.
    emu = await startCliWithFdLimit(256, join(dir, 'data'), join(dir, 'certs'), ['--mqtt-max-connections', '100', '--https-max-connections', '100', '--mqtt-connect-timeout', 'PT10M']);
    const login = (url: string) => mqtt.connectAsync(url, { ca, username: device.externalKey, password: device.password, protocolVersion: 4, reconnectPeriod: 0 });

    /** Fills `port` to its cap with silent TCP connections, then tries 200 more: all closed at once, unanswered. */
    async function fill(port: number): Promise<RawConnection[]> {
      const held: RawConnection[] = [];
      for (let i = 0; i < 100; i++) held.push(await openRaw(port));
      const over = await openMany(port, 200);
      await Promise.all(over.map((c) => c.closed));
      expect(over.every((c) => c.received() === '')).toBe(true);
      expect(held.every((c) => !c.socket.destroyed)).toBe(true);
      return held;
    }

    // The HTTPS port full: a device still logs in over MQTTS.
    const heldHttps = await fill(emu.httpsPort);
    const mqtts = await login(`mqtts://localhost:${emu.mqttPort}`);
    expect(mqtts.connected).toBe(true);
    await mqtts.endAsync();
    let text = await emu.metrics();
    expect(metric(text, 'oci_iot_https_connections')).toBe(100);
    expect(metric(text, 'oci_iot_https_max_connections')).toBe(100);
    expect(metric(text, 'oci_iot_https_connections_refused_total')).toBe(200);
    expect(metric(text, 'oci_iot_https_connections_accepted_total')).toBe(100);
    expect(metric(text, 'oci_iot_mqtts_connections_refused_total')).toBe(0);
    heldHttps.forEach((c) => c.socket.destroy());
    // The emulator sees the closes as they arrive.
    while (metric(await emu.metrics(), 'oci_iot_https_connections') > 0) await new Promise((r) => setImmediate(r));

    // The MQTTS port full: a device still posts over HTTPS and logs in over WSS.
    const heldMqtts = await fill(emu.mqttPort);
    expect(await post(emu.httpsPort, ca, device)).toBe(202);
    const wss = await login(`wss://localhost:${emu.httpsPort}/mqtt`);
    expect(wss.connected).toBe(true);
    await wss.endAsync();
    text = await emu.metrics();
    expect(metric(text, 'oci_iot_mqtts_connections')).toBe(100);
    expect(metric(text, 'oci_iot_mqtts_max_connections')).toBe(100);
    expect(metric(text, 'oci_iot_mqtts_connections_refused_total')).toBe(200);
    // The 100 held, and the MQTTS login above.
    expect(metric(text, 'oci_iot_mqtts_connections_accepted_total')).toBe(101);
    // The POST and the WSS login.
    expect(metric(text, 'oci_iot_https_connections_accepted_total')).toBe(102);
    expect(metric(text, 'oci_iot_https_connections_refused_total')).toBe(200);
    heldMqtts.forEach((c) => c.socket.destroy());
  });
});
