import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { Clock } from '../../src/clock/clock.js';
import { createScheduler } from '../../src/clock/scheduler.js';

beforeEach(() => vi.useFakeTimers({ now: 0 }));
afterEach(() => vi.useRealTimers());

const clock: Clock = { kind: 'system', now: () => Date.now(), onChange: () => {} };

it('consider arms the timer without a query, only ever earlier; a wake-up with nothing due re-arms from the store', () => {
  const deadlines = new Set<number>();
  const fired: number[] = [];
  const nextDeadline = vi.fn(() => (deadlines.size ? Math.min(...deadlines) : null));
  const scheduler = createScheduler(clock, {
    nextDeadline,
    fireDue(now) {
      for (const d of [...deadlines].sort((a, b) => a - b)) {
        if (d > now) break;
        deadlines.delete(d);
        fired.push(d);
      }
    },
  });
  deadlines.add(1000);
  scheduler.consider(1000);
  deadlines.add(5000);
  scheduler.consider(5000); // later: the timer stays at 1000
  expect(nextDeadline).not.toHaveBeenCalled();

  deadlines.delete(1000); // that command finished early; its deadline left no timer work behind
  vi.advanceTimersByTime(1001);
  expect(fired).toEqual([]);
  expect(nextDeadline).toHaveBeenCalledTimes(1); // re-armed from the store, for 5000

  vi.advanceTimersByTime(4000);
  expect(fired).toEqual([5000]);
  scheduler.stop();
});
