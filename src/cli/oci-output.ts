/**
 * The oci CLI's output shape: model attributes in kebab-case, keys inside free-form
 * maps (tags, request data) left as they are, datetimes as Python's isoformat with
 * microseconds and offset, and keys sorted.
 */

/** Attributes whose values are user maps: their own keys are data, not attribute names. */
const FREE_FORM = new Set(['freeformTags', 'definedTags', 'systemTags']);
const TIME = /^time[A-Z]/;

export function kebab(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** 2025-08-05T18:03:15.870Z → 2025-08-05T18:03:15.870000+00:00 */
export function ociTime(value: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?Z$/.exec(value);
  if (!m) return value;
  return `${m[1]}.${(m[2] ?? '').padEnd(6, '0')}+00:00`;
}

export function toCliModel(model: unknown): unknown {
  if (Array.isArray(model)) return model.map(toCliModel);
  if (model === null || typeof model !== 'object') return model;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(model).sort((a, b) => kebab(a).localeCompare(kebab(b)))) {
    const value = (model as Record<string, unknown>)[key];
    if (FREE_FORM.has(key)) out[kebab(key)] = value;
    else if (TIME.test(key) && typeof value === 'string') out[kebab(key)] = ociTime(value);
    else out[kebab(key)] = toCliModel(value);
  }
  return out;
}

/** `{"data": ..., "etag": ...}` as the oci CLI prints it. */
export function cliOutput(data: unknown, extra: Record<string, string | null> = {}): string {
  const out: Record<string, unknown> = { data: toCliModel(data) };
  for (const [key, value] of Object.entries(extra)) if (value !== null) out[key] = value;
  return JSON.stringify(out, null, 2);
}
