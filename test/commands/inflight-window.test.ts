/** The engine's QoS 1 window (maxInFlight) alone: a fake broker, a manual clock, an in-memory database. */
import { beforeEach, describe, expect, it } from 'vitest';
import { DEV, engineFixture, settle, type EngineFixture } from '../support/engine-fixture.js';

let { clock, devices, engine, invoke } = {} as EngineFixture;
const statuses = (ids: number[]) => ids.map((id) => engine.get(id)!.delivery_status);

beforeEach(() => {
  ({ clock, devices, engine, invoke } = engineFixture({ maxInFlight: 2, command: { requestDataFormat: 'TEXT', requestEndpoint: 'cmd', requestData: 'x' } }));
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
