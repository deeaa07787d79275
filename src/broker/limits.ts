import { durationMs, type EmulatorConfig } from '../config.js';

/**
 * CONNECT rules Aedes 1.2 does not enforce. MQTT 3.1.1 has no return code for a bad
 * keepalive, so, like mosquitto's max_keepalive for 3.1.1 clients, it gets "identifier
 * rejected" (2); Aedes' own keepaliveLimit would answer 6, which no 3.1.1 client knows.
 */
export interface ConnectFacts {
  clientId: string;
  clean: boolean;
  keepalive: number;
  /** 5 for MQTT 5, whose devices may send an empty client id and get a Server Keep Alive instead of a refusal. */
  protocolVersion?: number;
}

export interface ConnectRefusal {
  returnCode: 2;
  reason: string;
}

export function connectRefusal(facts: ConnectFacts, maxKeepalive: number): ConnectRefusal | null {
  if (facts.protocolVersion === 5) return null;
  if (facts.clientId === '' && !facts.clean) {
    // MQTT-3.1.3-8: a zero-length client id needs clean session 1.
    return { returnCode: 2, reason: 'an empty client id needs clean session' };
  }
  if (!facts.keepalive) {
    return { returnCode: 2, reason: 'keepalive 0 (never time out) is not allowed' };
  }
  if (facts.keepalive > maxKeepalive) {
    return { returnCode: 2, reason: `keepalive ${facts.keepalive} s is above the maximum of ${maxKeepalive} s` };
  }
  return null;
}

/** Everything the broker enforces that Aedes 1.2 does not, in milliseconds and bytes. */
export interface BrokerLimits {
  maxPacketSize: number;
  maxConnectSize: number;
  /** Covers the TLS handshake and, separately, the wait for CONNECT after it. */
  connectTimeoutMs: number;
  maxKeepalive: number;
  drainTimeoutMs: number;
  /** Open connections each device port accepts; more are closed at once. */
  maxConnections: { mqtts: number; https: number };
  login: { failuresPerKey: number; failuresPerAddress: number; backoffMaxMs: number };
}

export function brokerLimits(config: EmulatorConfig): BrokerLimits {
  return {
    maxPacketSize: config.mqttMaxPacketSize,
    maxConnectSize: config.mqttMaxConnectSize,
    connectTimeoutMs: durationMs(config.mqttConnectTimeout),
    maxKeepalive: config.mqttMaxKeepalive,
    drainTimeoutMs: durationMs(config.mqttDrainTimeout),
    maxConnections: { mqtts: config.mqttMaxConnections, https: config.httpsMaxConnections },
    login: {
      failuresPerKey: config.loginFailuresPerKey,
      failuresPerAddress: config.loginFailuresPerAddress,
      backoffMaxMs: durationMs(config.loginBackoffMax),
    },
  };
}
