/**
 * ISO 8601 durations, parsed in one place for every part that takes one: the raw command
 * API (`PT3M`, `PT10M`, `P1D`), configuration, certificate validity and the manual clock.
 * The `iso8601-duration` package gives the grammar and the numbers; the rules here are the
 * emulator's. Years and months are refused: their length depends on the calendar, and a
 * command deadline has to be an exact number of milliseconds (for the same reason the
 * package's `toSeconds`, which counts from a date in local time, is not used).
 */
import { parse, pattern } from 'iso8601-duration';

export type DurationResult = { ok: true; ms: number } | { ok: false; reason: string };

/** The package's pattern finds a duration inside any text; a value must be one and nothing else. */
const WHOLE = new RegExp(`^${pattern.source}$`);
/** Group 1 is years, group 2 months (`PnYnMnWnDTnHnMnS`). */
const YEARS = 1;
const MONTHS = 2;

const SHAPE = 'must be an ISO 8601 duration such as PT3M or PT1H30M';
const CALENDAR = 'years and months are not supported; use weeks, days, hours, minutes or seconds (e.g. P30D)';

/**
 * Every invoke carries one or two durations, nearly always the same few texts: each is
 * parsed once (three patterns and the package's parse were ~10 µs of every invoke).
 */
const parsed = new Map<string, DurationResult>();
const MAX_PARSED = 1000;

export function parseDuration(text: string): DurationResult {
  let result = parsed.get(text);
  if (result) return result;
  result = Object.freeze(parseUncached(text));
  if (parsed.size >= MAX_PARSED) parsed.clear();
  parsed.set(text, result);
  return result;
}

function parseUncached(text: string): DurationResult {
  const match = WHOLE.exec(text);
  if (!match) return { ok: false, reason: /^P.*[YM].*T|^P\d+[YM]/.test(text) ? CALENDAR : SHAPE };
  if (match[YEARS] !== undefined || match[MONTHS] !== undefined) return { ok: false, reason: CALENDAR };
  // The package takes a bare `T` ("P1DT"), which ISO 8601 does not, and fractions of hours and
  // minutes or a decimal comma, which the emulator has never taken: only seconds have a fraction.
  if (/T(?!\d)|,|\.\d+[HM]/.test(text)) return { ok: false, reason: SHAPE };
  let d;
  try {
    d = parse(text);
  } catch {
    // "P" and "PT" match the pattern with no element at all.
    return { ok: false, reason: SHAPE };
  }
  const ms = Math.round(
    (d.weeks ?? 0) * 604_800_000 + (d.days ?? 0) * 86_400_000 + (d.hours ?? 0) * 3_600_000 + (d.minutes ?? 0) * 60_000 + (d.seconds ?? 0) * 1000,
  );
  if (ms <= 0) return { ok: false, reason: 'must be longer than zero' };
  return { ok: true, ms };
}
