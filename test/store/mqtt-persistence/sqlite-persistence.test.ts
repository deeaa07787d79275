import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { createSqlitePersistence, type MqttPacket } from '../../../src/store/mqtt-persistence.js';
import { MIGRATIONS } from '../../../src/store/schema.js';
import { streamToArray, TempDatabases } from './helpers.js';

const require = createRequire(import.meta.url);
const Packet = require('aedes-packet') as { new (original: MqttPacket): MqttPacket };

const databases = new TempDatabases();
after(() => databases.cleanup());

const broker = { id: 'broker-1' };
const device = { id: 'device-1' };

function publish(topic: string, payload: string, brokerCounter: number, extra: MqttPacket = {}): MqttPacket {
  return {
    cmd: 'publish',
    topic,
    payload: Buffer.from(payload),
    qos: 1,
    retain: false,
    dup: false,
    brokerId: broker.id,
    brokerCounter,
    ...extra,
  };
}

describe('restart survival', () => {
  test('session state written by one persistence is seen by a new one on the same file', async () => {
    const path = databases.newPath();

    // --- first run -------------------------------------------------------
    const db1 = databases.open(path);
    const first = createSqlitePersistence(db1);
    await first.setup(broker);

    await first.addSubscriptions(device, [
      { topic: 'iot/device-1/commands/#', qos: 1, rh: 0, rap: false, nl: false },
      { topic: 'iot/+/broadcast', qos: 2, rh: 0, rap: true, nl: false, subscriptionIdentifier: 7 },
      { topic: 'iot/device-1/qos0', qos: 0, rh: 0, rap: false, nl: false },
    ]);
    const queued = [
      publish('iot/device-1/commands/reboot', 'first', 1),
      publish('iot/device-1/commands/update', 'second', 2, {
        properties: { correlationData: Buffer.from([0, 1, 2]), userProperties: { $: 'dollar', trace: ['a', 'b'] } },
        messageExpiry: 1_900_000_000_000,
      }),
      publish('iot/any/broadcast', 'third', 3),
    ];
    for (const packet of queued) await first.outgoingEnqueue({ clientId: device.id }, packet);
    // The first one has been sent once before the restart and got a messageId.
    await first.outgoingUpdate(device, { ...queued[0], messageId: 17 });

    const will: MqttPacket = { topic: 'iot/device-1/status', payload: Buffer.from('offline'), qos: 1, retain: true };
    await first.putWill(device, will);
    await first.storeRetained({
      cmd: 'publish',
      topic: 'iot/device-1/config',
      payload: Buffer.from('{"interval":5}'),
      qos: 0,
      retain: true,
    });
    await first.incomingStorePacket(device, { ...publish('iot/up', 'qos2', 0), qos: 2, messageId: 99 });

    await first.destroy();
    databases.close(db1);

    // --- second run --------------------------------------------------------
    const db2 = databases.open(path);
    const second = createSqlitePersistence(db2);
    await second.setup({ id: 'broker-2' });

    assert.deepEqual(await second.subscriptionsByClient(device), [
      { topic: 'iot/device-1/commands/#', qos: 1, rh: 0, rap: false, nl: false },
      { topic: 'iot/+/broadcast', qos: 2, rh: 0, rap: true, nl: false, subscriptionIdentifier: 7 },
      { topic: 'iot/device-1/qos0', qos: 0, rh: 0, rap: false, nl: false },
    ]);
    assert.deepEqual(await second.subscriptionsByTopic('iot/device-1/commands/reboot'), [
      { clientId: device.id, topic: 'iot/device-1/commands/#', qos: 1, rh: 0, rap: false, nl: false },
    ]);
    assert.deepEqual(await second.subscriptionsByTopic('iot/device-1/broadcast'), [
      { clientId: device.id, topic: 'iot/+/broadcast', qos: 2, rh: 0, rap: true, nl: false },
    ]);
    // QoS 0 subscriptions are restored for the client but never queue offline.
    assert.deepEqual(await second.subscriptionsByTopic('iot/device-1/qos0'), []);
    assert.deepEqual(await second.countOffline(), { subsCount: 2, clientsCount: 1 });

    const outgoing = await streamToArray<MqttPacket>(second.outgoingStream(device));
    assert.deepEqual(
      outgoing.map((p) => [p.topic, p.payload?.toString(), p.messageId, p.brokerCounter]),
      [
        ['iot/device-1/commands/reboot', 'first', 17, 1],
        ['iot/device-1/commands/update', 'second', undefined, 2],
        ['iot/any/broadcast', 'third', undefined, 3],
      ],
    );
    assert.ok(outgoing.every((p) => p instanceof Packet), 'queued packets come back as aedes-packet Packets');
    assert.deepEqual({ ...outgoing[1] }, { ...new Packet(queued[1]) }, 'all packet fields survive');
    assert.ok(Buffer.isBuffer((outgoing[1].properties as { correlationData: unknown }).correlationData));

    assert.deepEqual(await second.getWill(device), {
      topic: 'iot/device-1/status',
      payload: Buffer.from('offline'),
      qos: 1,
      retain: true,
      brokerId: broker.id,
      clientId: device.id,
    });
    // The will belongs to a broker that is not alive any more, so aedes will publish it.
    assert.equal((await streamToArray(second.streamWill({ 'broker-2': Date.now() }))).length, 1);

    const retained = await streamToArray<MqttPacket>(second.createRetainedStream('iot/+/config'));
    assert.deepEqual(retained, [
      { cmd: 'publish', topic: 'iot/device-1/config', payload: Buffer.from('{"interval":5}'), qos: 0, retain: true },
    ]);

    const incoming = await second.incomingGetPacket(device, { messageId: 99 });
    assert.equal(incoming.payload?.toString(), 'qos2');

    // The acknowledged packet is removed for good.
    const acked = await second.outgoingClearMessageId(device, { messageId: 17 });
    assert.equal(acked?.payload?.toString(), 'first');
    await second.destroy();
    databases.close(db2);

    const db3 = databases.open(path);
    const third = createSqlitePersistence(db3);
    assert.equal((await streamToArray(third.outgoingStream(device))).length, 2);
    await third.destroy();
    databases.close(db3);
  });
});

