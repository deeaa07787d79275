/**
 * What the state engine needs from the MQTT side, and nothing more, so it can be tested
 * against a fake and the broker can change without touching command logic.
 */
export interface DeliveryRoute {
  online: boolean;
  /** Granted QoS of the best matching subscription (live, or of a persistent session); null if none matches. */
  qos: 0 | 1 | 2 | null;
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
  /** The client id of the device's live connection, or null when it is not connected. */
  liveClientId(instanceId: string): string | null;
  /**
   * Writes the PUBLISH on the device's live connection; false when it is not connected.
   * `written` reports whether the bytes left.
   */
  send(instanceId: string, message: OutboundCommand, written: (ok: boolean) => void): boolean;
}

/** Facts the broker reports to the engine. */
export interface DeviceSignals {
  deviceReady(instanceId: string, session: { clean: boolean }): Promise<void>;
  subscribed(instanceId: string): Promise<void>;
  puback(instanceId: string, messageId: number): void;
  /** A device publish (or its will). Synchronous: the caller acknowledges only after it returns. */
  published(instanceId: string, topic: string, payload: Buffer): void;
}
