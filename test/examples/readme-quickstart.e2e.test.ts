/**
 * Runs the README's quick start as written: every block marked `<!-- quickstart -->`, in
 * one bash session, with curl and the mosquitto clients, against a running emulator.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestEmulator, until, type TestEmulator } from '../support/harness.js';

const root = resolve(dirname(new URL(import.meta.url).pathname), '../..');
const blocks = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/<!-- quickstart -->\s*```bash\n([\s\S]*?)```/g)].map(
  (m) => m[1],
);

let t: TestEmulator;
let work: string;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'oci-iot-quickstart-'));
  // The user's project directory: certs/ and data/ where `npm start` puts them, and the CLI
  // that `npx oci-iot-emulator` finds.
  t = await startTestEmulator({ certsDir: join(work, 'certs'), dataDir: join(work, 'data'), clock: 'system' });
  mkdirSync(join(work, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(join(root, 'dist', 'cli.js'), join(work, 'node_modules', '.bin', 'oci-iot-emulator'));
});
afterAll(async () => {
  await t.close();
  rmSync(work, { recursive: true, force: true });
});

it('the README quick start takes a command to COMPLETED with curl and mosquitto clients', async () => {
  expect(blocks).toHaveLength(5);
  const bash = spawn('bash', ['-s'], {
    cwd: work,
    env: { ...process.env, REST: `http://localhost:${t.emu.restPort}`, MQTT_PORT: String(t.emu.mqttPort) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  bash.stdout.on('data', (b: Buffer) => (out += b.toString()));
  bash.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((res) => bash.on('close', res));

  let step = 0;
  const run = async (block: string) => {
    const marker = `@@step-${++step}@@`;
    bash.stdin.write(`${block}\necho ${marker}\n`);
    await waitForOutput(marker);
  };
  const waitForOutput = (text: string) =>
    new Promise<void>((res, rej) => {
      const check = () => {
        if (out.includes(text)) return res(), true;
        return false;
      };
      if (check()) return;
      const onData = () => check() && bash.stdout.off('data', onData);
      bash.stdout.on('data', onData);
      bash.once('close', () => rej(new Error(`bash exited before "${text}"\nstdout:\n${out}\nstderr:\n${err}`)));
    });

  await run(blocks[0]);
  const [, instanceId, externalKey] = /instance (\S+), device user name (\S+)/.exec(out)!;
  expect(instanceId).toMatch(/^ocid1\.iotdigitaltwininstance\./);
  expect(externalKey).toBeTruthy();

  await run(blocks[1]);
  // The device is in the background: wait until its subscription is in place.
  let subscribed = false;
  await until(() => {
    void t.emu.devices.route(instanceId, '/endpoints/1234').then((r) => (subscribed = r.qos !== null));
    return subscribed;
  });

  await run(blocks[2]);
  await waitForOutput('{"temp":33}');
  const commandId = Number(/command: (\S+)/.exec(out)![1].split('/').pop());
  expect(t.command(commandId).delivery_status).toBe('SENT');

  await run(blocks[3]);
  await t.waitFor(commandId, 'COMPLETED');

  await run(blocks[4]);
  expect(out).toMatch(/COMPLETED\s+\| \{"temp":33\}\s+\| \{"test":1\}/);
  const ords = JSON.parse(out.split('\n').find((l) => l.startsWith('{"id"'))!);
  expect(ords).toMatchObject({ id: commandId, delivery_status: 'COMPLETED', response_data: '{"test":1}' });

  bash.stdin.write('kill %1 2>/dev/null; exit 0\n');
  expect(await exited).toBe(0);
  // mosquitto_pub logs in as the same device with its own client id, beside the background
  // mosquitto_sub: a device may hold several connections, one per client id, so nothing is lost.
  const errors = err.split('\n').filter((l) => l && !l.startsWith('npm warn'));
  expect(errors).toEqual([]);
});
