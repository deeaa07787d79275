import { iso, type Clock } from '../clock/clock.js';
import type { DomainRow } from '../store/control-plane.js';
import type { RetentionDataType, RetentionStore } from '../store/retention.js';

const DAY_MS = 86_400_000;

/** Where each data type's retention period is kept on the domain. */
export const RETENTION_COLUMN: Record<RetentionDataType, 'retention_raw_data' | 'retention_rejected_data' | 'retention_historized_data' | 'retention_raw_command_data'> = {
  RAW_DATA: 'retention_raw_data',
  REJECTED_DATA: 'retention_rejected_data',
  HISTORIZED_DATA: 'retention_historized_data',
  RAW_COMMAND_DATA: 'retention_raw_command_data',
};

export interface PurgeReport {
  /** The clock time the pass measured every age against. */
  at: string;
  deleted: Partial<Record<RetentionDataType, number>>;
  batches: number;
}

/**
 * The retention purge: every `intervalMs` of the emulator's clock (and whenever a manual
 * clock moves past that), rows older than their domain's retention period are deleted,
 * `batchSize` at a time with a turn of the event loop between batches, so a large purge
 * never holds up the broker. Driven by the control plane's scheduler, not a timer of its own.
 */
export function createRetentionPurge(deps: {
  store: RetentionStore;
  clock: Clock;
  /** Every domain, deleted ones too: their data ages like any other. */
  domains(): DomainRow[];
  intervalMs?: number;
  batchSize?: number;
  onError?(err: unknown): void;
  /** Told after each pass that ran to its end (a storage that refused an earlier one takes writes again). */
  onPassed?(): void;
}) {
  const interval = deps.intervalMs ?? 60_000;
  const batchSize = deps.batchSize ?? 500;
  let nextRunAt = deps.clock.now();
  let running: Promise<PurgeReport> | null = null;
  let again = false;
  let last: PurgeReport | null = null;
  let rescheduled: () => void = () => {};

  async function pass(now: number): Promise<PurgeReport> {
    const report: PurgeReport = { at: iso(now), deleted: {}, batches: 0 };
    for (const target of deps.store.targets) {
      for (const domain of deps.domains()) {
        const cutoff = iso(now - domain[RETENTION_COLUMN[target.dataType]] * DAY_MS);
        for (;;) {
          const n = deps.store.purgeBatch(target, domain.id, cutoff, batchSize);
          report.batches++;
          if (n > 0) report.deleted[target.dataType] = (report.deleted[target.dataType] ?? 0) + n;
          if (n < batchSize) break;
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    }
    return report;
  }

  function start(now: number): void {
    nextRunAt = now + interval;
    running = pass(now)
      .then((report) => {
        deps.onPassed?.();
        return report;
      })
      .catch((err: unknown) => {
        deps.onError?.(err);
        return { at: iso(now), deleted: {}, batches: 0 };
      })
      .then((report) => {
        last = report;
        running = null;
        // The clock moved on while this pass ran (a manual clock stepped further): go again.
        if (again) {
          again = false;
          start(deps.clock.now());
        }
        rescheduled();
        return report;
      });
  }

  return {
    nextDeadline: () => (running ? null : nextRunAt),
    fireDue(now: number): void {
      if (running) {
        if (now >= nextRunAt) again = true;
        return;
      }
      if (now >= nextRunAt) start(now);
    },
    /** Told when the next run time changes, so the one scheduler can re-arm. */
    onRescheduled(listener: () => void): void {
      rescheduled = listener;
    },
    /** Resolves with the last pass's report once no pass is running or due. */
    async settled(): Promise<PurgeReport | null> {
      while (running) await running;
      return last;
    },
  };
}

export type RetentionPurge = ReturnType<typeof createRetentionPurge>;
