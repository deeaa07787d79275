/** The broker's own limits as pure functions: header scanning, CONNECT rules, login backoff. */
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock/clock.js';
import { connectRefusal } from '../../src/broker/limits.js';
import { createLoginThrottle, THROTTLE_DEFAULTS } from '../../src/broker/login-throttle.js';
import { createHeaderScanner } from '../../src/broker/packet-guard.js';

const limits = { maxPacketSize: 1000, maxConnectSize: 100 };
const connect = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'c', clean: true, keepalive: 60 });
const publish = (size: number) =>
  mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(size), qos: 0, dup: false, retain: false });

/**
 * Feeds `bytes` in the given chunk sizes and returns the first refusal. With `login`, the
 * CONNECT goes first on its own and the rest follows the CONNACK, as a client waits for it.
 */
function scan(bytes: Buffer, cuts: number[], login = false): string | null {
  const scanner = createHeaderScanner(limits);
  let rest = bytes;
  if (login) {
    const refusal = scanner.feed(connect);
    if (refusal) return refusal;
    scanner.authenticated();
  }
  for (const cut of cuts) {
    if (rest.length === 0) break;
    const refusal = scanner.feed(rest.subarray(0, Math.max(1, cut)));
    if (refusal) return refusal;
    rest = rest.subarray(Math.max(1, cut));
  }
  return rest.length ? scanner.feed(rest) : null;
}

describe('fixed-header scanner', () => {
  it('passes a CONNECT and then packets up to the limit, however the bytes are split', () => {
    const stream = Buffer.concat([publish(900), publish(10), publish(0)]);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 40 }), (cuts) => {
        expect(scan(stream, cuts, true)).toBeNull();
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a packet over the limit from its header, before its body arrives', () => {
    const scanner = createHeaderScanner(limits);
    expect(scanner.feed(connect)).toBeNull();
    scanner.authenticated();
    // Only the first bytes of a PUBLISH declaring 100 MB: type byte and length.
    const header = publish(100 * 1024 * 1024).subarray(0, 5);
    expect(scanner.feed(header)).toMatch(/PUBLISH of \d+ bytes is over the limit of 1000 bytes/);
  });

  it('applies the small limit until the login succeeds', () => {
    expect(scan(Buffer.concat([connect, publish(200)]), [])).toMatch(/over the limit of 100 bytes before authentication/);
    const big = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'x'.repeat(200), clean: true, keepalive: 60 });
    expect(scan(big, [])).toMatch(/CONNECT of \d+ bytes/);
  });

  it('refuses anything but CONNECT first, and a remaining length longer than four bytes', () => {
    expect(scan(publish(1), [])).toBe('first packet is PUBLISH, not CONNECT');
    expect(scan(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01]), [])).toBe('malformed remaining length');
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.integer({ min: 1, max: 50 })), (bytes, cuts) => {
        const result = scan(Buffer.from(bytes), cuts, true);
        expect(result === null || typeof result === 'string').toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('CONNECT rules', () => {
  it('refuse an empty client id with clean session false, keepalive 0 and keepalive above the maximum, with code 2', () => {
    expect(connectRefusal({ clientId: '', clean: false, keepalive: 60 }, 300)).toMatchObject({ returnCode: 2 });
    expect(connectRefusal({ clientId: 'd', clean: true, keepalive: 0 }, 300)).toMatchObject({ returnCode: 2 });
    expect(connectRefusal({ clientId: 'd', clean: true, keepalive: 301 }, 300)).toMatchObject({ returnCode: 2 });
  });

  it('accept what a well-behaved device sends', () => {
    expect(connectRefusal({ clientId: '', clean: true, keepalive: 60 }, 300)).toBeNull();
    expect(connectRefusal({ clientId: 'd', clean: false, keepalive: 300 }, 300)).toBeNull();
  });
});

describe('login backoff', () => {
  const make = () => {
    const clock = manualClock(0);
    const throttle = createLoginThrottle(clock, { ...THROTTLE_DEFAULTS, failuresPerKey: 3, failuresPerAddress: 10, backoffMaxMs: 8000 });
    return { clock, throttle };
  };

  it('lets the first failures through, then doubles the wait up to the maximum', () => {
    const { clock, throttle } = make();
    for (let i = 0; i < 3; i++) {
      expect(throttle.check('a', 'k').allowed).toBe(true);
      throttle.failed('a', 'k');
    }
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      const decision = throttle.check('a', 'k');
      if (decision.allowed) {
        throttle.failed('a', 'k');
        continue;
      }
      waits.push(decision.retryAfterMs);
      clock.advance(decision.retryAfterMs);
      throttle.failed('a', 'k');
    }
    expect(waits).toEqual([1000, 2000, 4000, 8000, 8000]);
  });

  it('a success clears the key; an address sprayed with keys backs off, except for keys that logged in from it', () => {
    const { clock, throttle } = make();
    throttle.succeeded('a', 'good');
    for (let i = 0; i < 11; i++) throttle.failed('a', `guess-${i}`);
    expect(throttle.check('a', 'new-device')).toMatchObject({ allowed: false, by: 'address' });
    expect(throttle.check('a', 'good')).toEqual({ allowed: true });
    expect(throttle.check('b', 'new-device')).toEqual({ allowed: true });
    clock.advance(1000);
    expect(throttle.check('a', 'new-device')).toEqual({ allowed: true });
  });

  it('forgets failures after a quiet period', () => {
    const { clock, throttle } = make();
    for (let i = 0; i < 3; i++) throttle.failed('a', 'k');
    clock.advance(THROTTLE_DEFAULTS.forgetAfterMs);
    throttle.failed('a', 'k');
    expect(throttle.check('a', 'k')).toEqual({ allowed: true });
  });
});
