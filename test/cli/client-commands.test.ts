/**
 * The CLI's client commands as users run them: a child process of the built CLI
 * (`npm test` builds first) against an emulator started in-process on free ports.
 */
import { spawn } from 'node:child_process';
import { SEED_COMMAND } from '../support/harness.js';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OPTIONS } from '../../src/config.js';
import { startEmulator, type StartedEmulator } from '../../src/programmatic.js';

const ROOT = new URL('../..', import.meta.url).pathname;
// Each run starts a Node process; on a busy two-core CI machine that is slow. Nothing here asserts a timing.
vi.setConfig({ testTimeout: 60_000 });
const scratch = mkdtempSync(join(tmpdir(), 'oci-iot-cli-'));

let emu: StartedEmulator;
beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.close();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a user who set nothing but OCI_IOT_URL. */
function env(): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OCI_IOT_')));
  return { ...clean, OCI_IOT_URL: emu.restUrl };
}

function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['dist/cli.js', ...args], { cwd: ROOT, env: env() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const json = (run: Run) => JSON.parse(run.stdout) as { data: any; etag?: string; 'opc-next-page'?: string };
const file = (name: string, content: string | Buffer) => {
  const path = join(scratch, name);
  writeFileSync(path, content);
  return `file://${path}`;
};


describe('--help and bad command lines', () => {
  it('--help lists every option of start with its environment variable, and the client commands', async () => {
    const run = await cli('--help');
    expect(run.code).toBe(0);
    for (const o of OPTIONS) {
      expect(run.stdout).toMatch(new RegExp(`^  ${o.flag} (<value>|\\[true\\|false\\])\\s+${o.env}\\s`, 'm'));
    }
    expect(run.stdout).toMatch(/^ {2}--url <value>\s+OCI_IOT_URL\s/m);
    // The CLI keeps fixed ports and ./data; only the programmatic API picks free ports and a temporary database.
    expect(run.stdout).toMatch(/--rest-port <value> .*\(default: 8080\)$/m);
    expect(run.stdout).toMatch(/--mqtt-port <value> .*\(default: 8883\)$/m);
    expect(run.stdout).toMatch(/--data-dir <value> .*\(default: data\)$/m);
    expect(run.stdout).toContain('oci-iot-emulator device create');
    expect(run.stdout).toContain('oci-iot-emulator iot digital-twin-instance');
  });

  it('exits non-zero with a one-line reason, then the usage of what was mistyped', async () => {
    const cases: Array<[string[], string, string]> = [
      [['start', '--bogus', '1'], 'oci-iot-emulator: unknown option --bogus', 'Usage:'],
      [['device'], 'oci-iot-emulator: missing action (create)', 'Usage: oci-iot-emulator device create'],
      [['device', 'create', 'thermostat'], 'oci-iot-emulator: unexpected argument thermostat; give the name as --name "thermostat"', 'Usage: oci-iot-emulator device create'],
      [['iot', 'digital-twin-instance', 'frobnicate'], 'oci-iot-emulator: unknown command frobnicate', 'Usage: oci-iot-emulator iot digital-twin-instance <command>'],
      [
        ['iot', 'digital-twin-instance', 'invoke-raw-json-command', '--request-endpoint', 'x'],
        'oci-iot-emulator: missing required option --digital-twin-instance-id',
        'Usage: oci-iot-emulator iot digital-twin-instance invoke-raw-json-command [options]',
      ],
      [
        ['iot', 'digital-twin-instance', 'invoke-raw-json-command', '--digital-twin-instance-id', 'i', '--request-endpoint', 'x', '--request-data', '{temp: 33}'],
        'oci-iot-emulator: --request-data is not valid JSON: ',
        'Usage: oci-iot-emulator iot digital-twin-instance invoke-raw-json-command [options]',
      ],
      [
        ['iot', 'digital-twin-instance', 'invoke-raw-text-command', '--digital-twin-instance-id', 'i', '--from-json', file('json-command.json', JSON.stringify(SEED_COMMAND))],
        'oci-iot-emulator: --from-json has requestDataFormat JSON, but this is invoke-raw-text-command',
        'Usage: oci-iot-emulator iot digital-twin-instance invoke-raw-text-command [options]',
      ],
    ];
    const runs = await Promise.all(cases.map(([args]) => cli(...args)));
    runs.forEach((run, i) => {
      const [, reason, usage] = cases[i];
      const [first, blank, third] = run.stderr.split('\n');
      expect(run.code, cases[i][0].join(' ')).toBe(2);
      expect(first.startsWith(reason), `${first} should start with ${reason}`).toBe(true);
      expect(blank).toBe('');
      expect(third.startsWith(usage), `${third} should start with ${usage}`).toBe(true);
      expect(run.stdout).toBe('');
    });
  });

  it('says in one line when the emulator cannot be reached, or answers with an OCI error', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const [unreachable, unknown] = await Promise.all([
      cli('device', 'create', '--url', `http://127.0.0.1:${closedPort}`),
      cli('iot', 'digital-twin-instance', 'get', '--digital-twin-instance-id', 'ocid1.iotdigitaltwininstance.oc1..nope'),
    ]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toBe(
      `oci-iot-emulator: cannot reach the emulator at http://127.0.0.1:${closedPort} (ECONNREFUSED); is it running? Point --url or OCI_IOT_URL at it\n`,
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.startsWith('ServiceError:\n')).toBe(true);
    expect(JSON.parse(unknown.stderr.slice('ServiceError:\n'.length))).toMatchObject({
      code: 'NotAuthorizedOrNotFound',
      status: 404,
      operation_name: 'get_digital_twin_instance',
    });
  });
});

describe('device create', () => {
  it('prints credentials and a mosquitto_sub line that really receives the device\'s commands', async () => {
    const run = await cli('device', 'create', '--name', 'thermostat');
    expect(run.code).toBe(0);
    const field = (name: string) => new RegExp(`^  ${name} +(\\S+)`, 'm').exec(run.stdout)?.[1];
    expect(run.stdout.split('\n')[0]).toBe('Device "thermostat" created.');
    // The first domain's devices are told --device-host (localhost), which lands on it without SNI.
    expect(field('host')).toBe(emu.config.deviceHost);
    expect(field('port')).toBe(String(emu.mqttPort));
    expect(field('CA file')).toBe(emu.caFile);
    const username = field('username')!;
    const password = field('password')!;
    const line = /^ {2}(mosquitto_sub .*)$/m.exec(run.stdout)![1];
    expect(line).toContain(`-u ${username} -P ${password}`);

    // Run the printed line as a user pastes it (plus -d, to see when the SUBACK arrives).
    // stdbuf: mosquitto_sub block-buffers stdout into a pipe; a terminal would see each line at once.
    const sub = spawn('sh', ['-c', `exec stdbuf -oL ${line} -d`]);
    let output = '';
    const waiting: Array<() => void> = [];
    sub.stdout.on('data', (d) => {
      output += d;
      for (const check of [...waiting]) check();
    });
    const seen = (text: string) =>
      new Promise<void>((resolve) => {
        const check = () => void (output.includes(text) && (waiting.splice(waiting.indexOf(check), 1), resolve()));
        waiting.push(check);
        check();
      });
    try {
      await seen('received SUBACK');
      const instanceId = emu.sql(`select id from digital_twin_instances where external_key = '${username}'`).rows[0].id as string;
      const invoke = await cli(
        'iot', 'digital-twin-instance', 'invoke-raw-text-command',
        '--digital-twin-instance-id', instanceId, '--request-endpoint', 'cmd/reboot', '--request-data', 'now',
      );
      expect(invoke.code).toBe(0);
      expect(invoke.stdout).toBe(''); // as the oci CLI: nothing on stdout
      const id = Number(/^Accepted: raw command data record (\d+) \(http:\/\/.+\/rawCommandData\/\1\)\n$/.exec(invoke.stderr)![1]);
      await seen('cmd/reboot now');
      // One-way at QoS 1: mosquitto_sub's PUBACK completes it.
      expect((await emu.waitForCommand(id, 'COMPLETED')).request_data).toBe('now');
    } finally {
      sub.kill();
    }
  });

  it('--json prints the whole reply for scripts', async () => {
    const run = await cli('device', 'create', '--json', '--external-key', 'scripted-1');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ device: { externalKey: 'scripted-1', online: false }, connection: { username: 'scripted-1', port: emu.mqttPort } });
  });
});

