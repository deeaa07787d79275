import type { DeviceSignals } from '../commands/device-port.js';

/**
 * The engine's DeviceSignals, as the broker's handlers see them. The engine is built after
 * the broker (it needs the broker's DevicePort), so its signals are attached when the
 * broker starts listening; no device can connect before, so nothing is dropped in practice.
 */
export function relaySignals(): { signals: DeviceSignals; attach(target: DeviceSignals): void } {
  let target: DeviceSignals | null = null;
  return {
    attach(t) {
      target = t;
    },
    signals: {
      deviceReady: (instanceId, session) => target?.deviceReady(instanceId, session) ?? Promise.resolve(),
      subscribed: (instanceId) => target?.subscribed(instanceId) ?? Promise.resolve(),
      puback: (instanceId, clientId, messageId) => target?.puback(instanceId, clientId, messageId),
      published: (instanceId, topic, payload) => target?.published(instanceId, topic, payload),
    },
  };
}
