/**
 * Raw-socket MQTT fuzzing over real TLS: generated packets of every type, valid and not,
 * truncated, bit-flipped, oversized, out of order, or plain random bytes, both before a
 * login and after one. Throughout, a well-behaved MQTT.js device keeps getting commands
 * and answering them; at the end every fuzzing device can still log in and be served,
 * and the database is intact. A crash anywhere in the emulator fails the run.
 */
import fc from 'fast-check';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestEmulator, type Device, type ConnectedDevice, type TestEmulator } from '../support/harness.js';
import { rawDevice, rawLogin } from '../support/raw-mqtt.js';

/** Each case is one TLS connection carrying up to six packets; FUZZ_CASES runs more locally. */
const CASES = Number(process.env.FUZZ_CASES ?? 1000);
const CONCURRENCY = 8;
const HEALTH_EVERY = 100;
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

let t: TestEmulator;
let healthy: { device: Device; conn: ConnectedDevice };
const fuzzDevices: Device[] = [];
const raw = () => ({ port: t.emu.mqttPort, ca: t.emu.ca });

beforeAll(async () => {
  t = await startTestEmulator({ mqttConnectTimeout: 'PT0.5S', mqttMaxPacketSize: 64 * 1024, mqttMaxConnectSize: 4096 });
  const device = await t.createDevice();
  const conn = await t.connect(device, { clientId: 'healthy', subscribe: [['cmd/#', 1]] });
  // The healthy device answers every command on rsp/<same>.
  // (A publish still awaiting its PUBACK when the test closes the client rejects; the health checks see any real failure.)
  conn.client.on('message', (topic, payload) => void conn.client.publishAsync(topic.replace(/^cmd/, 'rsp'), payload, { qos: 1 }).catch(() => {}));
  healthy = { device, conn };
  for (let i = 0; i < 3; i++) {
    const d = await t.createDevice();
    // One good login each, so the fuzzing's failed logins never lock these keys' address out.
    const { device: first, returnCode } = await rawLogin(raw(), { username: d.externalKey, password: Buffer.from(d.password), clientId: `fuzz-${i}` });
    expect(returnCode).toBe(0);
    await first.end();
    fuzzDevices.push(d);
  }
});
afterAll(async () => {
  await t.close();
});

// ---- generators -------------------------------------------------------------------------

const text = (max: number) => fc.oneof(fc.string({ maxLength: max }), fc.constantFrom('', '#', '+', '$SYS/#', 'a/+/b', 'a/#/b', '\u0000', '/', '//'));
const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => Buffer.from(b));
const messageId = fc.oneof(fc.integer({ min: 1, max: 65535 }), fc.constantFrom(0, 1, 2));
const qos = fc.constantFrom<0 | 1 | 2>(0, 1, 2);

/** A packet object of any of the 14 types, with fields a little wild. */
const packet: fc.Arbitrary<Packet> = fc.oneof(
  fc.record({
    cmd: fc.constant('connect' as const),
    protocolId: fc.constantFrom<'MQTT' | 'MQIsdp'>('MQTT', 'MQIsdp'),
    protocolVersion: fc.constantFrom<3 | 4 | 5>(3, 4, 4, 5),
    clean: fc.boolean(),
    clientId: text(40),
    keepalive: fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.constant(60)),
    username: fc.option(text(40), { nil: undefined }),
    password: fc.option(bytes(40), { nil: undefined }),
    will: fc.option(fc.record({ topic: text(30), payload: bytes(200), qos, retain: fc.boolean() }), { nil: undefined }),
  }),
  fc.record({ cmd: fc.constant('connack' as const), returnCode: fc.integer({ min: 0, max: 5 }), sessionPresent: fc.boolean() }),
  fc.record({
    cmd: fc.constant('publish' as const),
    topic: text(60),
    payload: fc.oneof(bytes(500), fc.integer({ min: 0, max: 80_000 }).map((n) => Buffer.alloc(n, 0x61))),
    qos,
    retain: fc.boolean(),
    dup: fc.boolean(),
    messageId,
  }),
  fc.record({ cmd: fc.constantFrom('puback' as const, 'pubrec' as const, 'pubrel' as const, 'pubcomp' as const, 'unsuback' as const), messageId }),
  fc.record({ cmd: fc.constant('subscribe' as const), messageId, subscriptions: fc.array(fc.record({ topic: text(30), qos }), { minLength: 1, maxLength: 4 }) }),
  fc.record({ cmd: fc.constant('suback' as const), messageId, granted: fc.array(fc.constantFrom(0, 1, 2, 128), { minLength: 1, maxLength: 4 }) }),
  fc.record({ cmd: fc.constant('unsubscribe' as const), messageId, unsubscriptions: fc.array(text(30), { minLength: 1, maxLength: 4 }) }),
  fc.record({ cmd: fc.constantFrom('pingreq' as const, 'pingresp' as const, 'disconnect' as const) }),
) as fc.Arbitrary<Packet>;

/** Encodes what mqtt-packet can encode; what it refuses is left out. */
function encode(packets: Packet[]): Buffer {
  const out: Buffer[] = [];
  for (const p of packets) {
    try {
      out.push(mqttPacket.generate(p));
    } catch {
      // not encodable: skip it
    }
  }
  return Buffer.concat(out);
}