describe('iot digital-twin-instance, in the oci CLI\'s shape', () => {
  it('create, get and list print {"data": ...} in kebab-case with oci\'s datetimes', async () => {
    const created = await cli(
      'iot', 'digital-twin-instance', 'create', '--iot-domain-id', emu.domain.id,
      '--display-name', 'cli-made', '--external-key', 'cli-made-1', '--freeform-tags', '{"Team":"iot"}',
    );
    expect(created.code).toBe(0);
    const out = json(created);
    expect(Object.keys(out)).toEqual(['data', 'etag']);
    expect(Object.keys(out.data)).toEqual([
      'auth-id', 'connectivity-type', 'defined-tags', 'description', 'digital-twin-adapter-id', 'digital-twin-model-id',
      'digital-twin-model-spec-uri', 'display-name', 'external-key', 'freeform-tags', 'gateways', 'id', 'iot-domain-id',
      'lifecycle-state', 'system-tags', 'time-created', 'time-updated',
    ]);
    expect(out.data).toMatchObject({ 'display-name': 'cli-made', 'external-key': 'cli-made-1', 'lifecycle-state': 'ACTIVE', 'iot-domain-id': emu.domain.id });
    expect(out.data['freeform-tags']).toEqual({ Team: 'iot' }); // tag keys are data: case kept
    expect(out.data['time-created']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);

    const got = await cli('iot', 'digital-twin-instance', 'get', '--digital-twin-instance-id', out.data.id);
    expect(json(got)).toEqual(out);

    await cli('iot', 'digital-twin-instance', 'create', '--iot-domain-id', emu.domain.id, '--display-name', 'cli-made');
    const [page, all] = await Promise.all([
      cli('iot', 'digital-twin-instance', 'list', '--iot-domain-id', emu.domain.id, '--display-name', 'cli-made', '--limit', '1'),
      cli('iot', 'digital-twin-instance', 'list', '--iot-domain-id', emu.domain.id, '--display-name', 'cli-made', '--all', '--page-size', '1'),
    ]);
    expect(json(page).data.items).toHaveLength(1);
    expect(json(page)['opc-next-page']).toBe('1');
    expect(json(all).data.items.map((i: any) => i['display-name'])).toEqual(['cli-made', 'cli-made']);
    expect(json(all)['opc-next-page']).toBeUndefined();
  });

  it('invoke-raw-json-command --from-json file://command.json reaches the device, which completes it', async () => {
    const device = await emu.createDevice();
    const client = await mqtt.connectAsync({ ...device.mqttOptions, reconnectPeriod: 0 });
    try {
      await client.subscribeAsync('/endpoints/1234', { qos: 1 });
      client.on('message', () => void client.publishAsync('/endpoints/4321', '{"test":1}', { qos: 1 }));
      const run = await cli(
        'iot', 'digital-twin-instance', 'invoke-raw-json-command',
        '--digital-twin-instance-id', device.instanceId, '--from-json', file('command.json', JSON.stringify(SEED_COMMAND, null, 2)),
      );
      expect(run.code).toBe(0);
      expect(run.stdout).toBe('');
      const id = Number(/record (\d+)/.exec(run.stderr)![1]);
      const row = await emu.waitForCommand(id, 'COMPLETED');
      expect(row).toMatchObject({ request_data: '{"temp":33}', request_duration: 'PT3M', response_endpoint: '/endpoints/4321', response_data: '{"test":1}' });

      const sql = await cli('sql', `select delivery_status, response_data from raw_command_data where id = ${id}`, '--data-dir', emu.config.dataDir);
      expect(sql.stdout).toMatch(/^COMPLETED +\| \{"test":1\}$/m);
    } finally {
      await client.endAsync();
    }
  });

  it('flags win over --from-json, and binary data can come from a file', async () => {
    const device = await emu.createDevice();
    const client = await mqtt.connectAsync({ ...device.mqttOptions, reconnectPeriod: 0 });
    const received: Array<[string, Buffer]> = [];
    const two = new Promise<void>((resolve) => client.on('message', (t, p) => void (received.push([t, p]) === 2 && resolve())));
    try {
      await client.subscribeAsync('cmd/#', { qos: 1 });
      const [overridden, binary] = await Promise.all([
        cli(
          'iot', 'digital-twin-instance', 'invoke-raw-json-command', '--digital-twin-instance-id', device.instanceId,
          '--from-json', file('seed.json', JSON.stringify(SEED_COMMAND)), '--request-endpoint', 'cmd/json', '--request-data', '{"temp":40}',
        ),
        cli(
          'iot', 'digital-twin-instance', 'invoke-raw-binary-command', '--digital-twin-instance-id', device.instanceId,
          '--request-endpoint', 'cmd/blob', '--request-data', file('blob.bin', Buffer.from([0, 1, 2, 255])),
        ),
      ]);
      expect([overridden.code, binary.code]).toEqual([0, 0]);
      await two;
      const byTopic = Object.fromEntries(received.map(([t, p]) => [t, p]));
      expect(byTopic['cmd/json'].toString()).toBe('{"temp":40}');
      expect([...byTopic['cmd/blob']]).toEqual([0, 1, 2, 255]);
    } finally {
      await client.endAsync();
    }
  });
});

