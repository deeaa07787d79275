/** ISO 8601 formatting of epoch times, shared by the clock, the store and the API. */

// The last one converted: a command's change formats the same millisecond several times
// (the row, its event, its delivery), and so do the changes of one batch.
let lastMs = NaN;
let lastIso = '';
export const iso = (epochMs: number): string => {
  if (epochMs !== lastMs) {
    lastIso = new Date(epochMs).toISOString();
    lastMs = epochMs;
  }
  return lastIso;
};

/**
 * An ISO 8601 UTC time with microseconds (`2025-09-10T13:47:05.226854Z`), as OCI keeps
 * `time_observed`; `epochMicros` may carry more precision than the clock's milliseconds.
 */
export function isoMicros(epochMicros: number): string {
  const us = Math.floor(epochMicros);
  const ms = Math.floor(us / 1000);
  return `${iso(ms).slice(0, -1)}${String(us - ms * 1000).padStart(3, '0')}Z`;
}

/** Epoch microseconds of an ISO 8601 time, keeping up to six digits of its fraction; NaN when it is no time. */
export function epochMicrosOf(text: string): number {
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) return NaN;
  const fraction = /\.(\d+)/.exec(text)?.[1] ?? '';
  // Date.parse kept the first three digits; the next three are the microseconds.
  return ms * 1000 + Number(fraction.slice(3, 6).padEnd(3, '0'));
}
