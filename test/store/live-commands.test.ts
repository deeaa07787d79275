/**
 * The live commands held in memory (src/store/live-commands.ts) must always say what the rows
 * say: after a restart, after a write that rolled back, and for a PUBACK that comes after the
 * command's response. What a user would notice otherwise: a response taken for telemetry, a
 * PUBACK lost, a packet id used twice on one connection.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { commandStore, type CommandRow } from '../../src/store/commands.js';
import { liveCommands } from '../../src/store/live-commands.js';
import { createWriteBatch } from '../../src/store/write-batch.js';
import { DEV, engineFixture, type EngineFixture } from '../support/engine-fixture.js';

const TWO_WAY = { requestEndpoint: 'cmd', responseEndpoint: 'rsp' };

let f: EngineFixture;
beforeEach(() => {
  f = engineFixture();
  f.devices.set(DEV, { online: true, clientId: 'c1', subscriptions: [{ topic: 'cmd', qos: 1 }] });
});

const commandsOf = (f: EngineFixture) => commandStore(f.db);
const rowStatus = (f: EngineFixture, id: number) =>
  (f.db.prepare('SELECT delivery_status FROM commands WHERE id = ?').get(id) as { delivery_status: string }).delivery_status;

describe('the live commands follow the rows', () => {
  it('a store opened on an existing database finds its SENT commands, their packet ids and PENDING ones', async () => {
    const sent = await f.invoke(TWO_WAY);
    f.devices.set(DEV, { online: false, persistent: true });
    const pending = await f.invoke(TWO_WAY);
    const reopened = commandsOf(f);
    const classified = reopened.classifyPublish(DEV, 'rsp');
    expect(classified.kind === 'response' && classified.command.id).toBe(sent);
    expect(reopened.inFlightMessageIds({ sessionInstanceId: DEV, clientId: 'c1' })).toEqual(new Set([f.devices.sent[0].message.messageId]));
    expect(reopened.pendingFor(DEV).map((c) => c.id)).toEqual([pending]);
    expect(reopened.byMessageId({ sessionInstanceId: DEV, clientId: 'c1' }, f.devices.sent[0].message.messageId!)?.id).toBe(sent);
  });

  it('a write of the batch that fails after completing a command leaves it awaiting its response', async () => {
    const id = await f.invoke(TWO_WAY);
    const store = commandsOf(f);
    const batch = createWriteBatch(f.db, { onRollback: () => store.forgetLive() });
    const command = store.get(id)!;
    let error: Error | null = null;
    await new Promise<void>((resolve) =>
      batch.add(
        () => {
          store.change(id, 'SENT', { delivery_status: 'COMPLETED' }, { time: command.time_created, cause: 'test' });
          expect(store.classifyPublish(DEV, 'rsp').kind).toBe('telemetry');
          throw new Error('a bug after the change');
        },
        (err) => {
          error = err;
          resolve();
        },
      ),
    );
    expect(error).toBeInstanceOf(Error);
    expect(rowStatus(f, id)).toBe('SENT');
    const classified = store.classifyPublish(DEV, 'rsp');
    expect(classified.kind === 'response' && classified.command.delivery_status).toBe('SENT');
    expect(store.inFlightMessageIds({ sessionInstanceId: DEV, clientId: 'c1' }).size).toBe(1);
  });

  it('a transaction of the store that rolls back leaves the command as its row is', async () => {
    const id = await f.invoke(TWO_WAY);
    const store = commandsOf(f);
    const command = store.get(id)!;
    const failing = store.transaction(() => {
      store.change(id, 'SENT', { delivery_status: 'NOT_RESPONDED' }, { time: command.time_created, cause: 'test' });
      throw new Error('rolled back');
    });
    expect(() => failing()).toThrow('rolled back');
    expect(store.get(id)!.delivery_status).toBe('SENT');
    expect(store.classifyPublish(DEV, 'rsp').kind).toBe('response');
  });

  it('a PUBACK that comes after the response still records the acknowledgement, once', async () => {
    const id = await f.invoke(TWO_WAY);
    const messageId = f.devices.sent[0].message.messageId!;
    f.inbound.published(DEV, 'rsp', Buffer.from('{"ok":true}'));
    expect(f.status(id)).toBe('COMPLETED');
    // The window is free for the next command as soon as the command finished.
    expect(f.engine.get(id)!.time_acknowledged).toBeNull();
    f.inbound.puback(DEV, 'c1', messageId);
    expect(f.engine.get(id)!.time_acknowledged).not.toBeNull();
    expect(f.eventsOf(id).map((e) => `${e.from}>${e.to}`)).toEqual(['null>PENDING', 'PENDING>SENT', 'SENT>COMPLETED', 'COMPLETED>COMPLETED']);
    // A second PUBACK of the same packet id changes nothing more.
    f.inbound.puback(DEV, 'c1', messageId);
    expect(f.eventsOf(id)).toHaveLength(4);
  });

  it('a packet id freed by a finished command goes to a new one, whose PUBACK is its own', () => {
    // The index alone: wrapping a connection's packet ids through the engine takes 65,535 commands.
    const live = liveCommands({ commands: () => [], deliveries: () => [] });
    const conn = { sessionInstanceId: DEV, clientId: 'c1' };
    const delivery = { ...conn, qos: 1 as const, messageId: 7, time: 't' };
    const row = (id: number) => ({ id, digital_twin_instance_id: DEV, response_endpoint: 'rsp', gateway_instance_id: null, delivery_status: 'SENT' }) as CommandRow;
    live.get(0); // loads
    live.inserted(row(1), [delivery]);
    live.changed(live.get(1), { delivery_status: 'COMPLETED' });
    expect(live.inFlight(conn).size).toBe(0);
    expect(live.byMessageId(conn, 7)?.id).toBe(1);
    live.inserted(row(2), [delivery]);
    expect(live.byMessageId(conn, 7)?.id).toBe(2);
    live.changed(live.get(2), { time_acknowledged: 't' }, [], conn);
    expect(live.inFlight(conn).size).toBe(0);
    expect(live.byMessageId(conn, 7)).toBeUndefined();
    expect(live.get(1)).toBeUndefined();
  });
});