describe('offline queue cap', () => {
  test('the packet after maxQueuedPerClient is dropped and counted, other clients unaffected', async () => {
    const db = databases.open(databases.newPath());
    const persistence = createSqlitePersistence(db, { maxQueuedPerClient: 1000 });
    await persistence.setup(broker);
    const other = { id: 'device-2' };

    for (let i = 1; i <= 1000; i++) {
      await persistence.outgoingEnqueue({ clientId: device.id }, publish('t', `m${i}`, i));
    }
    assert.equal(persistence.droppedCount(), 0);

    // The 1001st: dropped for the full client only, and the call does not throw.
    await persistence.outgoingEnqueueCombi([{ clientId: device.id }, { clientId: other.id }], publish('t', 'm1001', 1001));
    assert.equal(persistence.droppedCount(), 1);

    const queue = await streamToArray<MqttPacket>(persistence.outgoingStream(device));
    assert.equal(queue.length, 1000);
    assert.equal(queue[0].payload?.toString(), 'm1');
    assert.equal(queue[999].payload?.toString(), 'm1000');
    assert.deepEqual(
      (await streamToArray<MqttPacket>(persistence.outgoingStream(other))).map((p) => p.payload?.toString()),
      ['m1001'],
    );

    // Acknowledging one frees a slot.
    await persistence.outgoingUpdate(device, { ...queue[0], messageId: 1 });
    await persistence.outgoingClearMessageId(device, { messageId: 1 });
    await persistence.outgoingEnqueue({ clientId: device.id }, publish('t', 'm1002', 1002));
    assert.equal(persistence.droppedCount(), 1);
    const after = await streamToArray<MqttPacket>(persistence.outgoingStream(device));
    assert.equal(after.length, 1000);
    assert.equal(after[999].payload?.toString(), 'm1002');
    await persistence.destroy();
  });
});

describe('inbound QoS 2 cap', () => {
  test('a client holding maxIncomingPerClient packets awaiting PUBREL cannot store another; a retransmission still replaces', async () => {
    const db = databases.open(databases.newPath());
    const persistence = createSqlitePersistence(db, { maxIncomingPerClient: 3 });
    await persistence.setup(broker);
    const qos2 = (id: number, body: string) => ({ ...publish('t', body, id), qos: 2 as const, messageId: id });
    for (let id = 1; id <= 3; id++) await persistence.incomingStorePacket(device, qos2(id, `m${id}`));
    await assert.rejects(persistence.incomingStorePacket(device, qos2(4, 'm4')), /3 inbound QoS 2 packets already await their PUBREL/);
    await persistence.incomingStorePacket(device, qos2(2, 'again'));
    assert.equal((await persistence.incomingGetPacket(device, { messageId: 2 } as MqttPacket)).payload?.toString(), 'again');
    await persistence.incomingStorePacket({ id: 'device-2' }, qos2(4, 'other client'));
    await persistence.incomingDelPacket(device, { messageId: 1 } as MqttPacket);
    await persistence.incomingStorePacket(device, qos2(4, 'm4'));
    await persistence.destroy();
  });
});

