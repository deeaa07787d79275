/** ISO 8601 durations as every part of the emulator takes them (src/durations.ts). */
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../src/durations.js';

describe('ISO 8601 durations', () => {
  it.each([
    ['PT3M', 180_000],
    ['PT10M', 600_000],
    ['PT1H30M', 5_400_000],
    ['P1D', 86_400_000],
    ['P1W', 604_800_000],
    ['PT0.5S', 500],
    ['P1DT2H', 93_600_000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toEqual({ ok: true, ms }));

  it.each(['', '3M', 'PT', 'P', 'PT-1M', '-PT1M', 'PT1X', 'T3M', 'pt3m'])('refuses %j', (text) =>
    expect(parseDuration(text).ok).toBe(false),
  );

  it('refuses zero and calendar units with a reason', () => {
    expect(parseDuration('PT0S')).toEqual({ ok: false, reason: 'must be longer than zero' });
    expect(parseDuration('P1M')).toMatchObject({ ok: false, reason: expect.stringMatching(/months/) });
  });

  it('keeps its exact reasons for years, months, zero and negative durations', () => {
    const calendar = 'years and months are not supported; use weeks, days, hours, minutes or seconds (e.g. P30D)';
    const shape = 'must be an ISO 8601 duration such as PT3M or PT1H30M';
    for (const text of ['P1Y', 'P1M', 'P1Y2M', 'P1MT1H', 'P0Y1D']) expect(parseDuration(text), text).toEqual({ ok: false, reason: calendar });
    for (const text of ['PT0S', 'P0D', 'PT0.0004S']) expect(parseDuration(text), text).toEqual({ ok: false, reason: 'must be longer than zero' });
    for (const text of ['-PT1M', 'PT-1M', 'P1DT', 'PT1.5H', 'PT1,5S', 'xPT3M', 'PT3Mx']) expect(parseDuration(text), text).toEqual({ ok: false, reason: shape });
  });
});
