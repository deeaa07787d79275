/** Every notion of "now" in the emulator comes from a Clock, so tests and demos can move time. */
export interface Clock {
  readonly kind: 'system' | 'manual';
  now(): number;
  /** Called after a manual clock moves, so the scheduler can fire what became due. */
  onChange(listener: () => void): void;
}

export interface ManualClock extends Clock {
  readonly kind: 'manual';
  advance(ms: number): number;
  set(epochMs: number): number;
}

export function systemClock(): Clock {
  return { kind: 'system', now: () => Date.now(), onChange: () => {} };
}

export function manualClock(start = Date.now()): ManualClock {
  let current = start;
  const listeners: Array<() => void> = [];
  const moved = () => {
    for (const listener of listeners) listener();
    return current;
  };
  return {
    kind: 'manual',
    now: () => current,
    onChange: (listener) => void listeners.push(listener),
    advance(ms) {
      if (!(ms >= 0)) throw new RangeError('a manual clock only moves forward');
      current += ms;
      return moved();
    },
    set(epochMs) {
      if (!(epochMs >= current)) throw new RangeError('a manual clock only moves forward');
      current = epochMs;
      return moved();
    },
  };
}

export function isManual(clock: Clock): clock is ManualClock {
  return clock.kind === 'manual';
}

// Time formats are shared primitives (store/ formats times too); the clock re-exports them.
export { iso, isoMicros, epochMicrosOf } from '../time-format.js';
