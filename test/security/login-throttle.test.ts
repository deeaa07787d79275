/**
 * Brute force against device logins, over real TLS, with the manual clock: failed logins
 * back off per external key and per source address; a device that logs in correctly is
 * never slowed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SEED_COMMAND, startTestEmulator, type Device, type TestEmulator } from '../support/harness.js';
import { rawLogin } from '../support/raw-mqtt.js';

const PER_KEY = 5;
const PER_ADDRESS = 20;
let t: TestEmulator;

beforeEach(async () => {
  t = await startTestEmulator({ loginFailuresPerKey: PER_KEY, loginFailuresPerAddress: PER_ADDRESS, loginBackoffMax: 'PT1M' });
});
afterEach(async () => {
  await t.close();
});

/** One login attempt; the CONNACK return code (0 = logged in). */
async function attempt(username: string, password: string, clientId = 'bf'): Promise<number | undefined> {
  const { device, returnCode } = await rawLogin({ port: t.emu.mqttPort, ca: t.emu.ca }, { username, password: Buffer.from(password), clientId });
  await device.end();
  return returnCode;
}

describe('brute force against one external key', () => {
  it('N wrong passwords at line rate: only the first ones are even checked; the right one works after the backoff', async () => {
    const victim = await t.createDevice();
    const neighbour = await t.createDevice();
    const connected = await t.connect(neighbour, { subscribe: [['cmd/#', 1]] });

    // 40 guesses as fast as the attacker can make them.
    const codes: Array<number | undefined> = [];
    for (let i = 0; i < 40; i++) codes.push(await attempt(victim.externalKey, `guess-${i}`));
    // PER_KEY free failures, one more that starts the backoff, then "server unavailable" without a look at the password.
    expect(codes).toEqual([...Array(PER_KEY + 1).fill(5), ...Array(40 - PER_KEY - 1).fill(3)]);

    // Even the right password is refused while the key backs off: a guess cannot be confirmed early.
    expect(await attempt(victim.externalKey, victim.password)).toBe(3);

    // Each further failure doubles the wait: 1 s, 2 s, 4 s, 8 s ...
    t.advance(1000);
    expect(await attempt(victim.externalKey, 'guess-again')).toBe(5);
    t.advance(1000);
    expect(await attempt(victim.externalKey, victim.password)).toBe(3);
    t.advance(1000);
    expect(await attempt(victim.externalKey, 'and-again')).toBe(5);
    t.advance(3999);
    expect(await attempt(victim.externalKey, victim.password)).toBe(3);

    // After the backoff the right password logs in, and the key starts from zero again.
    t.advance(1);
    expect(await attempt(victim.externalKey, victim.password)).toBe(0);
    expect(await attempt(victim.externalKey, 'one-typo')).toBe(5);
    expect(await attempt(victim.externalKey, victim.password)).toBe(0);

    // Devices on the same address were never slowed: a new one logs in at once, the connected one stays served.
    const fresh = await t.createDevice();
    expect(await attempt(fresh.externalKey, fresh.password)).toBe(0);
    expect(connected.client.connected).toBe(true);
    const id = await t.invoke(neighbour.instanceId, { ...SEED_COMMAND, requestEndpoint: 'cmd/x', responseEndpoint: undefined });
    expect((await connected.next('cmd/x')).payload.toString()).toBe('{"temp":33}');
    await t.waitFor(id, 'COMPLETED');
  });

  it('the backoff stops at loginBackoffMax', async () => {
    const victim = await t.createDevice();
    for (let i = 0; i <= PER_KEY; i++) await attempt(victim.externalKey, 'wrong');
    let wait = 1000;
    for (let i = 0; i < 10; i++) {
      t.advance(wait);
      expect(await attempt(victim.externalKey, 'wrong')).toBe(5);
      wait = Math.min(wait * 2, 60_000);
    }
    t.advance(59_999);
    expect(await attempt(victim.externalKey, victim.password)).toBe(3);
    t.advance(1);
    expect(await attempt(victim.externalKey, victim.password)).toBe(0);
  });
});

describe('spraying many keys from one address', () => {
  it('the address backs off for keys that never logged in from it; known devices are not slowed', async () => {
    const known = await t.createDevice();
    expect(await attempt(known.externalKey, known.password)).toBe(0);
    const newcomer: Device = await t.createDevice();

    const codes: Array<number | undefined> = [];
    for (let i = 0; i < PER_ADDRESS + 5; i++) codes.push(await attempt(`no-such-key-${i}`, 'x'));
    expect(codes).toEqual([...Array(PER_ADDRESS + 1).fill(5), ...Array(4).fill(3)]);

    expect(await attempt(newcomer.externalKey, newcomer.password)).toBe(3);
    expect(await attempt(known.externalKey, known.password)).toBe(0);
    t.advance(1000);
    expect(await attempt(newcomer.externalKey, newcomer.password)).toBe(0);
  });
});
