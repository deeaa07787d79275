/**
 * Retention, enforced: after changeDataRetentionPeriod, rows older than their domain's
 * period on the emulator's clock are purged (raw_data; raw_command_data only when the
 * command is finished, never PENDING or SENT), and nothing else.
 */
import { describe, expect, it } from 'vitest';
import type { TestEmulator } from '../support/harness.js';
import { provisionDevice, type SdkClients, sdkSuite } from './support.js';

const DAY = 86_400_000;

let t: TestEmulator;
let sdk: SdkClients;
sdkSuite((started) => {
  ({ t, sdk } = started);
});

const rawData = () => (t.emu.db.prepare('SELECT id, endpoint FROM raw_data ORDER BY id').all() as Array<{ id: number; endpoint: string }>).map((r) => r.endpoint);
const commands = () =>
  (t.emu.db.prepare('SELECT request_endpoint, delivery_status FROM raw_command_data ORDER BY id').all() as Array<{ request_endpoint: string; delivery_status: string }>).map(
    (r) => `${r.request_endpoint}:${r.delivery_status}`,
  );
const eventsOf = (endpoint: string) =>
  (t.emu.db.prepare('SELECT count(*) AS n FROM command_events e JOIN commands c ON c.id = e.command_id WHERE c.request_endpoint = ?').get(endpoint) as { n: number }).n;

/** Moves the clock and waits for the retention pass it starts. */
async function advanceAndPurge(ms: number) {
  t.advance(ms);
  return t.emu.control.purge.settled();
}

describe('the retention purge', () => {
  it('deletes exactly the rows older than each data type’s period, and never an unfinished command', async () => {
    const change = await sdk.iot.changeIotDomainDataRetentionPeriod({
      iotDomainId: t.emu.domain.id,
      changeIotDomainDataRetentionPeriodDetails: { type: 'RAW_DATA' as never, dataRetentionPeriodInDays: 20 },
    });
    t.advance(1000);
    expect((await sdk.iot.getWorkRequest({ workRequestId: change.opcWorkRequestId })).workRequest.status).toBe('SUCCEEDED');

    // Day 0: one device publishes, completes a one-way command, leaves a two-way one SENT and,
    // once offline with a persistent session, gets a PENDING one.
    const old = await provisionDevice(sdk, t.emu.domain.id);
    const d = await t.connect({ ...old }, { clientId: 'old', clean: false, subscribe: [['cmd/#', 1]] });
    await d.client.publishAsync('day0/telemetry', 'x', { qos: 1 });
    const done = await t.invoke(old.instanceId, { requestDataFormat: 'TEXT', requestEndpoint: 'cmd/done', requestData: 'a' });
    await t.waitFor(done, 'COMPLETED');
    const sent = await t.invoke(old.instanceId, { requestDataFormat: 'TEXT', requestEndpoint: 'cmd/sent', requestData: 'b', responseEndpoint: 'rsp/sent', responseDuration: 'P30D' });
    await t.waitFor(sent, 'SENT');
    await d.close();
    const pending = await t.invoke(old.instanceId, { requestDataFormat: 'TEXT', requestEndpoint: 'cmd/pending', requestData: 'c', requestDuration: 'P30D' });
    expect(t.command(pending).delivery_status).toBe('PENDING');
    expect(eventsOf('cmd/done')).toBeGreaterThan(0);

    // Day 10: another device adds newer rows.
    await advanceAndPurge(10 * DAY);
    const young = await provisionDevice(sdk, t.emu.domain.id);
    const y = await t.connect(young, { clientId: 'young', subscribe: [['cmd/#', 1]] });
    await y.client.publishAsync('day10/telemetry', 'y', { qos: 1 });
    await t.waitFor(await t.invoke(young.instanceId, { requestDataFormat: 'TEXT', requestEndpoint: 'cmd/young', requestData: 'd' }), 'COMPLETED');
    await y.close();
    expect(rawData()).toEqual(['day0/telemetry', 'day10/telemetry']);

    // Day 16 and a bit: finished commands of day 0 are past 16 days; raw data (20 days) is not.
    const report = await advanceAndPurge(6 * DAY + 1000);
    expect(report?.deleted).toEqual({ RAW_COMMAND_DATA: 1 });
    expect(commands()).toEqual(['cmd/sent:SENT', 'cmd/pending:PENDING', 'cmd/young:COMPLETED']);
    expect(eventsOf('cmd/done')).toBe(0);
    expect(rawData()).toEqual(['day0/telemetry', 'day10/telemetry']);

    // Day 20 and a bit: day 0's raw data goes; day 10's stays.
    expect((await advanceAndPurge(4 * DAY))?.deleted).toEqual({ RAW_DATA: 1 });
    expect(rawData()).toEqual(['day10/telemetry']);
    expect(commands()).toEqual(['cmd/sent:SENT', 'cmd/pending:PENDING', 'cmd/young:COMPLETED']);
  });

  it('purges a large backlog in small batches, letting the event loop run between them', async () => {
    const device = await provisionDevice(sdk, t.emu.domain.id);
    const insert = t.emu.db.prepare('INSERT INTO raw_data (digital_twin_instance_id, endpoint, content_type, content, time_received) VALUES (?, ?, ?, ?, ?)');
    const longAgo = new Date(t.emu.clock.now() - 100 * DAY).toISOString();
    t.emu.db.transaction(() => {
      for (let i = 0; i < 1234; i++) insert.run(device.instanceId, 'backlog', 'text/plain', null, longAgo);
    })();
    let turns = 0;
    const counting = setInterval(() => turns++, 0);
    const report = await advanceAndPurge(60_000);
    clearInterval(counting);
    expect(report?.deleted.RAW_DATA).toBe(1234);
    expect(report!.batches).toBeGreaterThanOrEqual(3);
    expect(turns).toBeGreaterThan(0);
    expect(rawData()).not.toContain('backlog');
  });
});
