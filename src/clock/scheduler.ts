import type { Clock } from './clock.js';

/**
 * One timer for every command deadline. The earliest deadline is read from the store
 * when the timer fires (and at start), and a new deadline only ever moves it earlier, so
 * there is no timer per command, no query per command, and nothing to rebuild after a
 * restart. A manual clock fires due deadlines when it moves.
 */
export function createScheduler(
  clock: Clock,
  hooks: { nextDeadline(): number | null; fireDue(now: number): void },
) {
  let timer: NodeJS.Timeout | undefined;
  let armedFor: number | null = null;
  let stopped = false;

  const run = () => {
    if (stopped) return;
    timer = undefined;
    armedFor = null;
    hooks.fireDue(clock.now());
    reschedule();
  };

  function reschedule(): void {
    if (stopped || clock.kind === 'manual') return;
    const next = hooks.nextDeadline();
    if (next === armedFor) return;
    if (timer) clearTimeout(timer);
    timer = undefined;
    armedFor = next;
    if (next === null) return;
    // setTimeout cannot wait longer than 2^31-1 ms; waking early just re-arms.
    const wait = Math.min(Math.max(0, next - clock.now()) + 1, 2_147_483_647);
    timer = setTimeout(run, wait);
  }

  /**
   * A deadline was set: the timer moves earlier if it is the first. Cheaper than reschedule
   * (no query) for the hot path; a deadline that goes away (the command finished) leaves the
   * timer as it is, and when it fires early, fireDue finds nothing and reschedule re-arms.
   */
  function consider(deadline: number | null): void {
    if (stopped || clock.kind === 'manual' || deadline === null) return;
    if (armedFor !== null && armedFor <= deadline) return;
    if (timer) clearTimeout(timer);
    armedFor = deadline;
    const wait = Math.min(Math.max(0, deadline - clock.now()) + 1, 2_147_483_647);
    timer = setTimeout(run, wait);
  }

  clock.onChange(() => {
    if (!stopped) hooks.fireDue(clock.now());
  });

  return {
    reschedule,
    consider,
    stop(): void {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

export type Scheduler = ReturnType<typeof createScheduler>;