describe('device domains and device create --domain', () => {
  it('lists every domain with its device host, and creates a device in the one picked', async () => {
    const post = async (path: string, body: unknown) =>
      (await (await fetch(`${emu.restUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as { id: string; deviceHost?: string };
    const group = await post('/20250531/iotDomainGroups', { compartmentId: 'ocid1.compartment.oc1..cli' });
    emu.advance('PT1S');
    const domain = await post('/20250531/iotDomains', { compartmentId: 'ocid1.compartment.oc1..cli', iotDomainGroupId: group.id, displayName: 'cli-second' });
    emu.advance('PT1S');

    const list = await cli('device', 'domains');
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(`* emulator-domain  (short id ${emu.domain.shortId}, ACTIVE)`);
    expect(list.stdout).toContain(`  cli-second  (short id ${domain.deviceHost!.split('.')[0]}, ACTIVE)`);
    expect(list.stdout).toContain(`deviceHost  ${domain.deviceHost}`);

    const run = await cli('device', 'create', '--name', 'in-second', '--domain', 'cli-second');
    expect(run.code).toBe(0);
    expect(/^ {2}host +(\S+)/m.exec(run.stdout)?.[1]).toBe(domain.deviceHost);
    const row = emu.sql(`select iot_domain_id from digital_twin_instances where display_name = 'in-second'`).rows[0];
    expect(row.iot_domain_id).toBe(domain.id);

    const unknown = await cli('device', 'create', '--domain', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--domain "nope" is no domain; the domains are: emulator-domain');
  });
});
