/**
 * `npx oci-iot-emulator demo` as a person runs it: the built CLI in a child process, then
 * the console link it prints, opened in Debian's chromium. The live console shows the
 * virtual devices' traffic and their commands completing; screenshots are kept in
 * test-output/screenshots/. Every wait is on the page's DOM or the process's output.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';

vi.setConfig({ testTimeout: 90_000, hookTimeout: 60_000 });
const root = resolve(dirname(new URL(import.meta.url).pathname), '../..');
const SCREENSHOTS = join(root, 'test-output/screenshots');

let child: ChildProcess;
let browser: Browser;
let out = '';
const dir = mkdtempSync(join(tmpdir(), 'oci-iot-demo-test-'));

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  child = spawn(process.execPath, [join(root, 'dist', 'cli.js'), 'demo', '--rest-port', '0', '--mqtt-port', '0', '--https-port', '0', '--certs-dir', join(dir, 'certs'), '--log-level', 'silent'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OCI_IOT_'))),
  });
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  await new Promise<void>((ready, fail) => {
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('Ctrl+C stops it.')) ready();
    });
    child.once('exit', (code) => fail(new Error(`demo exited ${code}:\n${out}`)));
  });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
});

afterAll(async () => {
  await browser?.close();
  if (child && child.exitCode === null) {
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
  }
  rmSync(dir, { recursive: true, force: true });
});

it('prints what to open; the console shows virtual devices answering commands and publishing telemetry, live', async () => {
  const consoleUrl = /Open the console:\s+(\S+)/.exec(out)![1];
  expect(consoleUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/console\/$/);
  for (const name of ['thermostat', 'pump', 'door sensor']) expect(out).toMatch(new RegExp(`${name}\\s+ocid1\\.iotdigitaltwininstance\\.`));
  expect(out).toContain('/actions/invokeRawCommand');

  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  page.setDefaultTimeout(30_000);
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));

  await page.goto(`${consoleUrl}#control`);
  await page.locator('#live[data-state="live"]').waitFor();
  const vds = page.locator('#virtual-devices tbody tr');
  await vds.nth(2).waitFor();
  await page.locator('#virtual-devices [data-col="status"]', { hasText: 'connected' }).nth(2).waitFor();
  // Traffic arrives live: telemetry from the generators, a command, and the device's answer.
  await page.locator('#vd-traffic tr[data-kind="telemetry"]').first().waitFor();
  await page.locator('#vd-traffic tr[data-kind="command"]').first().waitFor();
  await page.locator('#vd-traffic tr[data-kind="response"]').first().waitFor();
  const telemetry = await page.locator('#vd-traffic tr[data-kind="telemetry"] pre').first().textContent();
  expect(Object.keys(JSON.parse(telemetry!)).length).toBeGreaterThan(0);
  await page.screenshot({ path: join(SCREENSHOTS, 'demo-test-control.png'), fullPage: true });

  await page.getByRole('link', { name: 'Commands' }).click();
  await page.locator('#commands tr[data-state="COMPLETED"]').first().waitFor();
  await page.screenshot({ path: join(SCREENSHOTS, 'demo-commands.png'), fullPage: true });
  expect(problems).toEqual([]);
});

it("a device's page shows its model's values and a chart, with no step but opening it", async () => {
  const consoleUrl = /Open the console:\s+(\S+)/.exec(out)![1];
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.setDefaultTimeout(30_000);
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(err.message));
  await page.goto(`${consoleUrl}#devices`);
  await page.locator('#devices tr', { hasText: 'thermostat' }).locator('[data-col="twin"] a').click();
  const twin = page.locator('#view-twin');
  await twin.locator('[data-field="specUri"]', { hasText: 'dtmi:example:demo:thermostat;1' }).waitFor();
  // Values the virtual device published, mapped by the model's adapter; the chart drawn with at least two points.
  await twin.locator('tr[data-path="temperature"] [data-col="value"] code').waitFor();
  await twin.locator('tr[data-path="humidity"] [data-col="value"] code').waitFor();
  await page.locator('#twin-chart canvas').waitFor();
  await page.waitForFunction("Number(document.querySelector('#twin-chart').dataset.points) >= 2");
  expect(await page.getByLabel('Property to chart').inputValue()).toBe('temperature');
  expect(await twin.locator('#twin-no-model').isHidden()).toBe(true);
  await page.screenshot({ path: join(SCREENSHOTS, 'demo-device-twin.png'), fullPage: true });
  expect(problems).toEqual([]);
});

it('the Commands page starts on an online device with a topic it subscribes to: the first invoke is delivered and answered', async () => {
  const consoleUrl = /Open the console:\s+(\S+)/.exec(out)![1];
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.setDefaultTimeout(30_000);
  await page.goto(`${consoleUrl}#commands`);
  await page.locator('#live[data-state="live"]').waitFor();
  const device = page.getByLabel('Device', { exact: true });
  await device.locator('option:checked', { hasText: '(online)' }).waitFor({ state: 'attached' });
  const body = JSON.parse(await page.getByLabel('Command JSON').inputValue()) as { requestEndpoint: string };
  expect(body.requestEndpoint).toBe('cmd/command');
  await page.getByRole('button', { name: 'Invoke command' }).click();
  const result = await page.locator('#invoke-result.ok').textContent();
  const id = /command (\d+)/.exec(result!)![1];
  // Not REFUSED: sent to the device, which answers on the responseEndpoint.
  await page.locator(`#commands tr[data-command-id="${id}"][data-state="COMPLETED"]`).waitFor();
});

it('at 420 px wide every view is reachable: the navigation wraps instead of clipping Test control', async () => {
  const consoleUrl = /Open the console:\s+(\S+)/.exec(out)![1];
  const page = await browser.newPage({ viewport: { width: 420, height: 860 } });
  page.setDefaultTimeout(30_000);
  await page.goto(consoleUrl);
  for (const name of ['Domain', 'Devices', 'Commands', 'SQL workshop', 'Test control']) {
    const box = (await page.getByRole('link', { name, exact: true }).boundingBox())!;
    expect(box.x, name).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width, name).toBeLessThanOrEqual(420);
  }
  // Nothing wider than the screen makes the page itself scroll sideways.
  expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(420);
  await page.getByRole('link', { name: 'Test control' }).click();
  await page.locator('#view-control').waitFor();
  await page.locator('#virtual-devices tbody tr').nth(2).waitFor();
  expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(420);
  await page.screenshot({ path: join(SCREENSHOTS, 'demo-420px-test-control.png'), fullPage: true });
});
