/**
 * Seed files as users give them: `startEmulator({ seed })` and the built CLI's `--seed` and
 * `export`. The example seed is loaded as it is shipped; a second start changes nothing;
 * an export loaded into an empty emulator exports the same again; a bad entry stops the
 * start with one line naming the file and the entry, and leaves nothing behind.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmulator, type StartedEmulator } from '../../src/programmatic.js';

const root = resolve(dirname(new URL(import.meta.url).pathname), '../..');
const cli = join(root, 'dist', 'cli.js');
const EXAMPLE = join(root, 'examples', 'seed', 'greenhouse.yaml');
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'oci-iot-seed-test-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function exported(emu: StartedEmulator): Promise<Record<string, Array<Record<string, unknown>>>> {
  const res = await fetch(`${emu.restUrl}/emulator/export`);
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, Array<Record<string, unknown>>>;
}
async function get(emu: StartedEmulator, path: string) {
  const res = await fetch(`${emu.restUrl}/20250531${path}`);
  return { status: res.status, body: (await res.json()) as { items: Array<Record<string, unknown>> } & Record<string, unknown> };
}
/** Every row of the resource tables, times and revisions included: what "changes nothing" is checked against. */
const everything = (emu: StartedEmulator) =>
  ['iot_domain_groups', 'iot_domains', 'work_requests', 'vault_secrets', 'digital_twin_models', 'digital_twin_adapters', 'digital_twin_instances', 'digital_twin_relationships', 'virtual_devices'].map(
    (table) => emu.sql(`select * from ${table} order by rowid`).rows,
  );

describe('the example seed (examples/seed/greenhouse.yaml)', () => {
  it('creates its group, domain, secret, model, adapter, instances, relationship and virtual device; the device publishes into its twin', async () => {
    const dataDir = tempDir();
    const emu = await startEmulator({ dataDir, seed: EXAMPLE });
    try {
      expect(emu.seeded).toEqual({ files: [EXAMPLE], created: 10, existing: 0 });
      const groups = await get(emu, `/iotDomainGroups?compartmentId=${encodeURIComponent('ocid1.compartment.oc1..emulator')}`);
      const group = groups.body.items.find((g) => g.displayName === 'greenhouses')!;
      expect(group.lifecycleState).toBe('ACTIVE');
      const domains = await get(emu, `/iotDomains?compartmentId=${encodeURIComponent('ocid1.compartment.oc1..emulator')}`);
      const domain = domains.body.items.find((d) => d.displayName === 'greenhouse-north')!;
      expect(domain).toMatchObject({ lifecycleState: 'ACTIVE', iotDomainGroupId: group.id });
      const iotDomainId = domain.id as string;
      const instances = (await get(emu, `/digitalTwinInstances?iotDomainId=${iotDomainId}`)).body.items;
      expect(instances.map((i) => i.externalKey).sort()).toEqual(['climate-1', 'climate-2', 'hall']);
      const climate1 = instances.find((i) => i.externalKey === 'climate-1')!;
      const hall = instances.find((i) => i.externalKey === 'hall')!;
      expect(climate1).toMatchObject({ displayName: 'climate sensor 1', digitalTwinModelSpecUri: 'dtmi:example:greenhouse:climate;1' });
      const relationships = (await get(emu, `/digitalTwinRelationships?iotDomainId=${iotDomainId}`)).body.items;
      expect(relationships).toMatchObject([{ displayName: 'climate-1 is in the hall', contentPath: 'locatedIn', sourceDigitalTwinInstanceId: climate1.id, targetDigitalTwinInstanceId: hall.id }]);
      // The secret named in the file is the device's password.
      const secret = (await (await fetch(`${emu.restUrl}/20190301/secretbundles/${climate1.authId as string}`)).json()) as { secretBundleContent: { content: string } };
      expect(Buffer.from(secret.secretBundleContent.content, 'base64').toString()).toBe('climate-1-secret');

      // The virtual device logs in to its domain with that password and publishes; the adapter maps it.
      const [vd] = emu.virtualDevices.list();
      expect(vd.instanceId).toBe(climate1.id);
      await emu.virtualDevices.ready(vd.id);
      const mapped = new Promise<void>((done) => {
        const stop = emu.telemetry.onMapped((ids) => ids.includes(climate1.id as string) && (stop(), done()));
      });
      emu.advance('PT10S');
      await mapped;
      const twin = await (await fetch(`${emu.restUrl}/emulator/devices/${climate1.id as string}/twin`)).json() as { contents: Array<{ path: string; value: unknown }> };
      expect(twin.contents.find((c) => c.path === 'co2')?.value).toEqual(expect.any(Number));
      expect(twin.contents.find((c) => c.path === 'temperature')?.value).toEqual(expect.any(Number));
    } finally {
      await emu.close();
    }
  });

  it('a second start with the same file changes nothing', async () => {
    const dataDir = tempDir();
    const first = await startEmulator({ dataDir, seed: EXAMPLE });
    const before = everything(first);
    await first.close();
    const second = await startEmulator({ dataDir, seed: EXAMPLE });
    try {
      expect(second.seeded).toEqual({ files: [EXAMPLE], created: 0, existing: 10 });
      expect(everything(second)).toEqual(before);
    } finally {
      await second.close();
    }
  });
});

