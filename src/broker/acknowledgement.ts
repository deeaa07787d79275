import type { DeviceSignals } from '../commands/device-port.js';
import type { StorageHealth } from '../store/storage-health.js';
import type { WriteBatch } from '../store/write-batch.js';
import { parseSessionId } from './connections.js';
import type { BrokerLog } from './log.js';

/**
 * PUBACK: the session persistence reports each acknowledgement Aedes records (its
 * onAcknowledged option), with the session (device and client id) whose packet id it is;
 * the command it acknowledges moves in the batch of device writes,
 * so commands it frees room for are written only after that batch commits.
 */
export function acknowledgementHandler(deps: { batch: WriteBatch; signals: DeviceSignals; log: BrokerLog; storage?: StorageHealth }) {
  const { batch, signals, log, storage } = deps;
  return function acknowledged(session: { id: string }, messageId: number): void {
    const device = parseSessionId(session.id);
    if (!device) return;
    const apply = () => signals.puback(device.instanceId, device.clientId, messageId);
    batch.add(apply, (err) => {
      if (!err) return;
      // The device will not acknowledge again: on a full disk the PUBACK is recorded later.
      if (storage?.failed(err, 'MQTT PUBACK')) storage.retry('a PUBACK', () => batch.run(apply));
      else log('warn', 'PUBACK not recorded', { instanceId: device.instanceId, messageId, err: String(err) });
    });
  };
}
