import { parseDuration } from '../durations.js';
import { invalid } from '../errors.js';

/** How one telemetry value moves from tick to tick. */
export type Generator =
  | { kind: 'constant'; value: unknown }
  /** start, start+step, start+2·step, …; back to min past max (and the other way for a negative step). */
  | { kind: 'ramp'; start?: number; step?: number; min?: number; max?: number }
  /** offset + amplitude · sin(2π · t / period), t on the emulator clock since the device started. */
  | { kind: 'sine'; amplitude?: number; period?: string; offset?: number }
  /** Each tick moves by a random amount in [-step, step], kept within [min, max]; seeded, so runs repeat. */
  | { kind: 'randomWalk'; start?: number; step?: number; min?: number; max?: number; seed?: number; integer?: boolean };

export const GENERATOR_KINDS = ['constant', 'ramp', 'sine', 'randomWalk'] as const;

/** A generator bound to its state: the value at tick `n` (from 0) at clock time `elapsedMs` since the start. */
export type ValueSource = (n: number, elapsedMs: number) => unknown;

const round = (x: number) => Math.round(x * 1000) / 1000;
const num = (value: unknown, name: string): number | undefined => {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(`${name} must be a finite number`);
  return value;
};

/** mulberry32: a tiny seeded PRNG, so a random walk is the same walk on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const seedOf = (name: string) => [...name].reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0, 7);

/** Checks a generator (400 naming the fault) and returns its value source. */
export function compileGenerator(name: string, g: Generator): ValueSource {
  const where = `telemetry value ${name}`;
  if (typeof g !== 'object' || g === null || !GENERATOR_KINDS.includes(g.kind)) {
    throw invalid(`${where}: kind must be one of ${GENERATOR_KINDS.join(', ')}`);
  }
  switch (g.kind) {
    case 'constant':
      if (g.value === undefined) throw invalid(`${where}: a constant needs a value`);
      return () => g.value;
    case 'ramp': {
      const start = num(g.start, `${where}.start`) ?? 0;
      const step = num(g.step, `${where}.step`) ?? 1;
      const min = num(g.min, `${where}.min`);
      const max = num(g.max, `${where}.max`);
      if (min !== undefined && max !== undefined && !(min < max)) throw invalid(`${where}: min must be below max`);
      return (n) => {
        const raw = start + step * n;
        if (min === undefined || max === undefined) return round(raw);
        const span = max - min;
        return round(min + ((((raw - min) % span) + span) % span));
      };
    }
    case 'sine': {
      const amplitude = num(g.amplitude, `${where}.amplitude`) ?? 1;
      const offset = num(g.offset, `${where}.offset`) ?? 0;
      const period = parseDuration(g.period ?? 'PT1M');
      if (!period.ok) throw invalid(`${where}: period "${g.period}" ${period.reason}`);
      return (_n, elapsed) => round(offset + amplitude * Math.sin((2 * Math.PI * elapsed) / period.ms));
    }
    case 'randomWalk': {
      const start = num(g.start, `${where}.start`) ?? 0;
      const step = num(g.step, `${where}.step`) ?? 1;
      const min = num(g.min, `${where}.min`) ?? -Infinity;
      const max = num(g.max, `${where}.max`) ?? Infinity;
      if (!(min <= start && start <= max)) throw invalid(`${where}: start must lie within min and max`);
      const random = prng(g.seed ?? seedOf(name));
      let value = start;
      let at = 0;
      return (n) => {
        // Ticks come in order; one skipped by a clock jump is walked over, so n alone fixes the value.
        for (; at < n; at++) value = Math.min(max, Math.max(min, value + (random() * 2 - 1) * step));
        return g.integer ? Math.round(value) : round(value);
      };
    }
  }
}

/** A DTDL telemetry property as the models part describes it: its name and schema. */
export interface TelemetryProperty {
  name: string;
  /** A DTDL primitive schema name (`double`, `integer`, `boolean`, `string`, …) or a complex schema object. */
  schema: unknown;
}

/**
 * The values a virtual device publishes by default for an instance with a DTDL model (as
 * DTDL-based device simulators do): one per telemetry property whose schema it can make up.
 */
export function defaultGenerators(properties: readonly TelemetryProperty[]): Record<string, Generator> {
  const out: Record<string, Generator> = {};
  properties.forEach((p, i) => {
    switch (p.schema) {
      case 'double':
      case 'float':
        out[p.name] = { kind: 'sine', amplitude: 5, offset: 20, period: `PT${60 + 15 * i}S` };
        break;
      case 'integer':
      case 'long':
        out[p.name] = { kind: 'randomWalk', start: 50, step: 3, min: 0, max: 100, integer: true };
        break;
      case 'boolean':
        out[p.name] = { kind: 'constant', value: true };
        break;
      case 'string':
        out[p.name] = { kind: 'constant', value: 'ok' };
        break;
      default:
        // Objects, arrays, enums, maps, times: nothing sensible to invent; left out.
        break;
    }
  });
  return out;
}