describe('export', () => {
  it('writes what an emulator holds as a seed file; loaded into an empty emulator, it exports the same again', async () => {
    const a = await startEmulator({ seed: EXAMPLE });
    let written: Awaited<ReturnType<typeof exported>>;
    try {
      written = await exported(a);
    } finally {
      await a.close();
    }
    // Names, not OCIDs; the secret with its content; the default domain's entries without `domain`.
    expect(written.secrets).toContainEqual({ name: 'climate-1-password', content: 'climate-1-secret' });
    expect(written.instances.find((i) => i.externalKey === 'climate-1')).toEqual({
      domain: 'greenhouse-north',
      externalKey: 'climate-1',
      displayName: 'climate sensor 1',
      adapter: 'climate adapter',
      secret: 'climate-1-password',
    });
    expect(JSON.stringify(written)).not.toMatch(/ocid1\./);

    const b = await startEmulator({ seed: written as never });
    try {
      expect(b.seeded!.created).toBe(written.secrets.length + 9);
      expect(await exported(b)).toEqual(written);
    } finally {
      await b.close();
    }
  });

  it('the CLI export of a data directory is the same file, in JSON or YAML', async () => {
    const dataDir = tempDir();
    const emu = await startEmulator({ dataDir, seed: EXAMPLE });
    try {
      const fromApi = await exported(emu);
      // Beside the running emulator: the database is read, never written.
      const json = spawnSync(process.execPath, [cli, 'export', '--data-dir', dataDir], { encoding: 'utf8' });
      expect(json.stderr).toBe('');
      expect(JSON.parse(json.stdout)).toEqual(fromApi);
      const yaml = spawnSync(process.execPath, [cli, 'export', '--data-dir', dataDir, '--yaml'], { encoding: 'utf8' });
      const { parse } = await import('yaml');
      expect(parse(yaml.stdout)).toEqual(fromApi);
    } finally {
      await emu.close();
    }
    const none = spawnSync(process.execPath, [cli, 'export', '--data-dir', join(dataDir, 'nothing-here')], { encoding: 'utf8' });
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/^oci-iot-emulator: there is no emulator database at .*nothing-here.*; give the --data-dir the emulator runs with\n$/);
  });
});

