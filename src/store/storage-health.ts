import { methodView } from './method-view.js';
import { storageFault, type StorageFault, type StorageFaultKind } from './storage-errors.js';

/**
 * What the emulator does while its storage refuses writes (a full disk, a read-only or
 * failing one): it keeps running. Each path that writes reports its failure here; the first
 * one is logged once, naming the data dir and the cause, and /emulator/health says it is
 * degraded until a write succeeds again, which is logged once too. Writes nobody waits on
 * (a device's session row, a webhook's attempt, a device's held publish) and the timers
 * (command deadlines, work requests, the retention purge) are tried again later on the
 * emulator's clock, so a manual clock drives the retries in tests.
 */
export type StorageStatus =
  | { ok: true }
  | { ok: false; kind: StorageFaultKind; code: string; cause: string; since: string; where: string; refused: number };

/**
 * The emulator's clock as far as this needs it (clock/clock.ts's Clock fits it): store/
 * imports only shared primitives.
 */
export interface HealthClock {
  readonly kind: 'system' | 'manual';
  now(): number;
  onChange(listener: () => void): void;
}

/** Enough of a pino logger. */
export interface HealthLog {
  error(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
}

export interface StorageHealth {
  /**
   * Notes a failed write on the path `where`; returns the storage fault, or null when `err`
   * is no storage fault (then nothing is noted: the caller treats it as its own error).
   */
  failed(err: unknown, where: string): StorageFault | null;
  /** A write committed: the storage takes writes again. */
  succeeded(): void;
  status(): StorageStatus;
  /**
   * Runs `write` again later on the clock, and again, with a growing wait, for as long as it
   * fails for the storage. A newer retry with the same `key` replaces a waiting one (the
   * latest state of a row wins). Any other error ends the retries and is logged.
   */
  retry(where: string, write: () => void | Promise<void>, key?: string): void;
  /** Whether a retry with this key is waiting. */
  retrying(key: string): boolean;
  /** Drops a waiting retry (its write is no longer wanted, e.g. its connection is gone). */
  cancel(key: string): void;
  /**
   * The hooks of a timer (clock/scheduler.ts) made safe: a due step that fails for the
   * storage (or for anything else) is tried again after a wait instead of ending the process.
   */
  guardTimer<H extends { nextDeadline(): number | null; fireDue(now: number): void }>(where: string, hooks: H): H;
  stop(): void;
}

/** The first wait before a failed write is tried again, doubling up to the last. */
const RETRY_DELAYS_MS = [1_000, 2_000, 4_000, 8_000, 10_000];
const delayFor = (attempt: number) => RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)];

