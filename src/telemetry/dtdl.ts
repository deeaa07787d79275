import type { RE2JS } from 're2js';
import { sourceRequire } from '../lazy-require.js';

// Loaded at the first pattern: importing re2js costs ~40 ms of every start.
let re2js: typeof import('re2js') | undefined;
const re2 = () => (re2js ??= (sourceRequire ? sourceRequire('re2js') : require('re2js')) as typeof import('re2js'));

/**
 * DTDL v3 as OCI IoT takes it: an Interface whose contents are Telemetry, Property,
 * Component, Relationship and Command, with primitive and complex schemas and the
 * historization, quantitative-types and Oracle validation extensions. `parseModel` refuses
 * what does not fit with a message naming the fault; its result is what the adapter
 * checks and the pipeline validates values against.
 */

export type Schema =
  | { kind: 'primitive'; name: string }
  | { kind: 'array'; element: Schema }
  | { kind: 'enum'; valueSchema: 'integer' | 'string'; values: Array<string | number> }
  | { kind: 'map'; value: Schema }
  | { kind: 'object'; fields: Map<string, Schema> | null };

export interface ContentDefinition {
  /** OCI's content path: the name, or `component.name` inside a component. */
  path: string;
  kind: 'Telemetry' | 'Property';
  displayName?: string;
  unit?: string;
  historized: boolean;
  schema: Schema;
  /** Oracle's validation extension (`Validated` co-type). */
  limits?: { minimum?: number; maximum?: number; pattern?: Pattern; minLength?: number; maxLength?: number };
}

/** A Validated `pattern`, matched in time linear in the value (RE2), so no value can stall the broker. */
export interface Pattern {
  source: string;
  /** Whether `value` matches, or 'too-long' when matching it would cost more than a message may. */
  test(value: string): boolean | 'too-long';
}

export interface ParsedModel {
  specUri: string;
  displayName?: string;
  description?: string;
  /** Every Telemetry and Property, including those of components, by content path. */
  contents: Map<string, ContentDefinition>;
  relationships: string[];
  commands: string[];
}

export class DtdlError extends Error {}

