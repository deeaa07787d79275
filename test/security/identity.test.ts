/**
 * Identity comes only from the authenticated connection. Another device, whatever topic,
 * client id, QoS, retain flag or will it uses, never completes this device's command and
 * never writes raw_data in this device's name.
 */
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEED_COMMAND, startTestEmulator, until, type Device, type ConnectedDevice, type TestEmulator } from '../support/harness.js';
import { rawLogin } from '../support/raw-mqtt.js';

let t: TestEmulator;
let victim: Device;
let victimConn: ConnectedDevice;
let intruder: Device;
const VICTIM_CLIENT = 'victim-client';

beforeAll(async () => {
  t = await startTestEmulator();
  victim = await t.createDevice();
  intruder = await t.createDevice();
  victimConn = await t.connect(victim, { clientId: VICTIM_CLIENT, clean: false, subscribe: [['/endpoints/1234', 1]] });
});
afterAll(async () => {
  await t.close();
});

const rawRows = () =>
  t.emu.db.prepare('SELECT digital_twin_instance_id AS owner, endpoint FROM raw_data ORDER BY id').all() as Array<{ owner: string; endpoint: string }>;

describe('a device cannot speak for another', () => {
  it('whatever the intruder publishes, on whatever topic with whatever client id, is its own raw_data; the victim’s command stays open', async () => {
    const command = await t.invoke(victim.instanceId, SEED_COMMAND);
    await victimConn.next('/endpoints/1234');

    const topic = fc.oneof(
      fc.constantFrom(SEED_COMMAND.responseEndpoint, SEED_COMMAND.requestEndpoint, `${victim.instanceId}/${SEED_COMMAND.responseEndpoint}`, victim.externalKey),
      fc.constantFrom('$SYS/oci-iot-emulator/device-publish/' + victim.instanceId, '$SYS/x', '$share/g/t'),
      fc.stringMatching(/^[a-z/]{1,20}$/),
    );
    const clientId = fc.oneof(
      fc.constantFrom(VICTIM_CLIENT, `${victim.instanceId}/${VICTIM_CLIENT}`, victim.instanceId, victim.externalKey, ''),
      fc.stringMatching(/^[A-Za-z0-9/._-]{1,30}$/),
    );
    let n = 0;
    await fc.assert(
      fc.asyncProperty(topic, clientId, fc.constantFrom<0 | 1>(0, 1), fc.boolean(), fc.boolean(), async (topic, clientId, qos, retain, withWill) => {
        const before = rawRows().length;
        const payload = `forged-${n++}`;
        const { device, returnCode } = await rawLogin(
          { port: t.emu.mqttPort, ca: t.emu.ca },
          {
            username: intruder.externalKey,
            password: Buffer.from(intruder.password),
            clientId,
            will: withWill && !topic.startsWith('$SYS') ? { topic, payload: Buffer.from(`will-${payload}`), qos: 1, retain } : undefined,
          },
        );
        expect(returnCode).toBe(0);
        const packet = { cmd: 'publish' as const, topic, payload: Buffer.from(payload), qos, retain, dup: false, messageId: qos ? 1 : undefined };
        device.write(mqttPacket.generate(packet));
        // A PINGRESP (or, for a $SYS topic, the connection closing) tells the publish was handled.
        device.send({ cmd: 'pingreq' });
        await Promise.race([device.next('pingresp').catch(() => {}), device.closed]);
        if (topic.startsWith('$SYS')) {
          await device.closed;
          expect(rawRows().length).toBe(before);
        } else {
          if (withWill) {
            device.socket.destroy(); // dropped without DISCONNECT: the will is published
            await until(() => rawRows().length === before + 2);
          } else await device.end();
          const added = rawRows().slice(before);
          expect(added.every((r) => r.owner === intruder.instanceId && r.endpoint === topic)).toBe(true);
          expect(added.length).toBe(withWill ? 2 : 1);
        }
        expect(t.command(command).delivery_status).toBe('SENT');
      }),
      { numRuns: 200 },
    );

    expect(rawRows().filter((r) => r.owner === victim.instanceId)).toEqual([]);
    // The victim's own response still completes its command, and it was never disconnected.
    expect(victimConn.client.connected).toBe(true);
    await victimConn.client.publishAsync(SEED_COMMAND.responseEndpoint, '{"real":true}', { qos: 1 });
    expect((await t.waitFor(command, 'COMPLETED')).response_data).toBe('{"real":true}');
  }, 60_000);

  it('two devices awaiting responses on the same endpoint: each response completes only its sender’s command', async () => {
    const a = await t.createDevice();
    const b = await t.createDevice();
    const devA = await t.connect(a, { clientId: 'same', subscribe: [['/endpoints/1234', 1]] });
    const devB = await t.connect(b, { clientId: 'same', subscribe: [['/endpoints/1234', 1]] });
    const forA = await t.invoke(a.instanceId, SEED_COMMAND);
    const forB = await t.invoke(b.instanceId, SEED_COMMAND);
    await devA.next();
    await devB.next();
    await devB.client.publishAsync(SEED_COMMAND.responseEndpoint, '"from-b"', { qos: 1 });
    expect((await t.waitFor(forB, 'COMPLETED')).response_data).toBe('"from-b"');
    expect(t.command(forA).delivery_status).toBe('SENT');
    await devA.client.publishAsync(SEED_COMMAND.responseEndpoint, '"from-a"', { qos: 1 });
    expect((await t.waitFor(forA, 'COMPLETED')).response_data).toBe('"from-a"');
  });

  it('a PUBACK from another device, even with the right packet id, does not acknowledge this device’s command', async () => {
    const a = await t.createDevice();
    const b = await t.createDevice();
    const devA = await rawLogin({ port: t.emu.mqttPort, ca: t.emu.ca }, { username: a.externalKey, password: Buffer.from(a.password), clientId: 'a' });
    devA.device.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'cmd/#', qos: 1 }] });
    await devA.device.next('suback');
    const id = await t.invoke(a.instanceId, { requestDataFormat: 'TEXT', requestEndpoint: 'cmd/x', requestData: 'x' });
    const publish = (await devA.device.next('publish')) as mqttPacket.IPublishPacket;
    const devB = await rawLogin({ port: t.emu.mqttPort, ca: t.emu.ca }, { username: b.externalKey, password: Buffer.from(b.password), clientId: 'a' });
    devB.device.send({ cmd: 'puback', messageId: publish.messageId });
    devB.device.send({ cmd: 'pingreq' });
    await devB.device.next('pingresp');
    expect(t.command(id).delivery_status).toBe('SENT');
    devA.device.send({ cmd: 'puback', messageId: publish.messageId });
    await t.waitFor(id, 'COMPLETED');
    await devA.device.end();
    await devB.device.end();
  });
});
