/** The state engine alone: a fake broker, a manual clock, an in-memory database. */
import { beforeEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock/clock.js';
import { createCommandEngine } from '../../src/commands/engine.js';
import { OciError } from '../../src/errors.js';
import { DEV, engineFixture, MIN, type EngineFixture } from '../support/engine-fixture.js';

let { db, clock, devices, engine, inbound, invoke, status, eventsOf } = {} as EngineFixture;
beforeEach(() => {
  ({ db, clock, devices, engine, inbound, invoke, status, eventsOf } = engineFixture());
});

describe('invoke decides at once', () => {
  it('refuses an unknown or offline device without a persistent session', async () => {
    const id = await invoke();
    expect(status(id)).toBe('REFUSED');
    expect(engine.get(id)!.next_deadline_ms).toBeNull();
    expect(devices.sent).toHaveLength(0);
  });

  it('refuses an online device whose subscriptions do not match', async () => {
    devices.set(DEV, { online: true, subscriptions: [{ topic: 'other/#', qos: 1 }] });
    expect(status(await invoke())).toBe('REFUSED');
  });

  it('keeps a command PENDING for an offline persistent session that matches', async () => {
    devices.set(DEV, { online: false, persistent: true, subscriptions: [{ topic: '+', qos: 1 }] });
    const id = await invoke();
    expect(status(id)).toBe('PENDING');
    expect(devices.sent).toHaveLength(0);
  });

  it('sends to an online subscribed device at the subscription QoS, capped at 1', async () => {
    devices.set(DEV, { online: true, subscriptions: [{ topic: 'cmd', qos: 2 }] });
    const id = await invoke();
    expect(status(id)).toBe('SENT');
    expect(devices.sent[0].message).toMatchObject({ topic: 'cmd', qos: 1, dup: false });
    expect(devices.sent[0].message.payload.toString()).toBe('{"a":1}');
    expect(eventsOf(id)).toEqual([
      { from: null, to: 'PENDING' },
      { from: 'PENDING', to: 'SENT' },
    ]);
  });
});

describe('delivery and deadlines', () => {
  it('delivers PENDING commands oldest first when the device comes back, before their deadline', async () => {
    devices.set(DEV, { online: false, persistent: true, subscriptions: [{ topic: 'cmd', qos: 1 }] });
    const a = await invoke({ requestData: { n: 1 } });
    const b = await invoke({ requestData: { n: 2 } });
    clock.advance(5 * MIN);
    devices.set(DEV, { online: true });
    await engine.signals.deviceReady(DEV, { clientId: 'c1', clean: false });
    expect(devices.sent.map((s) => s.message.payload.toString())).toEqual(['{"n":1}', '{"n":2}']);
    expect([status(a), status(b)]).toEqual(['SENT', 'SENT']);
  });

  it('expires PENDING commands at time_created + requestDuration, in deadline order', async () => {
    devices.set(DEV, { online: false, persistent: true, subscriptions: [{ topic: 'cmd', qos: 1 }] });
    const late = await invoke({ requestDuration: 'PT5M' });
    const early = await invoke({ requestDuration: 'PT2M' });
    const order: number[] = [];
    engine.onTransition((t) => order.push(t.command.id));
    clock.advance(10 * MIN);
    expect(order).toEqual([early, late]);
    expect(engine.get(early)!.time_finished).toBe('2030-01-01T00:02:00.000Z');
    expect(engine.get(late)!.time_finished).toBe('2030-01-01T00:05:00.000Z');
    devices.set(DEV, { online: true });
    await engine.signals.deviceReady(DEV, { clientId: 'c1', clean: false });
    expect(devices.sent).toHaveLength(0);
  });

  it('completes a one-way QoS 1 command on PUBACK, and a QoS 0 one once written', async () => {
    devices.set(DEV, { online: true, subscriptions: [{ topic: 'q1', qos: 1 }, { topic: 'q0', qos: 0 }] });
    const q1 = await invoke({ requestEndpoint: 'q1' });
    const q0 = await invoke({ requestEndpoint: 'q0' });
    devices.flushWrites();
    expect(status(q0)).toBe('COMPLETED');
    expect(status(q1)).toBe('SENT');
    engine.signals.puback(DEV, 'c1', devices.sent[0].message.messageId!);
    expect(status(q1)).toBe('COMPLETED');
  });

  it('expires a one-way QoS 1 command never acknowledged within requestDuration', async () => {
    devices.set(DEV, { online: true, subscriptions: [{ topic: 'cmd', qos: 1 }] });
    const id = await invoke({ requestDuration: 'PT1M' });
    clock.advance(MIN);
    expect(status(id)).toBe('EXPIRED');
  });

  it('NOT_RESPONDED when no response comes within responseDuration of being sent', async () => {
    devices.set(DEV, { online: false, persistent: true, subscriptions: [{ topic: 'cmd', qos: 1 }] });
    const id = await invoke({ responseEndpoint: 'rsp', responseDuration: 'PT1M' });
    clock.advance(30_000);
    devices.set(DEV, { online: true });
    await engine.signals.deviceReady(DEV, { clientId: 'c1', clean: false });
    engine.signals.puback(DEV, 'c1', devices.sent[0].message.messageId!);
    expect(status(id)).toBe('SENT'); // a two-way command waits for its response, not the PUBACK
    clock.advance(MIN - 1);
    expect(status(id)).toBe('SENT');
    clock.advance(1);
    expect(status(id)).toBe('NOT_RESPONDED');
    expect(engine.get(id)!.time_finished).toBe('2030-01-01T00:01:30.000Z');
  });

  it('completes with the response, answering commands on one endpoint oldest first', async () => {
    devices.set(DEV, { online: true, subscriptions: [{ topic: 'cmd', qos: 1 }] });
    const a = await invoke({ responseEndpoint: 'rsp' });
    const b = await invoke({ responseEndpoint: 'rsp' });
    inbound.published(DEV, 'rsp', Buffer.from('ok'));
    expect(engine.get(a)).toMatchObject({ delivery_status: 'COMPLETED', response_data: 'ok', response_data_format: 'TEXT' });
    expect(status(b)).toBe('SENT');
  });

  it('never changes a terminal state: a late response becomes raw_data', async () => {
    devices.set(DEV, { online: true, subscriptions: [{ topic: 'cmd', qos: 1 }] });
    const id = await invoke({ responseEndpoint: 'rsp', responseDuration: 'PT1M' });
    clock.advance(MIN);
    inbound.published(DEV, 'rsp', Buffer.from('{"late":1}'));
    expect(engine.get(id)).toMatchObject({ delivery_status: 'NOT_RESPONDED', response_data: null });
    expect(db.prepare('SELECT endpoint FROM raw_data').all()).toEqual([{ endpoint: 'rsp' }]);
  });

  it('redelivers an unacknowledged QoS 1 command with DUP and the same packet id on a persistent reconnect', async () => {
    devices.set(DEV, { online: true, subscriptions: [{ topic: 'cmd', qos: 1 }] });
    const id = await invoke({ responseEndpoint: 'rsp' });
    const first = devices.sent[0].message;
    devices.set(DEV, { online: false, persistent: true });
    devices.set(DEV, { online: true });
    await engine.signals.deviceReady(DEV, { clientId: 'c1', clean: false });
    expect(devices.sent[1].message).toMatchObject({ dup: true, messageId: first.messageId, topic: 'cmd' });
    expect(engine.get(id)!.delivery_count).toBe(2);
    await engine.signals.deviceReady(DEV, { clientId: 'c1', clean: true });
    expect(devices.sent).toHaveLength(2); // a clean session gets no redelivery
  });
});

describe('bounded state', () => {
  it('refuses, with the reason recorded, commands past the per-device PENDING cap', async () => {
    engine.stop();
    ({ db, clock, devices, engine, invoke, status, eventsOf } = engineFixture({ maxPendingPerDevice: 2 }));
    devices.set(DEV, { online: false, persistent: true, subscriptions: [{ topic: 'cmd', qos: 1 }] });
    const ids = [await invoke(), await invoke(), await invoke()];
    expect(ids.map(status)).toEqual(['PENDING', 'PENDING', 'REFUSED']);
    const cause = db.prepare('SELECT cause FROM command_events WHERE command_id = ?').get(ids[2]);
    expect(cause).toEqual({ cause: expect.stringMatching(/2 commands already PENDING/) });
  });
});

describe('restart and retry tokens', () => {
  it('recover() finishes commands whose deadline passed while the emulator was down, at their deadline', async () => {
    devices.set(DEV, { online: false, persistent: true, subscriptions: [{ topic: 'cmd', qos: 1 }] });
    const id = await invoke({ requestDuration: 'PT1M' });
    engine.stop();
    const later = manualClock(clock.now() + 60 * MIN);
    const restarted = createCommandEngine({ db, clock: later, devices: devices.port });
    restarted.recover();
    expect(restarted.get(id)).toMatchObject({ delivery_status: 'EXPIRED', time_finished: '2030-01-01T00:01:00.000Z' });
  });

  it('replays the same command for the same opc-retry-token and body, and refuses another body', async () => {
    devices.set(DEV, { online: true, subscriptions: [{ topic: 'cmd', qos: 1 }] });
    const a = await invoke({}, { retryToken: 't1', fingerprint: 'x' });
    const b = await invoke({}, { retryToken: 't1', fingerprint: 'x' });
    expect(b).toBe(a);
    expect(devices.sent).toHaveLength(1);
    await expect(invoke({}, { retryToken: 't1', fingerprint: 'y' })).rejects.toMatchObject({
      status: 409,
      code: 'InvalidatedRetryToken',
    } satisfies Partial<OciError>);
    expect(db.prepare('SELECT count(*) AS n FROM commands').get()).toEqual({ n: 1 });
  });
});

describe('recorders', () => {
  it('hear every transition inside the transaction that writes it, and only while active', async () => {
    const seen: Array<{ from: string | null; to: string; inTransaction: boolean }> = [];
    let active = false;
    engine.recordTransitions((t) => seen.push({ from: t.from, to: t.to, inTransaction: db.inTransaction }), () => active);
    devices.set(DEV, { online: true, subscriptions: [{ topic: 'cmd', qos: 1 }] });

    await invoke({ responseEndpoint: 'other-rsp' });
    expect(seen).toEqual([]);

    active = true;
    const id = await invoke({ responseEndpoint: 'rsp' });
    const { messageId } = devices.sent.at(-1)!.message;
    await engine.signals.puback(DEV, 'c1', messageId!);
    await inbound.published(DEV, 'rsp', Buffer.from('{"ok":true}'));
    expect(status(id)).toBe('COMPLETED');
    // A two-way command's changes of state, each while its row was being written (its
    // PUBACK is in its history, but changes no state, so webhooks are not told of it).
    expect(seen).toEqual([
      { from: null, to: 'PENDING', inTransaction: true },
      { from: 'PENDING', to: 'SENT', inTransaction: true },
      { from: 'SENT', to: 'COMPLETED', inTransaction: true },
    ]);
  });
});
