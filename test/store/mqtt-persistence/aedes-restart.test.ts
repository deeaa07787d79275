// End to end: a real Aedes broker over TCP, restarted on the same database
// file, must resume a clean=false device session including a message queued
// while the device was offline. Every wait is on an event, never a timer.
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { Aedes } from 'aedes';
import { connect, type IConnackPacket, type IPublishPacket, type MqttClient } from 'mqtt';
import { createSqlitePersistence, type MqttPacket, type SqlitePersistence } from '../../../src/store/mqtt-persistence.js';
import { streamToArray, TempDatabases } from './helpers.js';

const databases = new TempDatabases();
after(() => databases.cleanup());

const CLIENT_ID = 'device-e2e';

interface RunningBroker {
  broker: Aedes;
  persistence: SqlitePersistence;
  port: number;
  stop(): Promise<void>;
}

async function startBroker(path: string): Promise<RunningBroker> {
  const db = databases.open(path);
  const persistence = createSqlitePersistence(db);
  const broker = await Aedes.createBroker({ persistence });
  const server = net.createServer(broker.handle);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    broker,
    persistence,
    port: (server.address() as AddressInfo).port,
    async stop() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
      await persistence.destroy();
      databases.close(db);
    },
  };
}

// MqttClient is an EventEmitter at runtime, but its typed-emitter declaration
// does not satisfy events.once(), which we want for its rejection on 'error'.
function events(client: MqttClient): EventEmitter {
  return client as unknown as EventEmitter;
}

function connectDevice(port: number): MqttClient {
  return connect({
    host: '127.0.0.1',
    port,
    clientId: CLIENT_ID,
    clean: false,
    protocolVersion: 4,
    reconnectPeriod: 0,
  });
}

test('a clean=false session and its offline queue survive a broker restart', async () => {
  const path = databases.newPath();

  // --- first broker: subscribe, go offline, receive a message while offline ---
  const first = await startBroker(path);
  const device = connectDevice(first.port);
  const [firstConnack] = (await once(events(device), 'connect')) as [IConnackPacket];
  assert.equal(firstConnack.sessionPresent, false);
  // aedes persists the subscription before it sends the SUBACK.
  await device.subscribeAsync('a/b', { qos: 1 });

  const disconnected = once(first.broker, 'clientDisconnect');
  await device.endAsync();
  await disconnected;

  await new Promise<void>((resolve, reject) =>
    first.broker.publish(
      { cmd: 'publish', topic: 'a/b', payload: Buffer.from('sent while offline'), qos: 1, retain: false, dup: false },
      (err) => (err ? reject(err) : resolve()),
    ),
  );
  assert.equal((await streamToArray(first.persistence.outgoingStream({ id: CLIENT_ID }))).length, 1);
  await first.stop();

  // --- second broker on the same file: the device comes back ---
  const second = await startBroker(path);
  const acked = once(second.broker, 'ack');
  const returning = connectDevice(second.port);
  const received = once(events(returning), 'message');

  const [secondConnack] = (await once(events(returning), 'connect')) as [IConnackPacket];
  assert.equal(secondConnack.sessionPresent, true, 'session restored from SQLite');

  const [topic, payload, packet] = (await received) as [string, Buffer, IPublishPacket];
  assert.equal(topic, 'a/b');
  assert.equal(payload.toString(), 'sent while offline');
  assert.equal(packet.qos, 1);

  // The PUBACK removes the message from the persisted queue.
  const [ackedPacket] = (await acked) as [MqttPacket];
  assert.equal(ackedPacket.payload?.toString(), 'sent while offline');
  assert.deepEqual(await streamToArray(second.persistence.outgoingStream({ id: CLIENT_ID })), []);

  await returning.endAsync();
  await second.stop();
});
