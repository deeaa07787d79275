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
export function acknowledgementHandler(deps: { batch: WriteBatch; signals: Inbound; log: BrokerLog }) {
  const { batch, signals, log } = deps;
  return function acknowledged(packet: { messageId?: number } | undefined, client: { id: string } | null | undefined): void {
    const messageId = packet?.messageId;
    const device = client ? parseSessionId(client.id) : null;
    if (!device || typeof messageId !== 'number') return;
    batch.add(
      () => signals.puback(device.instanceId, device.clientId, messageId),
      (err) => err && log('warn', 'PUBACK not recorded', { instanceId: device.instanceId, messageId, err: String(err) }),
    );
  };
}