describe('topic matching', () => {
  test('leading wildcards do not match $ topics [MQTT-4.7.2-1]', async () => {
    const db = databases.open(databases.newPath());
    const persistence = createSqlitePersistence(db);
    await persistence.setup(broker);
    await persistence.addSubscriptions(device, [
      { topic: '#', qos: 1 },
      { topic: '+/status', qos: 1 },
      { topic: '$iot/#', qos: 1 },
      { topic: 'a/+/c', qos: 1 },
    ]);
    const topicsFor = async (topic: string) => (await persistence.subscriptionsByTopic(topic)).map((s) => s.topic).sort();

    assert.deepEqual(await topicsFor('$iot/status'), ['$iot/#']);
    assert.deepEqual(await topicsFor('x/status'), ['#', '+/status']);
    assert.deepEqual(await topicsFor('a/b/c'), ['#', 'a/+/c']);
    assert.deepEqual(await topicsFor('a/b/c/d'), ['#']);

    await persistence.storeRetained({ cmd: 'publish', topic: '$iot/status', payload: Buffer.from('x'), qos: 0, retain: true });
    await persistence.storeRetained({ cmd: 'publish', topic: 'x/status', payload: Buffer.from('y'), qos: 0, retain: true });
    const retainedTopics = async (pattern: string) =>
      (await streamToArray<MqttPacket>(persistence.createRetainedStream(pattern))).map((p) => p.topic);
    assert.deepEqual(await retainedTopics('#'), ['x/status']);
    assert.deepEqual(await retainedTopics('+/status'), ['x/status']);
    assert.deepEqual(await retainedTopics('$iot/+'), ['$iot/status']);
    await persistence.destroy();
  });
});

describe('schema', () => {
  test('migration 2 creates exactly the mqtt_ tables; the persistence creates none', async () => {
    const db = new Database(databases.newPath());
    try {
      assert.throws(() => createSqlitePersistence(db), /MQTT session tables are missing.*migrate/);
      db.exec(MIGRATIONS[1] as string);
      const tables = db
        .prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .pluck()
        .all();
      assert.deepEqual(tables, ['mqtt_incoming', 'mqtt_outgoing', 'mqtt_retained', 'mqtt_subscriptions', 'mqtt_wills']);
      const persistence = createSqlitePersistence(db);
      await persistence.setup(broker);
      await persistence.addSubscriptions(device, [{ topic: 'a/b', qos: 1 }]);
      assert.deepEqual(await persistence.subscriptionsByClient(device), [{ topic: 'a/b', qos: 1, rh: undefined, rap: undefined, nl: undefined }]);
      await persistence.destroy();
    } finally {
      db.close();
    }
  });

  test('every PUBACK names its packet id in what Aedes emits as `ack`, queued or not', async () => {
    const db = databases.open(databases.newPath());
    const persistence = createSqlitePersistence(db);
    await persistence.setup(broker);
    await persistence.outgoingEnqueue({ clientId: device.id }, publish('t', 'queued', 1));
    await persistence.outgoingUpdate(device, { ...publish('t', 'queued', 1), messageId: 5 });
    const queued = await persistence.outgoingClearMessageId(device, { cmd: 'puback', messageId: 5 });
    assert.equal(queued?.payload?.toString(), 'queued');
    assert.equal(queued?.messageId, 5);
    // A command the emulator wrote itself was never queued: the PUBACK comes back, with its id.
    assert.deepEqual(await persistence.outgoingClearMessageId(device, { cmd: 'puback', messageId: 6 }), { cmd: 'puback', messageId: 6 });
    // Anything else (Aedes clearing a queue it is emptying) finds nothing and gets nothing.
    assert.equal(await persistence.outgoingClearMessageId(device, { cmd: 'publish', messageId: 7 }), undefined);
    await persistence.destroy();
  });
});
