import type { DeliveryRoute, DevicePort, OutboundCommand } from '../../src/commands/device-port.js';
import { bestMatch } from '../../src/broker/topics.js';

interface FakeDevice {
  online: boolean;
  clientId: string;
  subscriptions: Array<{ topic: string; qos: number }>;
  /** Whether an offline device's session is persistent (clean session false). */
  persistent: boolean;
}

/** An in-memory stand-in for the broker, for unit tests of the state engine. */
export function fakeDevices() {
  const devices = new Map<string, FakeDevice>();
  const sent: Array<{ instanceId: string; message: OutboundCommand }> = [];
  const pendingWrites: Array<(ok: boolean) => void> = [];

  const port: DevicePort = {
    async route(instanceId, topic): Promise<DeliveryRoute> {
      const d = devices.get(instanceId);
      if (!d) return { online: false, qos: null };
      if (!d.online && !d.persistent) return { online: false, qos: null };
      return { online: d.online, qos: bestMatch(d.subscriptions, topic) };
    },
    liveClientId: (instanceId) => {
      const d = devices.get(instanceId);
      return d?.online ? d.clientId : null;
    },
    send(instanceId, message, written) {
      if (!devices.get(instanceId)?.online) return false;
      sent.push({ instanceId, message });
      pendingWrites.push(written);
      return true;
    },
  };

  return {
    port,
    sent,
    set(instanceId: string, device: Partial<FakeDevice>) {
      const current = devices.get(instanceId) ?? { online: false, clientId: 'c1', subscriptions: [], persistent: false };
      devices.set(instanceId, { ...current, ...device });
    },
    /** Completes the socket writes so far, as the network would. */
    flushWrites(ok = true) {
      for (const w of pendingWrites.splice(0)) w(ok);
    },
  };
}
