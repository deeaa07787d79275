import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Placement } from './proc.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');

/** What every scenario is given: the mode, where processes run, and scratch space. */
export interface BenchContext {
  quick: boolean;
  placement: Placement;
  /** When set, emulator processes run with --cpu-prof and write profiles here. */
  profileDir: string | null;
  log(message: string): void;
  /** A fresh directory removed when the run ends. */
  tempDir(prefix: string): string;
  cleanup(): void;
}

export function createContext(opts: { quick: boolean; placement: Placement; profileDir: string | null }): BenchContext {
  const dirs: string[] = [];
  const t0 = performance.now();
  return {
    ...opts,
    log(message) {
      process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
    },
    tempDir(prefix) {
      const dir = mkdtempSync(join(tmpdir(), `oci-iot-bench-${prefix}-`));
      dirs.push(dir);
      return dir;
    },
    cleanup() {
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type Status = 'met' | 'missed' | '';

/** One line of the summary table. */
export interface Row {
  measure: string;
  emulator: string;
  ceiling: string;
  ratio: string;
  target: string;
  status: Status;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** What a scenario hands back: summary rows, correctness checks and a markdown details block. */
export interface Section {
  id: string;
  title: string;
  rows: Row[];
  checks: Check[];
  details: string;
}

export const judge = (ok: boolean | null): Status => (ok === null ? '' : ok ? 'met' : 'missed');
