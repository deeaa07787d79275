import type { PresenceChange } from '../broker/broker.js';
import type { ChangeFeed } from './change-feed.js';
import type { Metrics } from '../ops/metrics.js';
import type { PresenceSource } from '../views/devices.js';

/**
 * What the console, the /emulator data routes, /metrics and /docs need beyond the OCI
 * routes' context, decorated onto the Fastify instance as `ops`.
 */
export interface OpsContext {
  /** The port the MQTTS listener is bound to (not the configured one, which may be 0). */
  mqttPort: number;
  /** The port of the device HTTPS listener (MQTT over WSS at /mqtt, HTTPS POST). */
  httpsPort: number;
  /** Absolute path of the CA certificate devices trust, and its PEM. */
  caFile: string;
  ca: string;
  presence: PresenceSource & { onPresence(listener: (change: PresenceChange) => void): () => void };
  metrics: Metrics;
}

declare module 'fastify' {
  interface FastifyInstance {
    ops: OpsContext;
    /** Fires when the device list may look different: presence, or an instance written. */
    deviceFeed: ChangeFeed;
  }
}
