/**
 * ISO 8601 durations as OCI's raw command API takes them (`PT3M`, `PT10M`, `P1D`).
 * Years and months are refused: their length depends on the calendar, and a command
 * deadline has to be an exact number of milliseconds.
 */
const PATTERN = /^P(?!$)(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

export type DurationResult = { ok: true; ms: number } | { ok: false; reason: string };

export function parseDuration(text: string): DurationResult {
  const m = PATTERN.exec(text);
  if (!m) {
    return {
      ok: false,
      reason: /^P.*[YM].*T|^P\d+[YM]/.test(text)
        ? 'years and months are not supported; use weeks, days, hours, minutes or seconds (e.g. P30D)'
        : 'must be an ISO 8601 duration such as PT3M or PT1H30M',
    };
  }
  const [, w, d, h, min, s] = m;
  const ms =
    Number(w ?? 0) * 604_800_000 +
    Number(d ?? 0) * 86_400_000 +
    Number(h ?? 0) * 3_600_000 +
    Number(min ?? 0) * 60_000 +
    Math.round(Number(s ?? 0) * 1000);
  if (ms <= 0) return { ok: false, reason: 'must be longer than zero' };
  return { ok: true, ms };
}
