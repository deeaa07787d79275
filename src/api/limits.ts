import type { FastifyInstance } from 'fastify';
import { OciError } from '../errors.js';
import { jsonDepth } from '../json-depth.js';

export { jsonDepth };

/** Every route not listed below accepts a body up to this size (set on the Fastify instance). */
export const DEFAULT_BODY_LIMIT = 64 * 1024;

/**
 * Routes that need a different limit than the default, by `METHOD url`. invokeRawCommand
 * sets its own (512 KiB: 256 KiB of data, base64-encoded for BINARY, and the other
 * fields); the emulator's own small operations get less.
 */
export const BODY_LIMITS: Readonly<Record<string, number>> = {
  'POST /emulator/clock': 1024,
};

/** Deeper JSON is refused before it is parsed: the schema validator and JSON.stringify recurse. */
export const MAX_JSON_DEPTH = 64;

/**
 * A non-finite number anywhere in `value` (JSON.parse reads 1e999 as Infinity, and Ajv
 * coerces the query string "Infinity" to a number that passes integer, minimum and
 * maximum). Returns where it is, or null. `value` is already depth-limited.
 */
export function nonFinite(value: unknown): string | null {
  const path = nonFinitePath(value);
  return path === null ? null : path.length === 0 ? 'value' : path.join('.');
}

/** The keys down to a non-finite number, built only once one is found (every request body is walked). */
function nonFinitePath(value: unknown): string[] | null {
  if (typeof value === 'number') return Number.isFinite(value) ? null : [];
  if (typeof value !== 'object' || value === null) return null;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    const found = nonFinitePath((value as Record<string, unknown>)[key]);
    if (found) {
      found.unshift(key);
      return found;
    }
  }
  return null;
}

/**
 * Per-route body limits and finite numbers only in query and path; register before the
 * routes. The JSON body parser (json-body.ts) applies the depth limit and finite check to bodies.
 */
export function registerRequestLimits(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      const limit = BODY_LIMITS[`${method} ${route.url}`];
      if (limit !== undefined && route.bodyLimit === undefined) route.bodyLimit = limit;
    }
  });

  // Callback style: an async hook costs a promise on every request.
  app.addHook('preHandler', (req, _reply, done) => {
    const where = nonFinite(req.query) ?? nonFinite(req.params);
    done(where ? new OciError(400, 'InvalidParameter', `${where} must be a finite number`) : undefined);
  });
}
