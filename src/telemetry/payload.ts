import { jsonDepth } from '../json-depth.js';

/**
 * How deeply a device's JSON may nest for an adapter to map it. Deeper is rejected before
 * it is parsed: serializing it for jq, and checking it against the model, recurse (a
 * payload 5,000 levels deep overflowed the stack inside the shared write transaction).
 * The same limit as REST bodies (src/api/limits.ts).
 */
export const MAX_PAYLOAD_DEPTH = 64;
/** jq's answer wraps the mapped values in a few levels of its own (see pipeline.ts). */
export const MAX_MAPPED_DEPTH = MAX_PAYLOAD_DEPTH * 2;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A payload as an adapter takes it, or why it cannot: not UTF-8, not JSON, nested too deeply. */
export function parsePayload(bytes: Buffer): { value: unknown } | { reason: string } {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { reason: 'Payload is not UTF-8 text; an adapter maps JSON payloads only' };
  }
  return parseJson(text, MAX_PAYLOAD_DEPTH, 'Payload');
}

/** JSON text as a value, refusing nesting deeper than `maxDepth` before parsing. */
export function parseJson(text: string, maxDepth: number, what: string): { value: unknown } | { reason: string } {
  if (jsonDepth(text, maxDepth) > maxDepth) return { reason: `${what} nests JSON deeper than ${maxDepth} levels` };
  try {
    return { value: JSON.parse(text) };
  } catch {
    return { reason: `${what} is not JSON; an adapter maps JSON payloads only` };
  }
}
