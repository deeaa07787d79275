/**
 * The built package as a user's test suite imports it (`dist/index.js`, in a Node process
 * of its own): the parts it loads only on first use come from dist/on-demand/ (MQTT.js for
 * virtual devices, @fastify/swagger for /docs), and HEAD requests are answered.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;

const SCRIPT = `
import { createRequire } from 'node:module';
import { startEmulator } from './dist/index.js';
const emu = await startEmulator();
try {
  const device = await emu.createDevice();
  emu.virtualDevices.create({ instanceId: device.instanceId, response: { kind: 'json', value: { ok: true } } });
  // Commanded once its MQTT.js client has connected and subscribed.
  for (const until = Date.now() + 20_000; Date.now() < until; ) {
    const route = await emu.devices.route(device.instanceId, 'cmd/x');
    if (route.online && route.qos !== null) break;
    await new Promise((r) => setImmediate(r));
  }
  const id = await emu.invoke(device.instanceId, { requestDataFormat: 'JSON', requestEndpoint: 'cmd/x', requestData: { a: 1 }, responseEndpoint: 'rsp/x' });
  const row = await emu.waitForCommand(id, 'COMPLETED');
  const docs = await (await fetch(emu.restUrl + '/docs/json')).json();
  const head = await fetch(emu.restUrl + '/20250531/iotDomains/' + emu.domain.id, { method: 'HEAD' });
  const onDemand = Object.keys(createRequire(import.meta.url).cache).filter((f) => f.includes('/dist/on-demand/')).map((f) => f.split('/').pop()).sort();
  console.log(JSON.stringify({ response: row.response_data, openapi: docs.openapi, paths: Object.keys(docs.paths).length, head: head.status, onDemand }));
} finally {
  await emu.close();
}
`;

describe('the built package (dist/index.js)', () => {
  it('runs a virtual device (MQTT.js from dist/on-demand), serves /docs (@fastify/swagger from dist/on-demand) and answers HEAD', () => {
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', SCRIPT], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout.trim().split('\n').pop()!);
    expect(out).toMatchObject({ response: '{"ok":true}', openapi: '3.1.0', head: 200, onDemand: ['mqtt.cjs', 'swagger.cjs'] });
    expect(out.paths).toBeGreaterThan(20);
  });
});
