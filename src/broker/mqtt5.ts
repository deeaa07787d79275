import type { Client } from 'aedes';
import mqttPacket from 'mqtt-packet';
import { topicMatches } from './topics.js';

/**
 * What MQTT 5 changes for a device, in one place: CONNACK reason codes, the session
 * flags, and the limits a v5 client announces in its CONNECT (Receive Maximum, Maximum
 * Packet Size) that the broker must honour on the packets it writes itself. A 3.1.1
 * client goes through every function here unchanged.
 */

/** Inbound topic aliases a device may use (mosquitto's default max_topic_alias). */
export const TOPIC_ALIAS_MAXIMUM = 10;

/** MQTT 5.0 reason codes the emulator sends (section 2.4). */
export const ReasonCode = {
  unspecifiedError: 0x80,
  clientIdentifierNotValid: 0x85,
  badUserNameOrPassword: 0x86,
  notAuthorized: 0x87,
  serverUnavailable: 0x88,
  serverBusy: 0x89,
  packetTooLarge: 0x95,
} as const;

/** The v3.1.1 CONNACK return codes the login answers with, and their MQTT 5 reason codes. */
const FROM_RETURN_CODE: Record<number, number> = {
  2: ReasonCode.clientIdentifierNotValid,
  3: ReasonCode.serverUnavailable,
  4: ReasonCode.badUserNameOrPassword,
  5: ReasonCode.notAuthorized,
};

/** What Aedes 2 keeps on a client from its CONNECT; the underscored fields are Aedes-internal. */
interface V5Client {
  version?: number;
  clean: boolean;
  receiveMaximum?: number;
  maximumPacketSize?: number;
  subscriptions?: Record<string, { qos: number; si?: number }>;
  _cleanStart?: boolean;
  _serverKeepAlive?: number;
}

const v5 = (client: Client) => client as unknown as V5Client;

export const speaksV5 = (client: Client): boolean => v5(client).version === 5;

/**
 * Whether the connection started without the session it may have had: 3.1.1's clean
 * session, MQTT 5's Clean Start. Aedes 2's `client.clean` means "the session ends with
 * the connection" (Session Expiry Interval 0), which for v5 is a different question.
 */
export function startsClean(client: Client): boolean {
  const c = v5(client);
  return c.version === 5 ? c._cleanStart === true : c.clean;
}

/** The CONNACK reason code for a refused login: the outcome's own, else its return code's. */
export function refusalReasonCode(outcome: { returnCode: number; reasonCode?: number }): number {
  return outcome.reasonCode ?? FROM_RETURN_CODE[outcome.returnCode] ?? ReasonCode.unspecifiedError;
}

/**
 * Refuses a v5 CONNECT with a reason code and a reason string, then closes. Aedes 2's
 * authenticate hook can only pick among the four codes of 3.1.1 and sends no reason
 * string, so the emulator writes this CONNACK itself and never completes Aedes' connect.
 */
export function refuseV5(client: Client, reasonCode: number, reason: string): void {
  const c = v5(client);
  const properties = (c as { _requestProblemInformation?: boolean })._requestProblemInformation === false ? undefined : { reasonString: reason };
  const bytes = mqttPacket.generate({ cmd: 'connack', sessionPresent: false, reasonCode, properties }, { protocolVersion: 5 });
  client.conn.write(bytes, () => client.close());
}

/**
 * MQTT 5 has Server Keep Alive: instead of refusing a keepalive of 0 or above the maximum
 * (3.1.1 can only refuse), the broker tells the device which keepalive to use. Aedes 2
 * does this only through its own keepaliveLimit, which would also refuse 3.1.1 devices
 * with a return code they do not know; so it is set here, on the v5 client alone.
 */
export function imposeKeepalive(client: Client, keepalive: number, maxKeepalive: number): void {
  if (speaksV5(client) && (!keepalive || keepalive > maxKeepalive)) v5(client)._serverKeepAlive = maxKeepalive;
}

/** The device's Receive Maximum when it asked for fewer than MQTT's default 65535 in flight. */
export function receiveMaximumOf(client: Client): number | undefined {
  const c = v5(client);
  return c.version === 5 && c.receiveMaximum !== undefined && c.receiveMaximum < 65535 ? c.receiveMaximum : undefined;
}

export interface CommandPublish {
  topic: string;
  payload: Buffer;
  qos: 0 | 1;
  messageId?: number;
  dup: boolean;
}

/**
 * A command's PUBLISH as the client's protocol version spells it. For v5 it carries the
 * Subscription Identifier of every matching subscription that has one (MQTT-3.3.4-3);
 * Aedes 2 itself echoes only one (aedes#1090), but commands never go through Aedes.
 * Null when the packet is larger than the device's Maximum Packet Size (MQTT-3.1.2-24).
 */
export function commandPublishBytes(client: Client, message: CommandPublish): Buffer | null {
  const packet = { cmd: 'publish' as const, topic: message.topic, payload: message.payload, qos: message.qos, messageId: message.messageId, dup: message.dup, retain: false };
  const c = v5(client);
  if (c.version !== 5) return mqttPacket.generate(packet);
  const ids = Object.entries(c.subscriptions ?? {})
    .filter(([filter, s]) => s.si !== undefined && topicMatches(filter, message.topic))
    .map(([, s]) => s.si as number);
  const properties = ids.length === 0 ? undefined : { subscriptionIdentifier: ids.length === 1 ? ids[0] : ids };
  const bytes = mqttPacket.generate({ ...packet, properties } as mqttPacket.IPublishPacket, { protocolVersion: 5 });
  return c.maximumPacketSize !== undefined && bytes.length > c.maximumPacketSize ? null : bytes;
}
