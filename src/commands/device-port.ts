/**
 * What the state engine needs from the MQTT side, and nothing more, so it can be tested
 * against a fake and the broker can change without touching command logic.
 */
export interface DeliveryRoute {
  /** Whether a command for the device can be written now (it, or its gateway, has a live connection). */
  online: boolean;
  /**
   * Granted QoS of the best matching subscription: of a live connection when online, else of a
   * persistent session that will be back; null if none matches.
   */
  qos: 0 | 1 | 2 | null;
}

/** One live connection a command goes to. */
export interface DeliveryTarget {
  /** The instance the connection belongs to: the command's own, or its gateway's. */
  sessionInstanceId: string;
  clientId: string;
  /** Granted QoS of the connection's best matching subscription. */
  qos: 0 | 1 | 2;
  /** The connection's own limit on QoS 1 commands in flight (MQTT 5 Receive Maximum), if it set one. */
  receiveMaximum?: number;
}

export interface OutboundCommand {
  topic: string;
  payload: Buffer;
  qos: 0 | 1;
  messageId?: number;
  dup: boolean;
  /** The command this PUBLISH carries, so a decorator (faults/) can say what it did to which command. */
  commandId?: number;
}

export interface DevicePort {
  route(instanceId: string, topic: string): Promise<DeliveryRoute>;
  /**
   * The live connections a command for the device on `topic` goes to now, as a broker would
   * deliver it: every connection of the device whose subscriptions match, or, for an
   * INDIRECT instance, those of one of its gateways. Empty when none.
   */
  targets(instanceId: string, topic: string): DeliveryTarget[];
  /**
   * Writes the PUBLISH on one connection; false when it is not connected any more.
   * `written` reports whether the bytes left.
   */
  send(to: Pick<DeliveryTarget, 'sessionInstanceId' | 'clientId'>, message: OutboundCommand, written: (ok: boolean) => void): boolean;
}

/** Facts the broker reports about devices; broker/inbound.ts takes each through its stages (faults, classification, engine or telemetry, webhooks, metrics). */
export interface DeviceSignals {
  /** A connection of the device is ready (its session restored, when persistent). */
  deviceReady(instanceId: string, session: { clientId: string; clean: boolean }): Promise<void>;
  /** The device's subscriptions changed, or a connection able to carry its commands appeared. */
  subscribed(instanceId: string): Promise<void>;
  /** A connection acknowledged the PUBLISH with this packet id. */
  puback(instanceId: string, clientId: string, messageId: number): void;
  /** A device publish (or its will). Synchronous: the caller acknowledges only after it returns. */
  published(instanceId: string, topic: string, payload: Buffer): void;
}
