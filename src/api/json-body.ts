import type { FastifyInstance, FastifyRequest } from 'fastify';
import { OciError } from '../errors.js';
import { jsonDepth, MAX_JSON_DEPTH, nonFinite } from './limits.js';

const rawBodies = new WeakMap<FastifyRequest, Buffer>();

/** The exact bytes of a request's JSON body (empty when there was none), for the body hash a signature covers. */
export function rawBodyOf(req: FastifyRequest): Buffer {
  return rawBodies.get(req) ?? Buffer.alloc(0);
}

/**
 * Replaces Fastify's JSON parser with one that keeps the raw bytes and reads an empty
 * body as `{}`. The OCI SDKs send `Content-Type: application/json` on every call, DELETE
 * included, and leave the body out when the details serialize to `{}` (composeRequest
 * drops a "{}" body); Fastify's own parser refuses both with "Body cannot be empty".
 * Read as `{}`, a create without its required fields is a MissingParameter naming them.
 * Before parsing, nesting deeper than MAX_JSON_DEPTH is refused; after, so are numbers
 * that are not finite (`1e999`).
 */
export function registerJsonBody(app: FastifyInstance): void {
  // Same prototype-poisoning protection as Fastify's default parser.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    const bytes = body as Buffer;
    rawBodies.set(req, bytes);
    if (bytes.length === 0) return done(null, {});
    const text = bytes.toString('utf8');
    if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
      return done(new OciError(400, 'InvalidParameter', `The request body nests JSON deeper than ${MAX_JSON_DEPTH} levels`), undefined);
    }
    parseJson(req, text, (err, parsed) => {
      const where = err ? null : nonFinite(parsed);
      if (where) done(new OciError(400, 'InvalidParameter', `${where} must be a finite number`), undefined);
      else done(err, parsed);
    });
  });
}
