/** The engine's QoS 1 window (maxInFlight) alone: a fake broker, a manual clock, an in-memory database. */
import { beforeEach, describe, expect, it } from 'vitest';
import { manualClock, type ManualClock } from '../../src/clock.js';
import { createCommandEngine, type CommandEngine } from '../../src/commands/engine.js';
import { parseCommandRequest } from '../../src/commands/request.js';
import { openDatabase } from '../../src/store/database.js';
import { fakeDevices } from '../support/fake-devices.js';

const DEV = 'ocid1.iotdigitaltwininstance.oc1.test.a';
const defaults = { requestDuration: 'PT10M', responseDuration: 'PT10M' };
let clock: ManualClock;
let devices: ReturnType<typeof fakeDevices>;
let engine: CommandEngine;

const invoke = (body: Record<string, unknown> = {}) =>
  engine
    .invoke({
      instanceId: DEV,
      domainId: 'd',
      createdBy: 'test',
      request: parseCommandRequest({ requestDataFormat: 'TEXT', requestEndpoint: 'cmd', requestData: 'x', ...body }, defaults),
    })
    .then((r) => r.id);
const statuses = (ids: number[]) => ids.map((id) => engine.get(id)!.delivery_status);
/** Lets the engine's per-device flush (a promise chain) run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

beforeEach(() => {
  clock = manualClock(Date.parse('2030-01-01T00:00:00Z'));
  devices = fakeDevices();
  engine = createCommandEngine({ db: openDatabase(':memory:'), clock, devices: devices.port, maxInFlight: 2 });
  devices.set(DEV, { online: true, subscriptions: [{ topic: 'cmd', qos: 1 }] });
});

describe('QoS 1 window', () => {
  it('sends at most maxInFlight unacknowledged commands; a PUBACK lets the oldest waiting one go', async () => {
    const ids = [await invoke(), await invoke(), await invoke(), await invoke()];
    expect(statuses(ids)).toEqual(['SENT', 'SENT', 'PENDING', 'PENDING']);
    expect(devices.sent).toHaveLength(2);
    engine.signals.puback(DEV, 'c1', devices.sent[0].message.messageId!);
    await settle();
    expect(statuses(ids)).toEqual(['COMPLETED', 'SENT', 'SENT', 'PENDING']);
    expect(devices.sent.map((s) => s.message.messageId)).toHaveLength(3);
    expect(new Set(devices.sent.map((s) => s.message.messageId)).size).toBe(3);
  });

  it('an acknowledged two-way command awaiting its response no longer takes room', async () => {
    const twoWay = await invoke({ responseEndpoint: 'rsp' });
    const other = await invoke();
    const waiting = await invoke();
    expect(statuses([twoWay, other, waiting])).toEqual(['SENT', 'SENT', 'PENDING']);
    engine.signals.puback(DEV, 'c1', devices.sent[0].message.messageId!);
    await settle();
    expect(statuses([twoWay, other, waiting])).toEqual(['SENT', 'SENT', 'SENT']);
  });

  it('a command that leaves flight by its deadline makes room too', async () => {
    const ids = [await invoke({ requestDuration: 'PT1M' }), await invoke({ requestDuration: 'PT1M' }), await invoke()];
    clock.advance(60_000);
    await settle();
    expect(statuses(ids)).toEqual(['EXPIRED', 'EXPIRED', 'SENT']);
  });

  it('QoS 0 commands are not counted: there is nothing to acknowledge', async () => {
    devices.set(DEV, { subscriptions: [{ topic: 'cmd', qos: 0 }] });
    const ids = [await invoke(), await invoke(), await invoke()];
    expect(statuses(ids)).toEqual(['SENT', 'SENT', 'SENT']);
  });
});
