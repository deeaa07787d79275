import { iso, type Clock } from '../clock.js';
import type { ClockQueue } from '../clock-queue.js';
import type { DevicePort, DeviceSignals, OutboundCommand } from '../commands/device-port.js';
import { faultCause, fractionHits, type DeviceFaultSpec, type FaultBook, type FaultView } from './faults.js';

export interface LoginRefusal {
  returnCode: 3 | 4 | 5;
  reason: string;
}

/**
 * Device faults sit between the command engine and the broker: a DevicePort decorator on
 * the way out (drop, delay, duplicate, disconnect after N), a DeviceSignals filter on the
 * way in (withhold PUBACKs or responses), and a login gate (refuse the next N logins). The
 * engine is not told: it sees a lost message, a silent device or a closed connection, as
 * it would on a network, and every effect is a `command_events` row naming the fault.
 */
export function createDeviceFaults(deps: {
  book: FaultBook;
  clock: Clock;
  queue: ClockQueue;
  /** Closes the device's live connection(s). */
  disconnect(instanceId: string): void;
}) {
  const { book, clock, queue } = deps;
  const now = () => iso(clock.now());

  function port(inner: DevicePort): DevicePort {
    /** Writes a command, applying the faults that act on the write itself. */
    function deliver(instanceId: string, message: OutboundCommand, written: (ok: boolean) => void): boolean {
      // Not connected (a held command whose device left meanwhile): nothing is written, nothing counted.
      if (!inner.liveClientId(instanceId)) return inner.send(instanceId, message, written);
      const ids = message.commandId === undefined ? [] : [message.commandId];
      const duplicate = book.deviceFault(instanceId, 'duplicate');
      const disconnect = book.deviceFault(instanceId, 'disconnect');
      let closeAfter = false;
      if (disconnect) {
        const k = disconnect.row.considered + 1;
        closeAfter = k >= (disconnect.params.afterCommands ?? 1);
        book.consult(
          disconnect,
          closeAfter
            ? {
                commandIds: ids,
                time: now(),
                cause: faultCause(disconnect.row, `device disconnected right after this command was written (command ${k} since the fault was set)`),
                detail: { faultId: disconnect.row.id, fault: 'disconnect', afterCommands: disconnect.params.afterCommands },
              }
            : null,
        );
      }
      const done = closeAfter
        ? (ok: boolean) => {
            written(ok);
            deps.disconnect(instanceId);
          }
        : written;
      const sent = inner.send(instanceId, message, done);
      if (sent && duplicate) {
        // MQTT sets DUP only on QoS 1 redeliveries; a QoS 0 copy is simply sent again.
        inner.send(instanceId, { ...message, dup: message.qos === 1 }, () => {});
        book.consult(duplicate, {
          commandIds: ids,
          time: now(),
          cause: faultCause(duplicate.row, message.qos === 1 ? 'delivered twice, the second copy flagged DUP with the same packet id' : 'delivered twice (QoS 0, no DUP flag)'),
          detail: { faultId: duplicate.row.id, fault: 'duplicate', messageId: message.messageId ?? null },
        });
      }
      return sent;
    }

    return {
      ...inner,
      send(instanceId, message, written) {
        // Redeliveries after a reconnect are the broker's own recovery, not a new command.
        if (!book.hasDeviceFaults(instanceId) || message.dup) return inner.send(instanceId, message, written);
        const ids = message.commandId === undefined ? [] : [message.commandId];
        if (!inner.liveClientId(instanceId)) return inner.send(instanceId, message, written);

        const drop = book.deviceFault(instanceId, 'drop');
        if (drop) {
          const fraction = drop.params.fraction;
          const hit = fraction === undefined || fractionHits(fraction, drop.row.considered + 1);
          book.consult(
            drop,
            hit
              ? {
                  commandIds: ids,
                  time: now(),
                  cause: faultCause(drop.row, 'command dropped on the way to the device (never written)'),
                  detail: { faultId: drop.row.id, fault: 'drop', fraction: fraction ?? null },
                }
              : null,
          );
          // The engine believes it sent the command: it waits for a PUBACK or response that never comes.
          if (hit) return true;
        }

        const delay = book.deviceFault(instanceId, 'delay');
        if (delay) {
          const ms = delay.params.delayMs!;
          const due = clock.now() + ms;
          book.consult(delay, {
            commandIds: ids,
            time: now(),
            cause: faultCause(delay.row, `delivery held for ${delay.params.delay}, until ${iso(due)} on the emulator clock`),
            detail: { faultId: delay.row.id, fault: 'delay', delay: delay.params.delay, due: iso(due) },
          });
          queue.at(due, () => {
            const sent = deliver(instanceId, message, written);
            book.record({
              commandIds: ids,
              time: now(),
              cause: faultCause(delay.row, sent ? 'held delivery written to the device' : 'held delivery not written: the device is not connected'),
              detail: { faultId: delay.row.id, fault: 'delay', written: sent },
            });
          });
          return true;
        }
        return deliver(instanceId, message, written);
      },
    };
  }

  function signals(inner: DeviceSignals): DeviceSignals {
    return {
      ...inner,
      puback(instanceId, messageId) {
        const fault = book.hasDeviceFaults(instanceId) ? book.deviceFault(instanceId, 'withholdPuback') : undefined;
        const commandId = fault ? book.commandAwaitingPuback(instanceId, messageId) : undefined;
        if (fault && commandId !== undefined) {
          book.consult(fault, {
            commandIds: [commandId],
            time: now(),
            cause: faultCause(fault.row, 'the device\'s PUBACK was withheld (never reached the platform)'),
            detail: { faultId: fault.row.id, fault: 'withholdPuback', messageId },
          });
          return;
        }
        inner.puback(instanceId, messageId);
      },
      published(instanceId, topic, payload) {
        const fault = book.hasDeviceFaults(instanceId) ? book.deviceFault(instanceId, 'withholdResponse') : undefined;
        const commandId = fault ? book.commandAwaitingResponse(instanceId, topic) : undefined;
        if (fault && commandId !== undefined) {
          book.consult(fault, {
            commandIds: [commandId],
            time: now(),
            cause: faultCause(fault.row, `the device's response on ${topic} was withheld (never reached the platform)`),
            detail: { faultId: fault.row.id, fault: 'withholdResponse', topic, bytes: payload.length },
          });
          return;
        }
        inner.published(instanceId, topic, payload);
      },
    };
  }

  /** Asked after a device's credentials were accepted: a refusal the fault imposes, or null. */
  function loginGate(instanceId: string): LoginRefusal | null {
    if (!book.hasDeviceFaults(instanceId)) return null;
    const fault = book.deviceFault(instanceId, 'refuseLogin');
    if (!fault) return null;
    const returnCode = (fault.params.returnCode ?? 3) as 3 | 4 | 5;
    book.consult(fault, {
      commandIds: book.unfinishedCommands(instanceId),
      time: now(),
      cause: faultCause(fault.row, `the device's login was refused (CONNACK ${returnCode})`),
      detail: { faultId: fault.row.id, fault: 'refuseLogin', returnCode },
    });
    return { returnCode, reason: `refused by fault ${fault.row.id} (refuseLogin)` };
  }

  /** Puts a device fault in force; `disconnect` without afterCommands acts at once. */
  function add(spec: DeviceFaultSpec): FaultView {
    const view = book.add(spec);
    if (spec.kind === 'disconnect' && spec.afterCommands === undefined) {
      const fault = book.deviceFault(spec.instanceId, 'disconnect');
      if (fault && fault.row.id === view.id) {
        const row = book.consult(fault, {
          commandIds: book.unfinishedCommands(spec.instanceId),
          time: now(),
          cause: faultCause(fault.row, 'device disconnected'),
          detail: { faultId: fault.row.id, fault: 'disconnect' },
        });
        deps.disconnect(spec.instanceId);
        return book.get(row.id);
      }
    }
    return view;
  }

  return { port, signals, loginGate, add };
}

export type DeviceFaults = ReturnType<typeof createDeviceFaults>;
