import { iso, type Clock } from '../clock/clock.js';
import type { ClockQueue } from '../clock/clock-queue.js';
import type { DevicePort, DeliveryTarget, OutboundCommand } from '../commands/device-port.js';
import type { FaultEffect } from '../store/faults.js';
import { faultCause, fractionHits, type ActiveFault, type DeviceFaultKind, type DeviceFaultSpec, type FaultBook, type FaultView } from './faults.js';

type ConnectionKey = Pick<DeliveryTarget, 'sessionInstanceId' | 'clientId'>;

export interface LoginRefusal {
  returnCode: 3 | 5;
  reason: string;
}

/**
 * Device faults sit between the command engine and the broker: a DevicePort decorator on
 * the way out (drop, delay, duplicate, disconnect after N), a stage of the inbound pipeline
 * on the way in (withhold PUBACKs or responses, broker/inbound.ts), and a login gate (refuse the next N logins). The
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
    /**
     * A command goes to every matching connection of its device: one `send` per connection.
     * A fault decides once per command (the first copy) and every copy follows that decision,
     * so "the next N commands" counts commands, not connections.
     */
    const decided = new Map<string, { commandId: number; hit: boolean }>();
    const holds = new Map<number, { row: ActiveFault['row']; delay: string; due: number }>();
    const lastCommand = new Map<string, number>();
    /**
     * Whether the fault of `kind` on the instance takes this command; the copies of a command
     * after the first follow the first's decision, even once that used the fault up.
     */
    function decide(instanceId: string, kind: DeviceFaultKind, commandId: number | undefined, effect: (fault: ActiveFault) => FaultEffect | null): boolean {
      const key = `${instanceId} ${kind}`;
      const last = decided.get(key);
      if (commandId !== undefined && last?.commandId === commandId) return last.hit;
      const fault = book.deviceFault(instanceId, kind);
      if (!fault) return false;
      const made = effect(fault);
      book.consult(fault, made);
      if (commandId !== undefined) decided.set(key, { commandId, hit: made !== null });
      return made !== null;
    }

    /** Writes a command on one connection, applying the faults that act on the write itself. */
    function deliver(to: ConnectionKey, message: OutboundCommand, written: (ok: boolean) => void): boolean {
      const instanceId = to.sessionInstanceId;
      const ids = message.commandId === undefined ? [] : [message.commandId];
      let closeAfter = false;
      const sent = inner.send(to, message, (ok) => {
        written(ok);
        if (closeAfter) deps.disconnect(instanceId);
      });
      if (!sent) return false;
      closeAfter = decide(instanceId, 'disconnect', message.commandId, (fault) => {
        const k = fault.row.considered + 1;
        return k >= (fault.params.afterCommands ?? 1)
          ? {
              commandIds: ids,
              time: now(),
              cause: faultCause(fault.row, `device disconnected right after this command was written (command ${k} since the fault was set)`),
              detail: { faultId: fault.row.id, fault: 'disconnect', afterCommands: fault.params.afterCommands },
            }
          : null;
      });
      const twice = decide(instanceId, 'duplicate', message.commandId, (fault) => ({
        commandIds: ids,
        time: now(),
        cause: faultCause(fault.row, message.qos === 1 ? 'delivered twice, the second copy flagged DUP with the same packet id' : 'delivered twice (QoS 0, no DUP flag)'),
        detail: { faultId: fault.row.id, fault: 'duplicate', messageId: message.messageId ?? null },
      }));
      // MQTT sets DUP only on QoS 1 redeliveries; a QoS 0 copy is simply sent again.
      if (twice) inner.send(to, { ...message, dup: message.qos === 1 }, () => {});
      return sent;
    }

    return {
      ...inner,
      send(to, message, written) {
        // Faults name the instance whose connections they act on: a device, or a gateway
        // (then everything that travels over its connections). Redeliveries after a
        // reconnect are the broker's own recovery, not a new command.
        const instanceId = to.sessionInstanceId;
        if (message.dup) return inner.send(to, message, written);
        // A later copy of a command a fault decided on follows it, even if that used the fault up.
        const copy = message.commandId !== undefined && lastCommand.get(instanceId) === message.commandId;
        if (!copy && !book.hasDeviceFaults(instanceId)) return inner.send(to, message, written);
        if (message.commandId !== undefined) lastCommand.set(instanceId, message.commandId);
        const ids = message.commandId === undefined ? [] : [message.commandId];

        const dropped = decide(instanceId, 'drop', message.commandId, (fault) =>
          fault.params.fraction === undefined || fractionHits(fault.params.fraction, fault.row.considered + 1)
            ? {
                commandIds: ids,
                time: now(),
                cause: faultCause(fault.row, 'command dropped on the way to the device (never written)'),
                detail: { faultId: fault.row.id, fault: 'drop', fraction: fault.params.fraction ?? null },
              }
            : null,
        );
        // The engine believes it sent the command: it waits for a PUBACK or response that never comes.
        if (dropped) return true;

        let held: { row: ActiveFault['row']; delay: string; due: number } | null = null;
        decide(instanceId, 'delay', message.commandId, (fault) => {
          const due = clock.now() + fault.params.delayMs!;
          held = { row: fault.row, delay: fault.params.delay!, due };
          return {
            commandIds: ids,
            time: now(),
            cause: faultCause(fault.row, `delivery held for ${fault.params.delay}, until ${iso(due)} on the emulator clock`),
            detail: { faultId: fault.row.id, fault: 'delay', delay: fault.params.delay, due: iso(due) },
          };
        });
        // The other copies of a held command wait as long as the first.
        const hold = held ?? (message.commandId !== undefined ? holds.get(message.commandId) : undefined);
        if (hold) {
          if (message.commandId !== undefined) holds.set(message.commandId, hold);
          queue.at(hold.due, () => {
            if (message.commandId !== undefined) holds.delete(message.commandId);
            const sent = deliver(to, message, written);
            book.record({
              commandIds: ids,
              time: now(),
              cause: faultCause(hold.row, sent ? `held delivery written to ${to.clientId}` : `held delivery not written: ${to.clientId} is not connected`),
              detail: { faultId: hold.row.id, fault: 'delay', written: sent, clientId: to.clientId },
            });
          });
          return true;
        }
        return deliver(to, message, written);
      },
    };
  }

  /** withholdPuback: true when the device's PUBACK is withheld (it never reaches the platform). */
  function withholdsPuback(instanceId: string, clientId: string, messageId: number): boolean {
    const fault = book.hasDeviceFaults(instanceId) ? book.deviceFault(instanceId, 'withholdPuback') : undefined;
    const commandId = fault ? book.commandAwaitingPuback(instanceId, clientId, messageId) : undefined;
    if (!fault || commandId === undefined) return false;
    book.consult(fault, {
      commandIds: [commandId],
      time: now(),
      cause: faultCause(fault.row, 'the device\'s PUBACK was withheld (never reached the platform)'),
      detail: { faultId: fault.row.id, fault: 'withholdPuback', messageId },
    });
    return true;
  }

  /**
   * withholdResponse: true when the publisher's response to `command` is withheld (it never
   * reaches the platform). The publisher is the device, or the gateway that carries the
   * answer of its INDIRECT instance: a fault on the gateway withholds both.
   */
  function withholdsResponse(publisherId: string, topic: string, command: { id: number }, payload: Buffer): boolean {
    const fault = book.hasDeviceFaults(publisherId) ? book.deviceFault(publisherId, 'withholdResponse') : undefined;
    if (!fault) return false;
    book.consult(fault, {
      commandIds: [command.id],
      time: now(),
      cause: faultCause(fault.row, `the device's response on ${topic} was withheld (never reached the platform)`),
      detail: { faultId: fault.row.id, fault: 'withholdResponse', topic, bytes: payload.length },
    });
    return true;
  }


  /** Asked after a device's credentials were accepted: a refusal the fault imposes, or null. */
  function loginGate(instanceId: string): LoginRefusal | null {
    if (!book.hasDeviceFaults(instanceId)) return null;
    const fault = book.deviceFault(instanceId, 'refuseLogin');
    if (!fault) return null;
    const returnCode = (fault.params.returnCode ?? 3) as 3 | 5;
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

  return { port, withholdsPuback, withholdsResponse, loginGate, add };
}

export type DeviceFaults = ReturnType<typeof createDeviceFaults>;
