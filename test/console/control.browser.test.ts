/**
 * The console's Test control view in Debian's chromium: add a virtual device to a device
 * with the form, watch its traffic arrive live, set and clear a fault, register a webhook.
 * Waits are on the DOM; time moves with the manual clock.
 */
import { mkdirSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startEmulator, type StartedEmulator } from '../../src/programmatic.js';

const SCREENSHOTS = 'test-output/screenshots';
let emulator: StartedEmulator;
let browser: Browser;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  [emulator, browser] = await Promise.all([
    startEmulator(),
    chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] }),
  ]);
});
afterAll(async () => {
  await browser?.close();
  await emulator?.close();
});

it('adds a virtual device with the form; its command, answer and telemetry show up live; faults and webhooks are listed', async () => {
  const device = await emulator.createDevice({ displayName: 'boiler' });
  const page = await browser.newPage({ viewport: { width: 1440, height: 1100 } });
  page.setDefaultTimeout(15_000);
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto(`${emulator.consoleUrl}#control`);

  const form = page.locator('#vd-form');
  await form.locator('select[name="instance"] option', { hasText: 'boiler' }).waitFor({ state: 'attached' });
  await form.getByLabel('Answer', { exact: true }).selectOption('jq');
  await form.getByLabel('Answer JSON or jq').fill('{ok: true, got: .temp}');
  await form.getByLabel('Telemetry topic').fill('telemetry/boiler');
  await form.getByLabel('Telemetry every').fill('PT10S');
  await form.getByLabel('Telemetry values').fill('{"pressure": {"kind": "ramp", "start": 1, "step": 0.5}}');
  await form.getByRole('button', { name: 'Add virtual device' }).click();
  await page.locator('#virtual-devices [data-col="status"]', { hasText: 'connected' }).waitFor();

  // Wait until the broker has its subscription, then send it a command.
  for (;;) {
    const route = await emulator.devices.route(device.instanceId, 'cmd/x');
    if (route.online && route.qos !== null) break;
    await new Promise((r) => setImmediate(r));
  }
  const id = await emulator.invoke(device.instanceId, { requestDataFormat: 'JSON', requestEndpoint: 'cmd/x', requestData: { temp: 70 }, responseEndpoint: 'rsp/x' });
  expect((await emulator.waitForCommand(id, 'COMPLETED')).response_data).toBe('{"ok":true,"got":70}');
  await page.locator('#vd-traffic tr[data-kind="response"] pre', { hasText: '{"ok":true,"got":70}' }).waitFor();
  emulator.advance('PT10S');
  await page.locator('#vd-traffic tr[data-kind="telemetry"] pre', { hasText: '{"pressure":1.5}' }).waitFor();
  await page.locator('#virtual-devices [data-col="counts"]', { hasText: '1 commands · 1 responses · 1 telemetry' }).waitFor();

  // A fault set in the form shows in the list and clears from it.
  const faults = page.locator('#fault-form');
  await faults.getByLabel('Fault kind').selectOption('drop');
  await faults.getByLabel('Fault count').fill('2');
  await faults.getByRole('button', { name: 'Set fault' }).click();
  const fault = page.locator('#faults tr[data-active="true"]');
  await fault.waitFor();
  expect(await fault.textContent()).toContain('boiler');
  await fault.getByRole('button', { name: 'Clear' }).click();
  await page.locator('#faults tr[data-active="false"]').waitFor();

  // An API fault, beside the device faults: the next invoke answers 429 as OCI's throttling does.
  const apiFaults = page.locator('#api-fault-form');
  await apiFaults.locator('select[name="operation"] option[value="InvokeRawCommand"]').waitFor({ state: 'attached' });
  await apiFaults.getByLabel('API fault on operation').selectOption('InvokeRawCommand');
  await apiFaults.getByLabel('API fault kind').selectOption('throttle');
  await apiFaults.getByLabel('API fault count').fill('1');
  await apiFaults.getByRole('button', { name: 'Set API fault' }).click();
  const apiFault = page.locator('#faults tr[data-active="true"]', { hasText: 'API InvokeRawCommand' });
  await apiFault.waitFor();
  expect(await apiFault.textContent()).toContain('throttle');
  await expect(emulator.invoke(device.instanceId, { requestDataFormat: 'TEXT', requestEndpoint: 'cmd/x', requestData: 'x' })).rejects.toThrow(/^invokeRawCommand failed: 429 TooManyRequests/);

  // A webhook to a receiver that is not there: its failed attempt shows up live.
  await page.getByLabel('Webhook URL').fill('http://127.0.0.1:9/hook');
  await page.getByRole('button', { name: 'Add webhook' }).click();
  await page.locator('#webhooks tbody tr').waitFor();
  await emulator.invoke(device.instanceId, { requestDataFormat: 'TEXT', requestEndpoint: 'nowhere', requestData: 'x' });
  await page.locator('#webhook-attempts tr[data-ok="false"]').first().waitFor();
  await page.screenshot({ path: `${SCREENSHOTS}/5-test-control.png`, fullPage: true });

  // Remove asks first: dismissed, nothing is deleted; accepted, the webhook and the virtual device go.
  const asked: string[] = [];
  let answer = false;
  page.on('dialog', (dialog) => {
    asked.push(`${dialog.type()}: ${dialog.message()}`);
    void (answer ? dialog.accept() : dialog.dismiss());
  });
  await page.locator('#webhooks tbody tr').getByRole('button', { name: 'Remove' }).click();
  await page.locator('#virtual-devices tbody tr').getByRole('button', { name: 'Remove' }).click();
  expect(asked).toEqual([
    'confirm: Remove the webhook http://127.0.0.1:9/hook? Deliveries not yet made are dropped.',
    'confirm: Remove the virtual device of boiler? It disconnects and its settings are deleted; the device (its digital twin instance) stays.',
  ]);
  expect(emulator.webhooks.list()).toHaveLength(1);
  expect(emulator.virtualDevices.list()).toHaveLength(1);
  answer = true;
  await page.locator('#webhooks tbody tr').getByRole('button', { name: 'Remove' }).click();
  await page.locator('#webhooks').waitFor({ state: 'hidden' });
  await page.locator('#virtual-devices tbody tr').getByRole('button', { name: 'Remove' }).click();
  await page.locator('#no-virtual-devices').waitFor();
  expect(emulator.webhooks.list()).toHaveLength(0);
  expect(emulator.virtualDevices.list()).toHaveLength(0);
  expect(problems).toEqual([]);
});