export function createStorageHealth(deps: { dataDir: string; clock: HealthClock; log: HealthLog }): StorageHealth {
  const { clock, log } = deps;
  let degraded: Extract<StorageStatus, { ok: false }> | null = null;
  type Item = { key: string; where: string; write: () => void | Promise<void>; at: number; attempt: number; running: boolean };
  const items = new Map<string, Item>();
  let anonymous = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  function failed(err: unknown, where: string): StorageFault | null {
    const fault = storageFault(err);
    if (!fault) return null;
    if (degraded && degraded.code === fault.code) {
      degraded.refused++;
      return fault;
    }
    degraded = { ok: false, kind: fault.kind, code: fault.code, cause: fault.message, since: new Date(clock.now()).toISOString(), where, refused: 1 };
    log.error(
      { dataDir: deps.dataDir, code: fault.code, where },
      `storage fault in data dir ${deps.dataDir}: ${fault.message}; writes are answered 503 (devices get no PUBACK) and tried again until it is fixed`,
    );
    return fault;
  }

  function succeeded(): void {
    if (!degraded) return;
    log.warn(
      { dataDir: deps.dataDir, code: degraded.code, refused: degraded.refused, since: degraded.since },
      `storage in data dir ${deps.dataDir} takes writes again (${degraded.refused} refused since ${degraded.since})`,
    );
    degraded = null;
  }

  function arm(): void {
    if (stopped || clock.kind === 'manual') return;
    if (timer) clearTimeout(timer);
    timer = undefined;
    let next = Infinity;
    for (const item of items.values()) if (!item.running) next = Math.min(next, item.at);
    if (next === Infinity) return;
    timer = setTimeout(runDue, Math.min(Math.max(0, next - clock.now()) + 1, 2_147_483_647));
    timer.unref?.();
  }

  function runDue(): void {
    timer = undefined;
    if (stopped) return;
    const now = clock.now();
    for (const item of [...items.values()]) {
      if (item.running || item.at > now) continue;
      item.running = true;
      const settle = (err: unknown) => {
        item.running = false;
        // Replaced while it ran: the newer write is the one that counts.
        if (items.get(item.key) !== item) return;
        if (err === null) {
          items.delete(item.key);
          succeeded();
        } else if (failed(err, item.where)) {
          item.at = clock.now() + delayFor(++item.attempt);
        } else {
          items.delete(item.key);
          log.error({ err, where: item.where }, `${item.where}: failed, and is not tried again`);
        }
        arm();
      };
      try {
        const done = item.write();
        if (done instanceof Promise) done.then(() => settle(null), settle);
        else settle(null);
      } catch (err) {
        settle(err);
      }
    }
    arm();
  }

  clock.onChange(() => {
    if (!stopped && items.size > 0) runDue();
  });

  return {
    failed,
    succeeded,
    status: () => degraded ?? { ok: true },
    retry(where, write, key) {
      if (stopped) return;
      const k = key ?? `#${anonymous++}`;
      items.set(k, { key: k, where, write, at: clock.now() + delayFor(0), attempt: 0, running: false });
      arm();
    },
    retrying: (key) => items.has(key),
    cancel(key) {
      items.delete(key);
      arm();
    },
    guardTimer(where, hooks) {
      let resumeAt = -Infinity;
      let attempt = 0;
      const backOff = (err: unknown) => {
        if (!failed(err, where)) log.error({ err, where }, `${where}: failed; tried again later`);
        resumeAt = clock.now() + delayFor(attempt++);
      };
      return {
        ...hooks,
        nextDeadline() {
          let next: number | null;
          try {
            next = hooks.nextDeadline();
          } catch (err) {
            backOff(err);
            return resumeAt;
          }
          if (clock.now() >= resumeAt) return next;
          return next === null ? resumeAt : Math.max(next, resumeAt);
        },
        fireDue(now) {
          if (now < resumeAt) return;
          try {
            hooks.fireDue(now);
          } catch (err) {
            backOff(err);
            return;
          }
          if (attempt > 0) {
            attempt = 0;
            resumeAt = -Infinity;
            succeeded();
          }
        },
      };
    },
    stop() {
      stopped = true;
      items.clear();
      if (timer) clearTimeout(timer);
    },
  };
}

/**
 * `target` with every method whose promise rejects for the storage noted in `health` on
 * the path `where` (the rejection itself goes on as before): the broker's session
 * persistence, whose failures Aedes answers by closing the connection, so the cause still
 * shows in /emulator/health and the log. A method named in `tolerated` resolves to
 * undefined on a storage fault instead of rejecting (for callers that never handle one).
 */
export function notingStorageFaults<T extends object>(
  target: T,
  where: string,
  health: Pick<StorageHealth, 'failed'> | undefined,
  tolerated: ReadonlyArray<keyof T> = [],
): T {
  if (!health) return target;
  // Made once, as a plain object: the broker calls some of these on every packet.
  return methodView(target, (key, method) => {
    // Non-async methods pass through (bound to `target`); async ones stay async functions:
    // Aedes checks that of its persistence.
    if (method.constructor.name !== 'AsyncFunction') return undefined;
    const forgiven = tolerated.includes(key as keyof T);
    return async (...args: never[]) => {
      try {
        return await method.apply(target, args);
      } catch (err) {
        if (health.failed(err, where) && forgiven) return undefined;
        throw err;
      }
    };
  });
}
