import type { Clock } from './clock.js';
import { createScheduler } from './scheduler.js';

export interface ClockQueue {
  /** Runs `action` once the clock reaches `at` (epoch ms); returns a function that cancels it. */
  at(at: number, action: () => void): () => void;
  /** Items waiting. */
  readonly size: number;
  stop(): void;
}

/**
 * In-memory timed actions on the emulator's clock (a delayed command, a virtual device's
 * reply or telemetry tick), all behind the one scheduler the command deadlines use: one
 * timer whatever the number of items, and a manual clock fires them, in time order, when
 * it moves.
 */
export function clockQueue(clock: Clock, onError?: (err: unknown, action: () => void) => void): ClockQueue {
  // Kept sorted by (at, sequence); the queues here hold tens of items, not thousands.
  const items: Array<{ at: number; seq: number; action: () => void }> = [];
  let seq = 0;
  let firing = false;
  let stopped = false;
  function fireDue(now: number): void {
    // An action that queues another due item (a periodic tick) is run in the same pass.
    if (firing || stopped) return;
    firing = true;
    try {
      while (items.length && items[0].at <= now) {
        const { action } = items.shift()!;
        if (!onError) action();
        else {
          // One action that fails (a full disk under a delayed command) must not stop the others or the process.
          try {
            action();
          } catch (err) {
            onError(err, action);
          }
        }
      }
    } finally {
      firing = false;
    }
  }
  const scheduler = createScheduler(clock, { nextDeadline: () => (items.length ? items[0].at : null), fireDue });
  return {
    at(at, action) {
      const item = { at, seq: seq++, action };
      let i = items.length;
      while (i > 0 && items[i - 1].at > at) i--;
      items.splice(i, 0, item);
      // A manual clock fires only when it moves: what is due already runs on the next turn.
      if (at <= clock.now()) setImmediate(() => fireDue(clock.now()));
      else scheduler.reschedule();
      return () => {
        const index = items.indexOf(item);
        if (index >= 0) items.splice(index, 1);
        scheduler.reschedule();
      };
    },
    get size() {
      return items.length;
    },
    stop() {
      stopped = true;
      items.length = 0;
      scheduler.stop();
    },
  };
}
