import type { DeliveryRoute, DeliveryTarget, DevicePort, OutboundCommand } from '../../src/commands/device-port.js';
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
  const sent: Array<{ instanceId: string; clientId: string; message: OutboundCommand }> = [];
  const pendingWrites: Array<(ok: boolean) => void> = [];

  const port: DevicePort = {
    async route(instanceId, topic): Promise<DeliveryRoute> {
      const d = devices.get(instanceId);
      if (!d) return { online: false, qos: null };
      if (!d.online && !d.persistent) return { online: false, qos: null };
      return { online: d.online, qos: bestMatch(d.subscriptions, topic) };
    },
    targets(instanceId, topic): DeliveryTarget[] {
      const d = devices.get(instanceId);
      const qos = d?.online ? bestMatch(d.subscriptions, topic) : null;
      return d && qos !== null ? [{ sessionInstanceId: instanceId, clientId: d.clientId, qos }] : [];
    },
    send(to, message, written) {
      const d = devices.get(to.sessionInstanceId);
      if (!d?.online || d.clientId !== to.clientId) return false;
      sent.push({ instanceId: to.sessionInstanceId, clientId: to.clientId, message });
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