const CONTEXT_V3 = 'dtmi:dtdl:context;3';
const HISTORIZATION = 'dtmi:dtdl:extension:historization;1';
const QUANTITATIVE = 'dtmi:dtdl:extension:quantitativeTypes;1';
const VALIDATION = 'dtmi:com:oracle:dtdl:extension:validation;1';
const DTMI = /^dtmi:[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?(?::[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?)*;[1-9][0-9]{0,8}(?:\.[1-9][0-9]{0,5})?$/;
const NAME = /^[A-Za-z](?:[A-Za-z0-9_]*[A-Za-z0-9])?$/;
const PRIMITIVES = new Set([
  'boolean', 'date', 'dateTime', 'double', 'duration', 'float', 'integer', 'long', 'string', 'time',
  'byte', 'bytes', 'decimal', 'short', 'uuid', 'unsignedByte', 'unsignedShort', 'unsignedInteger', 'unsignedLong',
  'point', 'lineString', 'polygon', 'multiPoint', 'multiLineString', 'multiPolygon',
]);
const CONTENT_TYPES = ['Telemetry', 'Property', 'Command', 'Relationship', 'Component'] as const;
const MAX_DEPTH = 8;

export const isDtmi = (s: unknown): s is string => typeof s === 'string' && s.length <= 2048 && DTMI.test(s);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const types = (v: unknown): string[] => (typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((t): t is string => typeof t === 'string') : []);
const fail = (message: string): never => {
  throw new DtdlError(message);
};

/**
 * Parses a DTDL v3 Interface. `resolve` finds another model of the same domain by its DTMI
 * (components name their interface by DTMI, as Oracle's file-agent sample does).
 */
export function parseModel(spec: unknown, resolve: (dtmi: string) => unknown | undefined, depth = 0): ParsedModel {
  if (!isObject(spec)) fail('spec must be a DTDL Interface (a JSON object)');
  const s = spec as Record<string, unknown>;
  const context = types(s['@context']);
  if (!context.includes(CONTEXT_V3)) fail(`spec: @context must include "${CONTEXT_V3}" (DTDL v3)`);
  const extensions = new Set(context);
  if (!isDtmi(s['@id'])) fail(`spec: @id ${JSON.stringify(s['@id'])} is not a valid DTMI such as "dtmi:com:example:thermostat;1"`);
  const specUri = s['@id'] as string;
  if (!types(s['@type']).includes('Interface')) fail(`spec ${specUri}: @type must be "Interface"`);
  if (s.contents !== undefined && !Array.isArray(s.contents)) fail(`spec ${specUri}: contents must be a list`);
  if (s.extends !== undefined) fail(`spec ${specUri}: extends is not supported; put the contents in the interface or use a Component`);

  const named = new Map<string, Schema>();
  for (const [i, def] of (Array.isArray(s.schemas) ? s.schemas : []).entries()) {
    if (!isObject(def) || !isDtmi(def['@id'])) fail(`spec ${specUri}: schemas[${i}] needs an @id that is a DTMI`);
    named.set((def as { '@id': string })['@id'], schemaOf(def, `schemas[${i}]`, named, 0));
  }

  const model: ParsedModel = {
    specUri,
    displayName: localized(s.displayName),
    description: localized(s.description),
    contents: new Map(),
    relationships: [],
    commands: [],
  };
  const names = new Set<string>();
  for (const [i, item] of ((s.contents as unknown[]) ?? []).entries()) {
    const where = `contents[${i}]`;
    if (!isObject(item)) fail(`spec ${specUri}: ${where} must be an object`);
    const c = item as Record<string, unknown>;
    const t = types(c['@type']);
    const kinds = CONTENT_TYPES.filter((k) => t.includes(k));
    if (kinds.length !== 1) fail(`spec ${specUri}: ${where} @type must include exactly one of ${CONTENT_TYPES.join(', ')}`);
    const kind = kinds[0];
    if (typeof c.name !== 'string' || c.name.length > 512 || !NAME.test(c.name)) {
      fail(`spec ${specUri}: ${where} name ${JSON.stringify(c.name)} must start with a letter and hold only letters, digits and _`);
    }
    const name = c.name as string;
    if (names.has(name)) fail(`spec ${specUri}: ${where} name "${name}" is used twice`);
    names.add(name);
    const at = `${where} (${name})`;
    const coTypes = t.filter((x) => x !== kind);
    if (coTypes.includes('Historized') && !extensions.has(HISTORIZATION)) {
      fail(`spec ${specUri}: ${at} is Historized but @context lacks "${HISTORIZATION}"`);
    }
    if (coTypes.includes('Validated') && !extensions.has(VALIDATION)) {
      fail(`spec ${specUri}: ${at} is Validated but @context lacks "${VALIDATION}"`);
    }
    const semantic = coTypes.filter((x) => x !== 'Historized' && x !== 'Validated');
    if (semantic.length > 0 && !extensions.has(QUANTITATIVE)) {
      fail(`spec ${specUri}: ${at} has semantic type ${semantic.join(', ')} but @context lacks "${QUANTITATIVE}"`);
    }
    if (c.unit !== undefined && semantic.length === 0) fail(`spec ${specUri}: ${at} has a unit but no semantic type such as Temperature`);

    if (kind === 'Telemetry' || kind === 'Property') {
      if (kind === 'Property' && c.writable === true) {
        fail(`spec ${specUri}: ${at} is writable; OCI IoT does not support writable properties (leave writable out or set it to false)`);
      }
      if (c.schema === undefined) fail(`spec ${specUri}: ${at} needs a schema`);
      model.contents.set(name, {
        path: name,
        kind,
        displayName: localized(c.displayName),
        unit: typeof c.unit === 'string' ? c.unit : undefined,
        historized: coTypes.includes('Historized'),
        schema: schemaOf(c.schema, `${specUri}: ${at}`, named, 0),
        limits: coTypes.includes('Validated') ? limitsOf(c, `${specUri}: ${at}`) : undefined,
      });
    } else if (kind === 'Component') {
      if (depth > 0) fail(`spec ${specUri}: ${at}: a component's interface may not itself hold components (DTDL v3)`);
      const target = typeof c.schema === 'string' ? resolve(c.schema) : c.schema;
      if (target === undefined) fail(`spec ${specUri}: ${at}: component schema ${JSON.stringify(c.schema)} is not a model of this IoT domain; create that model first`);
      const inner = parseModel(target, resolve, depth + 1);
      for (const content of inner.contents.values()) {
        model.contents.set(`${name}.${content.path}`, { ...content, path: `${name}.${content.path}` });
      }
    } else if (kind === 'Relationship') {
      if (c.target !== undefined && !isDtmi(c.target)) fail(`spec ${specUri}: ${at}: target must be a DTMI`);
      model.relationships.push(name);
    } else {
      if (c.request !== undefined && !isObject(c.request)) fail(`spec ${specUri}: ${at}: request must be an object`);
      model.commands.push(name);
    }
  }
  return model;
}

function localized(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (isObject(v)) {
    const first = v.en ?? Object.values(v)[0];
    return typeof first === 'string' ? first : undefined;
  }
  return undefined;
}

function limitsOf(c: Record<string, unknown>, where: string): ContentDefinition['limits'] {
  const num = (k: string) => {
    if (c[k] === undefined) return undefined;
    if (typeof c[k] !== 'number') fail(`spec ${where}: ${k} must be a number`);
    return c[k] as number;
  };
  const pattern = c.pattern === undefined ? undefined : patternOf(c.pattern, where);
  return { minimum: num('minimum'), maximum: num('maximum'), minLength: num('minLength'), maxLength: num('maxLength'), pattern };
}

/** Longest `pattern` taken: RE2 compiles it to a program whose size grows with it. */
const MAX_PATTERN_LENGTH = 4096;
/**
 * RE2's matching costs about (program size × value length) steps: `\w{1000}` over a 100 KB
 * value is ~1 s. Past this many a value is refused as too long for its pattern (~50 ms).
 */
const MAX_MATCH_STEPS = 20_000_000;

/**
 * A DTDL pattern on RE2 (npm `re2js`): DTDL patterns are regular expressions, and RE2 runs
 * them in time linear in the value. What RE2 cannot run in linear time (backreferences,
 * lookahead and lookbehind) is refused when the model is written, not met at a device's
 * message (README "Where OCI is not documented").
 */
function patternOf(source: unknown, where: string): Pattern {
  if (typeof source !== 'string') return fail(`spec ${where}: pattern must be a string`);
  if (source.length > MAX_PATTERN_LENGTH) fail(`spec ${where}: pattern is longer than ${MAX_PATTERN_LENGTH} characters`);
  let re: RE2JS;
  try {
    re = re2().RE2JS.compile(source);
  } catch (err) {
    const why = (err as Error).message.replace(/^error parsing regexp: /, '');
    return fail(
      `spec ${where}: pattern ${JSON.stringify(source)} is not a regular expression the emulator runs (RE2 syntax; no backreferences or lookaround): ${why}`,
    );
  }
  const size = Math.max(1, re.programSize());
  return { source, test: (value) => (value.length * size > MAX_MATCH_STEPS ? 'too-long' : re.test(value)) };
}

function schemaOf(s: unknown, where: string, named: Map<string, Schema>, depth: number): Schema {
  if (depth > MAX_DEPTH) fail(`spec ${where}: schema nested deeper than ${MAX_DEPTH} levels`);
  if (typeof s === 'string') {
    if (PRIMITIVES.has(s)) return { kind: 'primitive', name: s };
    const ref = named.get(s);
    if (ref) return ref;
    return fail(`spec ${where}: unknown schema "${s}" (primitives: ${[...PRIMITIVES].slice(0, 10).join(', ')}, …)`);
  }
  if (!isObject(s)) return fail(`spec ${where}: schema must be a primitive name or an object with @type`);
  const t = types(s['@type']);
  if (t.includes('Array')) {
    if (s.elementSchema === undefined) fail(`spec ${where}: Array schema needs elementSchema`);
    return { kind: 'array', element: schemaOf(s.elementSchema, where, named, depth + 1) };
  }
  if (t.includes('Enum')) {
    if (s.valueSchema !== 'integer' && s.valueSchema !== 'string') fail(`spec ${where}: Enum valueSchema must be integer or string`);
    if (!Array.isArray(s.enumValues) || s.enumValues.length === 0) fail(`spec ${where}: Enum needs enumValues`);
    const values = (s.enumValues as unknown[]).map((v, i) => {
      if (!isObject(v) || typeof v.name !== 'string' || v.enumValue === undefined) fail(`spec ${where}: enumValues[${i}] needs name and enumValue`);
      const value = (v as { enumValue: unknown }).enumValue;
      if (typeof value !== (s.valueSchema === 'integer' ? 'number' : 'string')) fail(`spec ${where}: enumValues[${i}].enumValue must be ${s.valueSchema}`);
      return value as string | number;
    });
    return { kind: 'enum', valueSchema: s.valueSchema as 'integer' | 'string', values };
  }
  if (t.includes('Map')) {
    const key = s.mapKey as Record<string, unknown> | undefined;
    const value = s.mapValue as Record<string, unknown> | undefined;
    if (!isObject(key) || key.schema !== 'string') fail(`spec ${where}: Map mapKey must have schema "string"`);
    if (!isObject(value) || value.schema === undefined) fail(`spec ${where}: Map needs mapValue with a schema`);
    return { kind: 'map', value: schemaOf(value!.schema, where, named, depth + 1) };
  }
  if (t.includes('Object')) {
    if (s.fields === undefined) return { kind: 'object', fields: null };
    if (!Array.isArray(s.fields)) fail(`spec ${where}: Object fields must be a list`);
    const fields = new Map<string, Schema>();
    for (const [i, f] of (s.fields as unknown[]).entries()) {
      if (!isObject(f) || typeof f.name !== 'string' || !NAME.test(f.name)) fail(`spec ${where}: fields[${i}] needs a valid name`);
      const field = f as { name: string; schema?: unknown };
      if (field.schema === undefined) fail(`spec ${where}: field ${field.name} needs a schema`);
      fields.set(field.name, schemaOf(field.schema, `${where} field ${field.name}`, named, depth + 1));
    }
    return { kind: 'object', fields };
  }
  return fail(`spec ${where}: schema @type must be Array, Enum, Map or Object`);
}

export type Checked = { ok: true; value: unknown } | { ok: false; reason: string };

/**
 * Whether a mapped value fits the content's schema, and the value as stored. OCI accepts
 * numeric-like strings and whole-number doubles for an integer (docs "Reference: JQ
 * Expressions for Digital Twin Models and Adapters", soft conversion), so "60" and 60.0
 * are stored as 60 while "60.2" is refused.
 */
export function checkValue(def: ContentDefinition, value: unknown): Checked {
  const checked = fit(def.schema, value, def.path);
  if (!checked.ok || !def.limits) return checked;
  const v = checked.value;
  const l = def.limits;
  if (typeof v === 'number') {
    if (l.minimum !== undefined && v < l.minimum) return { ok: false, reason: `${def.path}: ${v} is below the minimum ${l.minimum}` };
    if (l.maximum !== undefined && v > l.maximum) return { ok: false, reason: `${def.path}: ${v} is above the maximum ${l.maximum}` };
  }
  if (typeof v === 'string') {
    const matched = l.pattern?.test(v) ?? true;
    if (matched === 'too-long') return { ok: false, reason: `${def.path}: a value of ${v.length} characters is too long to match against the pattern ${l.pattern!.source}` };
    if (!matched) return { ok: false, reason: `${def.path}: ${JSON.stringify(v.slice(0, 200))} does not match the pattern ${l.pattern!.source}` };
    if (l.minLength !== undefined && v.length < l.minLength) return { ok: false, reason: `${def.path}: shorter than ${l.minLength}` };
    if (l.maxLength !== undefined && v.length > l.maxLength) return { ok: false, reason: `${def.path}: longer than ${l.maxLength}` };
  }
  return checked;
}

const INTEGER_RANGES: Record<string, [number, number]> = {
  byte: [-128, 127], short: [-32768, 32767], integer: [-2147483648, 2147483647], long: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  unsignedByte: [0, 255], unsignedShort: [0, 65535], unsignedInteger: [0, 4294967295], unsignedLong: [0, Number.MAX_SAFE_INTEGER],
};

function fit(schema: Schema, value: unknown, at: string): Checked {
  const no = (expected: string): Checked => ({ ok: false, reason: `${at}: expected ${expected}, got ${JSON.stringify(value)?.slice(0, 80)}` });
  switch (schema.kind) {
    case 'primitive': {
      const name = schema.name;
      const numeric = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
      if (name in INTEGER_RANGES) {
        const [lo, hi] = INTEGER_RANGES[name];
        return Number.isInteger(numeric) && numeric >= lo && numeric <= hi ? { ok: true, value: numeric } : no(name);
      }
      if (name === 'double' || name === 'float' || name === 'decimal') return Number.isFinite(numeric) ? { ok: true, value: numeric } : no(name);
      if (name === 'boolean') return typeof value === 'boolean' ? { ok: true, value } : no('boolean');
      if (name === 'string' || name === 'uuid' || name === 'bytes' || name === 'duration' || name === 'time') {
        return typeof value === 'string' ? { ok: true, value } : no(name);
      }
      if (name === 'date' || name === 'dateTime') {
        return typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? { ok: true, value } : no(name);
      }
      // Geospatial schemas are GeoJSON objects.
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? { ok: true, value } : no(`${name} (GeoJSON)`);
    }
    case 'enum':
      return schema.values.includes(value as string | number) ? { ok: true, value } : no(`one of ${schema.values.join(', ')}`);
    case 'array': {
      if (!Array.isArray(value)) return no('an array');
      const out: unknown[] = [];
      for (const [i, item] of value.entries()) {
        const r = fit(schema.element, item, `${at}[${i}]`);
        if (!r.ok) return r;
        out.push(r.value);
      }
      return { ok: true, value: out };
    }
    case 'map': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return no('an object (Map)');
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const r = fit(schema.value, v, `${at}.${k}`);
        if (!r.ok) return r;
        out[k] = r.value;
      }
      return { ok: true, value: out };
    }
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return no('an object');
      if (!schema.fields) return { ok: true, value };
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const field = schema.fields.get(k);
        if (!field) return { ok: false, reason: `${at}: field "${k}" is not in the model` };
        if (v === null) continue;
        const r = fit(field, v, `${at}.${k}`);
        if (!r.ok) return r;
        out[k] = r.value;
      }
      return { ok: true, value: out };
    }
  }
}

/** A sample value for a schema: the reference payload of a generated default adapter. */
export function sampleValue(schema: Schema): unknown {
  switch (schema.kind) {
    case 'primitive':
      if (schema.name in INTEGER_RANGES) return 0;
      if (schema.name === 'double' || schema.name === 'float' || schema.name === 'decimal') return 0.0;
      if (schema.name === 'boolean') return false;
      if (schema.name === 'date' || schema.name === 'dateTime') return '1970-01-01T00:00:00Z';
      if (['point', 'lineString', 'polygon', 'multiPoint', 'multiLineString', 'multiPolygon'].includes(schema.name)) return {};
      return '';
    case 'enum':
      return schema.values[0];
    case 'array':
      return [];
    case 'map':
    case 'object':
      return {};
  }
}
