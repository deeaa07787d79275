import type { StorageHealth } from '../store/storage-health.js';
import type { WriteBatch } from '../store/write-batch.js';
import { parseSessionId } from './connections.js';
import type { Inbound } from './inbound.js';
import type { BrokerLog } from './log.js';

/**
 * PUBACK: Aedes emits `ack` with the packet the device acknowledged (the queued one, or for a
 * command the emulator wrote itself, the PUBACK: store/mqtt-persistence.ts) and the client
 * whose session (device and client id) it was; the command it acknowledges moves in the
 * batch of device writes, so commands it frees room for are written only after that batch
 * commits.
 */
export function acknowledgementHandler(deps: { batch: WriteBatch; signals: Inbound; log: BrokerLog; storage?: StorageHealth }) {
  const { batch, signals, log, storage } = deps;
  return function acknowledged(packet: { messageId?: number } | undefined, client: { id: string } | null | undefined): void {
    const messageId = packet?.messageId;
    const device = client ? parseSessionId(client.id) : null;
    if (!device || typeof messageId !== 'number') return;
    const apply = () => signals.puback(device.instanceId, device.clientId, messageId);
    batch.add(apply, (err) => {
      if (!err) return;
      // The device will not acknowledge again: on a full disk the PUBACK is recorded later.
      if (storage?.failed(err, 'MQTT PUBACK')) storage.retry('a PUBACK', () => batch.run(apply));
      else log('warn', 'PUBACK not recorded', { instanceId: device.instanceId, messageId, err: String(err) });
    });
  };
}
