/**
 * The web console in a real browser (Debian's chromium, driven by playwright-core): what a
 * person giving a demo does, from creating a device to reading the command back in SQL.
 * One browser launch; every wait is on the DOM or on an MQTT event, never on a timer.
 */
import { mkdirSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startEmulator, type StartedEmulator } from '../../src/programmatic.js';

const SCREENSHOTS = 'test-output/screenshots';
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

let emulator: StartedEmulator;
let browser: Browser;
let device: MqttClient | undefined;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  [emulator, browser] = await Promise.all([startEmulator(), chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })]);
});

afterAll(async () => {
  await device?.endAsync(true);
  await browser?.close();
  await emulator?.close();
});

const shot = (page: Page, name: string) => page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, fullPage: true });

it('creates a device, invokes a command from the form, watches it reach COMPLETED live and finds it in SQL', async () => {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  // A failed wait then names the element it waited for, well before the test's own timeout.
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  // Failed requests are checked one by one below; the browser also logs each as a console error.
  page.on('console', (msg) => void (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource') && problems.push(`console error: ${msg.text()}`)));
  const fetched: string[] = [];
  const failed: string[] = [];
  page.on('request', (req) => fetched.push(`${req.method()} ${new URL(req.url()).pathname}`));
  page.on('response', (res) => void (res.status() >= 400 && failed.push(`${res.status()} ${res.request().method()} ${new URL(res.url()).pathname}`)));

  // Domain panel: where devices and back-ends connect.
  await page.goto(emulator.consoleUrl);
  await page.locator('#live[data-state="live"]').waitFor();
  const domain = page.locator('#domain-info');
  await domain.locator('[data-field="mqttPort"]', { hasText: String(emulator.mqttPort) }).waitFor();
  expect(await domain.locator('[data-field="deviceHost"]').textContent()).toBe(emulator.domain.deviceHost);
  expect(await domain.locator('[data-field="apiBaseUrl"]').textContent()).toBe(`${emulator.restUrl}/20250531`);
  expect(await domain.locator('[data-field="domainId"]').textContent()).toBe(emulator.domain.id);
  expect(await domain.locator('[data-field="wssUrl"]').textContent()).toBe(emulator.wssUrl);
  expect(await domain.locator('[data-field="httpsUrl"]').textContent()).toBe(emulator.httpsUrl);
  const caLink = page.getByRole('link', { name: 'Download CA certificate' });
  const ca = await (await fetch(new URL((await caLink.getAttribute('href'))!, emulator.restUrl))).text();
  expect(ca).toBe(emulator.ca);
  await shot(page, '1-domain');

  // Devices: create one in one step and read its credentials off the page.
  await page.getByRole('link', { name: 'Devices' }).click();
  await page.getByLabel('Display name').fill('thermostat-1');
  await page.getByRole('button', { name: 'Create device' }).click();
  const card = page.locator('#new-device');
  await card.waitFor();
  const read = async (field: string) => (await card.locator(`[data-field="${field}"]`).textContent())!;
  const [username, password, host, port] = [await read('username'), await read('password'), await read('host'), await read('port')];
  expect(username).toMatch(/^[a-z2-7]{24}$/);
  expect(password.length).toBeGreaterThanOrEqual(16);
  expect(await page.locator('#mosquitto-sub').textContent()).toBe(
    `mosquitto_sub -h ${host} -p ${port} --cafile ${emulator.caFile} -V mqttv311 -u ${username} -P ${password} -i ${username} -q 1 -t '#' -v`,
  );

  // An MQTT.js device logs in with exactly what the page showed, and the list shows it live.
  device = await mqtt.connectAsync({ host, port: Number(port), protocol: 'mqtts', ca, username, password, clientId: 'thermostat-1', protocolVersion: 4, reconnectPeriod: 0 });
  const command = new Promise<Buffer>((resolve) => device!.once('message', (_topic, payload) => resolve(payload)));
  await device.subscribeAsync('/endpoints/1234', { qos: 1 });
  const row = page.locator('#devices tbody tr', { hasText: 'thermostat-1' });
  await row.locator('[data-col="status"]', { hasText: 'online' }).waitFor();
  await row.locator('[data-col="client"]', { hasText: 'thermostat-1 MQTTS, clean session' }).waitFor();
  await row.locator('[data-col="subscriptions"]', { hasText: '/endpoints/1234 QoS 1' }).waitFor();
  await shot(page, '2-devices');

  // Commands: the form holds the seed's command.json; invoke it on the new device.
  await page.getByRole('link', { name: 'Commands' }).click();
  const instanceId = await row.getAttribute('data-instance-id');
  expect(await page.getByLabel('Device', { exact: true }).inputValue()).toBe(instanceId);
  expect(JSON.parse(await page.getByLabel('Command JSON').inputValue())).toEqual({
    requestDataFormat: 'JSON',
    requestEndpoint: '/endpoints/1234',
    requestDuration: 'PT3M',
    requestData: { temp: 33 },
    responseEndpoint: '/endpoints/4321',
    responseDuration: 'PT3M',
  });
  await page.getByRole('button', { name: 'Invoke command' }).click();
  const accepted = page.locator('#invoke-result', { hasText: '202 Accepted: command' });
  await accepted.waitFor();
  const id = Number((await accepted.textContent())!.split(' ').pop());

  // The device has it and has not answered yet: the row says SENT.
  expect(JSON.parse((await command).toString())).toEqual({ temp: 33 });
  const commandRow = (state: string) => page.locator(`#commands tr[data-command-id="${id}"][data-state="${state}"]`);
  await commandRow('SENT').waitFor();
  await shot(page, '3-commands-sent');

  // The device answers on the response endpoint; the same row turns COMPLETED without a reload.
  await device.publishAsync('/endpoints/4321', '{"test":1}', { qos: 1 });
  const done = commandRow('COMPLETED');
  await done.waitFor();
  expect(await done.locator('[data-col="trail"]').textContent()).toContain('PENDING → SENT → COMPLETED');
  expect(await done.locator('[data-col="response"] pre').textContent()).toBe('{"test":1}');
  expect(await done.locator('[data-col="request"] pre').textContent()).toBe('{"temp":33}');
  expect(await done.locator('[data-col="finished"]').textContent()).toMatch(/^\+\d/);
  await shot(page, '4-commands-completed');

  // SQL workshop: the row is in raw_command_data; a write is refused and says so.
  await page.getByRole('link', { name: 'SQL workshop' }).click();
  const sql = page.getByLabel('SQL query');
  await sql.fill(`select id, delivery_status, response_data from raw_command_data where id = ${id}`);
  await page.getByRole('button', { name: 'Run query' }).click();
  await page.locator('#sql-summary', { hasText: '1 row' }).waitFor();
  expect(await page.locator('#sql-result thead th').allTextContents()).toEqual(['id', 'delivery_status', 'response_data']);
  expect(await page.locator('#sql-result tbody td').allTextContents()).toEqual([String(id), 'COMPLETED', '{"test":1}']);
  await shot(page, '5-sql');

  await sql.fill(`delete from raw_command_data where id = ${id}`);
  await page.getByRole('button', { name: 'Run query' }).click();
  const refusal = page.getByRole('alert').filter({ hasText: 'read-only' });
  await refusal.waitFor();
  expect(await refusal.textContent()).toMatch(/^InvalidParameter: the sql command is read-only/);
  expect(await page.locator('#sql-result tbody tr').count()).toBe(0);
  await shot(page, '6-sql-write-refused');
  expect(emulator.command(id)?.delivery_status).toBe('COMPLETED');

  // Live means pushed: the lists came over the event stream, never by asking again.
  expect(fetched.filter((r) => r.startsWith('GET /emulator/commands') || r.startsWith('GET /emulator/devices'))).toEqual([]);
  expect(fetched.filter((r) => r === 'GET /emulator/events')).toHaveLength(1);
  expect(failed).toEqual(['400 POST /emulator/sql']); // the refused write, and nothing else
  expect(problems).toEqual([]);
}, 60_000);
