/**
 * Runs docs/test-control.md as written: every block marked
 * `<!-- test-control -->`, in one bash session with curl and the built CLI, against a
 * running emulator (manual clock); and checks that the programmatic example shown there is
 * test/examples/test-control.test.ts, word for word.
 */
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestEmulator, until, type Device, type TestEmulator } from '../support/harness.js';

const root = resolve(dirname(new URL(import.meta.url).pathname), '../..');
const section = readFileSync(join(root, 'docs/test-control.md'), 'utf8');
const blocks = [...section.matchAll(/<!-- test-control -->\s*```bash\n([\s\S]*?)```/g)].map((m) => m[1]);

let t: TestEmulator;
let work: string;
let device: Device;
let receiver: Server;
const hooked: Array<{ signature: string; raw: string }> = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'oci-iot-readme-tc-'));
  t = await startTestEmulator();
  device = await t.createDevice({ displayName: 'room' });
  mkdirSync(join(work, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(join(root, 'dist', 'cli.js'), join(work, 'node_modules', '.bin', 'oci-iot-emulator'));
  receiver = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      hooked.push({ signature: String(req.headers['x-emulator-signature']), raw });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
});
afterAll(async () => {
  receiver?.close();
  await t?.close();
  rmSync(work, { recursive: true, force: true });
});

it('the programmatic example in docs/test-control.md is test/examples/test-control.test.ts, word for word', () => {
  const example = readFileSync(join(root, 'test/examples/test-control.test.ts'), 'utf8');
  const shown = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  expect(shown).toBe(example.slice(example.indexOf('import { createHmac }')));
});

it('the docs/test-control.md blocks work as written: faults, a virtual device, a webhook, the CLI', async () => {
  expect(blocks).toHaveLength(3);
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const bash = spawn('bash', ['-s'], {
    cwd: work,
    env: { ...process.env, REST: t.emu.restUrl, INSTANCE_ID: device.instanceId, HOOK: hook },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  bash.stdout.on('data', (b: Buffer) => (out += b.toString()));
  bash.stderr.on('data', (b: Buffer) => (err += b.toString()));
  let step = 0;
  const run = (block: string) =>
    new Promise<string>((res, rej) => {
      const marker = `@@step-${++step}@@`;
      const from = out.length;
      bash.stdin.write(`${block}\necho ${marker}\n`);
      const check = () => {
        const at = out.indexOf(marker, from);
        if (at < 0) return false;
        bash.stdout.off('data', check);
        res(out.slice(from, at));
        return true;
      };
      if (!check()) bash.stdout.on('data', check);
      bash.once('close', () => rej(new Error(`bash exited\nstdout:\n${out}\nstderr:\n${err}`)));
    });

  // 1. Faults: the throttled call answers 429 with retry-after; the list shows both; clear ends them.
  const faults = await run(blocks[0]);
  expect(faults).toMatch(/^HTTP\/1\.1 429/m);
  expect(faults).toMatch(/^retry-after: 2\r?$/im);
  const lines = faults.split('\n').filter((l) => l.startsWith('{'));
  expect(JSON.parse(lines[0])).toMatchObject({ scope: 'device', kind: 'drop', remaining: 2, active: true });
  expect(JSON.parse(lines[1])).toMatchObject({ scope: 'api', operation: 'InvokeRawCommand', kind: 'throttle', retryAfter: 2 });
  const listed = JSON.parse(lines[2]).items;
  expect(listed.map((f: { kind: string; applied: number }) => [f.kind, f.applied])).toEqual([['drop', 0], ['throttle', 1]]);
  expect(JSON.parse(lines[3]).items.map((f: { kind: string }) => f.kind)).toEqual(['drop']); // the throttle was used up already
  expect(t.emu.faults.list().every((f) => !f.active)).toBe(true);

  // 2. The virtual device answers with jq after 1 s, publishes telemetry every 10 s; the webhook hears it all.
  const created = (await run(blocks[1])).split('\n').filter((l) => l.startsWith('{'));
  const vd = JSON.parse(created[0]);
  expect(vd).toMatchObject({ instanceId: device.instanceId, running: true });
  expect(JSON.parse(created[1])).toMatchObject({ url: hook, events: ['command', 'telemetry'] });
  await t.emu.virtualDevices.ready(vd.id);
  const id = await t.invoke(device.instanceId, { requestDataFormat: 'JSON', requestEndpoint: 'cmd/setpoint', requestData: { setpoint: 19 }, responseEndpoint: 'rsp/setpoint' });
  t.advance(1_000);
  expect((await t.waitFor(id, 'COMPLETED')).response_data).toBe('{"applied":19}');
  t.advance(10_000);
  await until(() => hooked.some((h) => h.raw.includes('"event":"telemetry"')));
  const telemetry = JSON.parse(hooked.find((h) => h.raw.includes('"event":"telemetry"'))!.raw);
  expect(telemetry.data).toMatchObject({ instanceId: device.instanceId, endpoint: 'telemetry/room' });
  expect(Object.keys(JSON.parse(telemetry.data.content))).toEqual(['temperature', 'humidity']);
  await until(() => hooked.filter((h) => h.raw.includes('command.transition')).length === 3);
  for (const h of hooked) expect(h.signature).toBe(`sha256=${createHmac('sha256', 'change-me-please').update(h.raw).digest('hex')}`);

  // 3. The CLI.
  const cli = await run(blocks[2]);
  expect(cli).toContain('"kind": "refuseLogin"');
  expect(cli).toContain(`"id": "${vd.id}"`);
  expect(t.emu.faults.list().filter((f) => f.kind === 'refuseLogin').map((f) => f.active)).toEqual([false]);

  bash.stdin.write('exit 0\n');
  expect(err.split('\n').filter((l) => l && !l.startsWith('npm warn'))).toEqual([]);
});
