import type { DeviceSignals } from '../commands/device-port.js';
import type { WriteBatch } from '../store/write-batch.js';
import { parseSessionId } from './connections.js';
import type { BrokerLog } from './log.js';

/**
 * PUBACK: the session persistence reports each acknowledgement Aedes records (its
 * onAcknowledged option), with the session (device and client id) whose packet id it is;
 * the command it acknowledges moves in the batch of device writes,
 * so commands it frees room for are written only after that batch commits.
 */
export function acknowledgementHandler(deps: { batch: WriteBatch; signals: DeviceSignals; log: BrokerLog }) {
  const { batch, signals, log } = deps;
  return function acknowledged(session: { id: string }, messageId: number): void {
    const device = parseSessionId(session.id);
    if (!device) return;
    batch.add(
      () => signals.puback(device.instanceId, device.clientId, messageId),
      (err) => err && log('warn', 'PUBACK not recorded', { instanceId: device.instanceId, messageId, err: String(err) }),
    );
  };
}
