import type { Clock } from '../clock.js';

/**
 * One timer for every command deadline. The earliest deadline is read from the store
 * each time something changes, so there is no timer per command and nothing to rebuild
 * after a restart. A manual clock fires due deadlines when it moves.
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

  clock.onChange(() => {
    if (!stopped) hooks.fireDue(clock.now());
  });

  return {
    reschedule,
    stop(): void {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

export type Scheduler = ReturnType<typeof createScheduler>;