describe('a seed directory', () => {
  it('loads every .json and .yaml file in name order; a later file may refer to an earlier one; other files are ignored', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, '20-device.json'), JSON.stringify({ instances: [{ externalKey: 'probe', secret: 'probe-password' }], virtualDevices: [{ instance: 'probe', running: false }] }));
    writeFileSync(join(dir, '10-secret.yaml'), 'secrets:\n  - name: probe-password\n    content: hunter2\n');
    writeFileSync(join(dir, 'notes.txt'), 'not a seed');
    const emu = await startEmulator({ seed: dir });
    try {
      expect(emu.seeded).toEqual({ files: [join(dir, '10-secret.yaml'), join(dir, '20-device.json')], created: 3, existing: 0 });
      expect(emu.virtualDevices.list()).toMatchObject([{ running: false, connected: false }]);
    } finally {
      await emu.close();
    }
    // An empty directory (an image's mount point with nothing mounted) seeds nothing.
    const empty = await startEmulator({ seed: tempDir() });
    expect(empty.seeded).toEqual({ files: [], created: 0, existing: 0 });
    await empty.close();
  });
});

describe('a bad seed', () => {
  const start = (seed: string, dataDir: string) =>
    spawnSync(process.execPath, [cli, 'start', '--seed', seed, '--data-dir', dataDir, '--certs-dir', join(dataDir, 'certs'), '--rest-port', '0', '--mqtt-port', '0', '--https-port', '0', '--log-level', 'silent'], {
      encoding: 'utf8',
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OCI_IOT_'))),
      timeout: 60_000,
    });

  it.each([
    ['an entry the REST API would refuse', { models: [{ spec: { '@id': 'dtmi:x:ok;1', '@type': 'Interface', '@context': 'dtmi:dtdl:context;3', contents: [] } }], adapters: [{ displayName: 'a', model: 'dtmi:x:ok;1', inboundRoutes: [{ condition: '*', payloadMapping: { '$.nope': '$.x' } }] }] },
      /^oci-iot-emulator: .*bad\.json: adapters\[0\] "a": inboundRoutes\[0\]\.payloadMapping\["\$\.nope"\]: model dtmi:x:ok;1 has no Telemetry or Property "nope"; it has none \(400 InvalidParameter\)$/],
    ['a reference to nothing', { secrets: [{ name: 's', content: 'x' }], instances: [{ externalKey: 'k', adapter: 'missing' }] },
      /^oci-iot-emulator: .*bad\.json: instances\[0\] "k": adapter "missing" is not in this domain$/],
    ['a field the format does not have', { instances: [{ externalKey: 'k', colour: 'red' }] },
      /^oci-iot-emulator: .*bad\.json: instances\[0\] "k": colour is not a field of instances \(externalKey, .*\)$/],
    ['a virtual device setting the REST API refuses', { secrets: [{ name: 's', content: 'x' }], instances: [{ externalKey: 'k', secret: 's' }], virtualDevices: [{ instance: 'k', qos: 2 }] },
      /^oci-iot-emulator: .*bad\.json: virtualDevices\[0\] "k": qos must be 0 or 1 \(400 InvalidParameter\)$/],
    ['not JSON', '{"secrets": [', /^oci-iot-emulator: .*bad\.json: not valid JSON: /],
  ])('%s: one line naming the file, the entry and the error; exit 1; nothing created', (_name, content, line) => {
    const dir = tempDir();
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'bad.json'), typeof content === 'string' ? content : JSON.stringify(content));
    const res = start(join(dir, 'bad.json'), join(dir, 'data'));
    expect(res.status).toBe(1);
    expect(res.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(res.stderr.trimEnd()).toMatch(line);
    expect(res.stdout).not.toContain('is ready');
    // All or nothing: the secret and model before the bad entry are not there either.
    const rows = spawnSync(process.execPath, [cli, 'sql', 'select (select count(*) from vault_secrets) + (select count(*) from digital_twin_models) as n', '--json', '--data-dir', join(dir, 'data')], { encoding: 'utf8' });
    if (rows.status === 0) expect(JSON.parse(rows.stdout)).toEqual([{ n: 0 }]);
  });

  it('a seed path that does not exist', () => {
    const dir = tempDir();
    const res = start(join(dir, 'missing.yaml'), dir);
    expect(res.status).toBe(1);
    expect(res.stderr.trimEnd()).toMatch(/^oci-iot-emulator: .*missing\.yaml: cannot read the seed: ENOENT$/);
  });
});
