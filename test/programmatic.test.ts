/** The programmatic API's defaults: what a test suite gets from `startEmulator()` with no options. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterEach, expect, it } from 'vitest';
import { startEmulator, type StartedEmulator } from '../src/index.js';

const running: StartedEmulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

it('two emulators side by side get their own free loopback ports, databases and a manual clock', async () => {
  const [a, b] = await Promise.all([startEmulator(), startEmulator()]);
  running.push(a, b);
  for (const emu of [a, b]) {
    expect(emu.restUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect([emu.restPort, emu.mqttPort]).not.toContain(8080);
    expect(emu.mqttPort).not.toBe(8883);
    expect(emu.databaseFile.startsWith(tmpdir())).toBe(true);
    expect(emu.clock.kind).toBe('manual');
    expect(emu.consoleUrl).toBe(`${emu.restUrl}/console/`);
    expect(emu.ca).toMatch(/^-----BEGIN CERTIFICATE-----/);
  }
  expect(a.restPort).not.toBe(b.restPort);
  expect(a.databaseFile).not.toBe(b.databaseFile);
  await a.createDevice({ externalKey: 'only-in-a' });
  expect(b.sql("select count(*) as n from digital_twin_instances where external_key = 'only-in-a'").rows).toEqual([{ n: 0 }]);
});

it('close() removes the temporary database; a database the caller named is kept', async () => {
  const emu = await startEmulator();
  const file = emu.databaseFile;
  expect(existsSync(file)).toBe(true);
  await emu.close();
  expect(existsSync(file)).toBe(false);

  const mine = mkdtempSync(join(tmpdir(), 'named-'));
  const kept = await startEmulator({ dataDir: mine });
  await kept.close();
  expect(existsSync(join(mine, 'emulator.db'))).toBe(true);
  rmSync(mine, { recursive: true });
});

it('close() removes the certificates directory with the CA key; the next emulator has the same CA', async () => {
  const a = await startEmulator();
  const certs = a.config.certsDir;
  expect(existsSync(join(certs, 'ca-key.pem'))).toBe(true);
  await a.close();
  expect(existsSync(certs)).toBe(false);

  const b = await startEmulator();
  running.push(b);
  expect(b.config.certsDir).not.toBe(certs);
  expect(b.ca).toBe(a.ca);
});

it('advance() moves the manual clock by an ISO duration or milliseconds, and explains itself otherwise', async () => {
  const emu = await startEmulator();
  running.push(emu);
  const before = emu.clock.now();
  expect(emu.advance('PT3M')).toBe(new Date(before + 180_000).toISOString());
  expect(emu.advance(500)).toBe(new Date(before + 180_500).toISOString());
  expect(() => emu.advance('3 minutes')).toThrow(/^advance\("3 minutes"\): /);

  const real = await startEmulator({ clock: 'system' });
  running.push(real);
  expect(() => real.advance('PT1M')).toThrow('advance() needs the manual clock');
});

it('invoke() reports an OCI error with its status and code', async () => {
  const emu = await startEmulator();
  running.push(emu);
  const device = await emu.createDevice();
  await expect(emu.invoke(device.instanceId, { requestDataFormat: 'XML', requestEndpoint: 'a' })).rejects.toThrow(
    /^invokeRawCommand failed: 400 InvalidParameter: /,
  );
});

it('createDevice() takes the instance fields an OCI create does, and the password', async () => {
  const emu = await startEmulator();
  running.push(emu);
  // An instance names a model that exists in its domain.
  await fetch(`${emu.restUrl}/20250531/digitalTwinModels`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ iotDomainId: emu.domain.id, spec: { '@context': 'dtmi:dtdl:context;3', '@id': 'dtmi:com:example:Pump;1', '@type': 'Interface' } }),
  });
  const device = await emu.createDevice({ displayName: 'pump', password: 'p4ss', freeformTags: { site: 'lab' }, digitalTwinModelSpecUri: 'dtmi:com:example:Pump;1' });
  expect(device.password).toBe('p4ss');
  const got = await fetch(`${emu.restUrl}/20250531/digitalTwinInstances/${device.instanceId}`).then((r) => r.json());
  expect(got).toMatchObject({ displayName: 'pump', freeformTags: { site: 'lab' }, digitalTwinModelSpecUri: 'dtmi:com:example:Pump;1' });
});
