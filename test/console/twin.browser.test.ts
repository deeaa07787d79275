/**
 * The console's device page in a real browser (Debian's chromium, playwright-core): a
 * device with Oracle's M5 model and adapter publishes over MQTTS; the page shows the
 * model's properties with their snapshot values, updates them live when the next message
 * arrives, and charts one property's historized values with uPlot (served from
 * node_modules). Every wait is on the DOM or an MQTT acknowledgement, never on a timer.
 */
import { mkdirSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { inboundEnvelope, inboundRoutes, model } from '../../examples/telemetry/m5-env.js';
import { startEmulator, type StartedEmulator } from '../../src/programmatic.js';

const SCREENSHOTS = 'test-output/screenshots';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

let emulator: StartedEmulator;
let browser: Browser;
let device: MqttClient | undefined;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  [emulator, browser] = await Promise.all([startEmulator(), chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS })]);
});
afterAll(async () => {
  await device?.endAsync(true);
  await browser?.close();
  await emulator?.close();
});

async function rest(method: string, path: string, body: unknown) {
  const res = await fetch(`${emulator.restUrl}${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json();
  if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json as { id: string };
}

it("shows a device's model, its snapshot values live and a chart of one property's history", async () => {
  const iotDomainId = emulator.domain.id;
  const m = await rest('POST', '/20250531/digitalTwinModels', { iotDomainId, spec: model });
  const adapter = await rest('POST', '/20250531/digitalTwinAdapters', { iotDomainId, digitalTwinModelId: m.id, inboundEnvelope, inboundRoutes });
  const created = await emulator.createDevice({ displayName: 'm5-env-01' });
  await rest('PUT', `/20250531/digitalTwinInstances/${created.instanceId}`, { digitalTwinAdapterId: adapter.id });
  device = await mqtt.connectAsync(created.mqttOptions);
  const start = Date.parse('2026-01-01T10:00:00Z');
  const send = (minute: number, humidity: number) =>
    device!.publishAsync('iot/v1/telemetry', JSON.stringify({ sht_temperature: 21 + minute / 10, qmp_temperature: 21.5, humidity, pressure: 1012, count: minute, time: (start + minute * 60_000) * 1000 }), { qos: 1 });
  for (const [minute, humidity] of [[0, 50], [1, 54], [2, 52], [3, 58]]) await send(minute, humidity);

  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => void (msg.type() === 'error' && problems.push(`console error: ${msg.text()}`)));

  await page.goto(emulator.consoleUrl + '#devices');
  await page.locator('#live[data-state="live"]').waitFor();
  await page.locator(`#devices tr[data-instance-id="${created.instanceId}"] [data-col="twin"] a`).click();
  const twin = page.locator('#view-twin');
  await twin.locator('[data-field="specUri"]', { hasText: model['@id'] }).waitFor();
  const value = (path: string) => twin.locator(`tr[data-path="${path}"] [data-col="value"]`);
  await value('humidity').filter({ hasText: '58' }).waitFor();
  expect(await value('count').textContent()).toBe('3');
  expect(await value('system').textContent()).toBe('—');
  expect(await twin.locator('tr[data-path="humidity"] [data-col="time"]').textContent()).toBe('2026-01-01T10:03:00.000000Z');

  // The chart: historized values of the chosen property, drawn by uPlot on a canvas.
  await page.getByLabel('Property to chart').selectOption('humidity');
  await page.locator('#twin-chart[data-points="4"] canvas').waitFor();

  // Live: the next message updates the value and the chart without a reload.
  await send(4, 61);
  await value('humidity').filter({ hasText: '61' }).waitFor();
  await page.locator('#twin-chart[data-points="5"] canvas').waitFor();
  await page.screenshot({ path: `${SCREENSHOTS}/6-device-twin.png`, fullPage: true });
  expect(problems).toEqual([]);
});