/** What a client may send once logged in, so sessions get past their first packet. */
const clientPacket = packet.filter((p) => !['connect', 'connack', 'suback', 'unsuback', 'pingresp', 'disconnect'].includes(p.cmd));

const stream: fc.Arbitrary<Buffer> = fc.oneof(
  // A plausible client session: subscriptions, publishes at every QoS, acknowledgements for ids never sent.
  { arbitrary: fc.array(clientPacket, { minLength: 1, maxLength: 10 }).map(encode), weight: 3 },
  // Valid packets, in any order.
  fc.array(packet, { minLength: 1, maxLength: 6 }).map(encode),
  // Truncated anywhere.
  fc.tuple(fc.array(packet, { minLength: 1, maxLength: 4 }).map(encode), fc.double({ min: 0, max: 1, noNaN: true })).map(([b, at]) => b.subarray(0, Math.floor(b.length * at))),
  // Bit flips.
  fc.tuple(fc.array(packet, { minLength: 1, maxLength: 4 }).map(encode), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 8 })).map(([b, flips]) => {
    const copy = Buffer.from(b);
    for (const [i, bit] of flips) if (copy.length) copy[i % copy.length] ^= 1 << bit;
    return copy;
  }),
  // A header declaring a huge body, and a little of it.
  fc.tuple(fc.integer({ min: 0, max: 15 }), fc.constantFrom([0xff, 0xff, 0xff, 0x7f], [0x80, 0x80, 0x80, 0x30], [0xff, 0xff, 0x03], [0xff, 0xff, 0xff, 0xff, 0x01]), bytes(2000)).map(([type, length, body]) =>
    Buffer.concat([Buffer.from([type << 4, ...length]), body]),
  ),
  // Noise.
  bytes(3000),
);

interface Case {
  /** 'post': log in with valid credentials first, then send the bytes. */
  phase: 'pre' | 'post';
  device: number;
  bytes: Buffer;
  /** Chunk sizes the bytes are written in. */
  cuts: number[];
}

const fuzzCase: fc.Arbitrary<Case> = fc.record({
  phase: fc.constantFrom<'pre' | 'post'>('pre', 'post'),
  device: fc.integer({ min: 0, max: 2 }),
  bytes: stream,
  cuts: fc.array(fc.integer({ min: 1, max: 400 }), { maxLength: 6 }),
});

// ---- running ----------------------------------------------------------------------------

async function run(c: Case): Promise<void> {
  const d = fuzzDevices[c.device];
  const device =
    c.phase === 'pre'
      ? await rawDevice(raw())
      : (await rawLogin(raw(), { username: d.externalKey, password: Buffer.from(d.password), clientId: `fuzz-${c.device}` })).device;
  let rest = c.bytes;
  for (const cut of c.cuts) {
    if (!rest.length || device.isClosed()) break;
    device.write(rest.subarray(0, cut));
    rest = rest.subarray(cut);
  }
  if (rest.length && !device.isClosed()) device.write(rest);
  // Our side is done; the emulator closes on our FIN, on what it refused, or on its own timers.
  device.socket.end();
  await device.closed;
}

let healthChecks = 0;
async function healthCheck(): Promise<void> {
  const n = ++healthChecks;
  const id = await t.invoke(healthy.device.instanceId, {
    requestDataFormat: 'TEXT',
    requestEndpoint: `cmd/${n}`,
    requestData: `ping-${n}`,
    responseEndpoint: `rsp/${n}`,
  });
  expect((await t.waitFor(id, 'COMPLETED')).response_data).toBe(`ping-${n}`);
}

describe(`MQTT fuzzing (seed ${SEED}; rerun with FUZZ_SEED=${SEED})`, () => {
  it(`${CASES} generated connections, ${CONCURRENCY} at a time: no crash, the healthy device served throughout`, async () => {
    const cases = fc.sample(fuzzCase, { numRuns: CASES, seed: SEED });
    let next = 0;
    const checks: Array<Promise<void>> = [];
    const worker = async () => {
      while (next < cases.length) {
        const i = next++;
        if (i % HEALTH_EVERY === 0) checks.push(healthCheck());
        await run(cases[i]);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await Promise.all(checks);
    expect(healthChecks).toBe(Math.ceil(CASES / HEALTH_EVERY));
    expect(healthy.conn.client.connected).toBe(true);
  }, 120_000);

  it('afterwards every fuzzing device logs in and is served, and the database is intact', async () => {
    for (const [i, d] of fuzzDevices.entries()) {
      const conn = await t.connect(d, { clientId: `after-${i}`, subscribe: [['cmd/#', 1]] });
      const id = await t.invoke(d.instanceId, { requestDataFormat: 'TEXT', requestEndpoint: 'cmd/after', requestData: 'x' });
      expect((await conn.next('cmd/after')).payload.toString()).toBe('x');
      await t.waitFor(id, 'COMPLETED');
      await conn.close();
    }
    await healthCheck();
    expect(t.emu.db.pragma('integrity_check', { simple: true })).toBe('ok');
    const owners = t.emu.db.prepare('SELECT DISTINCT digital_twin_instance_id AS id FROM raw_data').all() as Array<{ id: string }>;
    const known = new Set([healthy.device.instanceId, ...fuzzDevices.map((d) => d.instanceId)]);
    expect(owners.filter((o) => !known.has(o.id))).toEqual([]);
  });
});
