import { createHash, verify } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { OciError } from '../errors.js';
import { rawBodyOf } from './json-body.js';
import type { SignatureKeys } from './signature-keys.js';
import { requestMethod } from './head-requests.js';

/** OCI refuses a request whose date is more than 5 minutes off ("Client Clock Skew", Request Signatures). */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/** The OCI API paths whose requests are signed; the ORDS data API and /emulator are not OCI-signed. */
const SIGNED_PATHS = /^\/(?:20250531|20180608|20190301)(?:\/|\?|$)/;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

export interface SignedRequest {
  method: string;
  /** Path and query exactly as sent: the `(request-target)` OCI signs. */
  url: string;
  headers: IncomingHttpHeaders;
}

const unauthenticated = (why: string) => new OciError(401, 'NotAuthenticated', `The request is not authenticated: ${why}`);

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function parseAuthorization(value: string | undefined): Record<string, string> {
  if (!value) throw unauthenticated('no Authorization header; sign requests the OCI way (Authorization: Signature ...)');
  const match = /^Signature\s+(.*)$/is.exec(value.trim());
  if (!match) throw unauthenticated('the Authorization header is not an OCI "Signature" header');
  const params: Record<string, string> = {};
  for (const [, key, val] of match[1].matchAll(/([A-Za-z]+)\s*=\s*"([^"]*)"/g)) params[key] = val;
  return params;
}

/**
 * Checks an OCI request signature (draft-cavage-http-signatures-08 as OCI profiles it):
 * RSA-SHA256 over `(request-target)`, `host` and `date` or `x-date`, plus `content-length`,
 * `content-type` and `x-content-sha256` when the method carries a body. Returns the keyId;
 * throws 401 NotAuthenticated naming what is wrong. The body hash itself is checked by
 * `checkBodyHash` once the body has been read.
 */
export function checkSignature(req: SignedRequest, keys: SignatureKeys, now: number): string {
  const p = parseAuthorization(header(req.headers, 'authorization'));
  if (p.version !== undefined && p.version !== '1') throw unauthenticated(`signature version "${p.version}" is not 1`);
  for (const field of ['keyId', 'signature', 'headers'] as const) {
    if (!p[field]) throw unauthenticated(`the Signature has no ${field}`);
  }
  if ((p.algorithm ?? '').toLowerCase() !== 'rsa-sha256') throw unauthenticated(`algorithm "${p.algorithm ?? ''}" is not rsa-sha256`);

  const signed = p.headers.toLowerCase().split(/\s+/).filter(Boolean);
  const required = ['(request-target)', 'host', signed.includes('x-date') ? 'x-date' : 'date'];
  if (BODY_METHODS.has(req.method.toUpperCase())) required.push('content-length', 'content-type', 'x-content-sha256');
  const unsignedRequired = required.filter((h) => !signed.includes(h));
  if (unsignedRequired.length) throw unauthenticated(`the signature must cover ${unsignedRequired.join(', ')}`);

  const lines = signed.map((name) => {
    if (name === '(request-target)') return `(request-target): ${req.method.toLowerCase()} ${req.url}`;
    const value = header(req.headers, name);
    if (value === undefined) throw unauthenticated(`the signed header ${name} is missing from the request`);
    return `${name}: ${value}`;
  });

  // x-date wins over date, as in OCI; browsers cannot set Date, so clients send x-date.
  const dateHeader = signed.includes('x-date') ? 'x-date' : 'date';
  const sentAt = Date.parse(header(req.headers, dateHeader) ?? '');
  if (Number.isNaN(sentAt)) throw unauthenticated(`${dateHeader} is not an HTTP date`);
  if (Math.abs(now - sentAt) > MAX_CLOCK_SKEW_MS) {
    throw unauthenticated(`${dateHeader} ${header(req.headers, dateHeader)} is more than 5 minutes from the emulator's time ${new Date(now).toUTCString()}`);
  }

  const key = keys.lookup(p.keyId);
  if (!key) throw unauthenticated(`no public key is configured for keyId ${p.keyId}`);
  const ok = verify('sha256', Buffer.from(lines.join('\n')), key, Buffer.from(p.signature, 'base64'));
  if (!ok) throw unauthenticated(`the signature does not verify with the key for ${p.keyId}`);
  return p.keyId;
}

/** Checks `x-content-sha256` against the body actually received. */
export function checkBodyHash(headers: IncomingHttpHeaders, body: Buffer): void {
  const claimed = header(headers, 'x-content-sha256');
  const actual = createHash('sha256').update(body).digest('base64');
  if (claimed !== actual) throw unauthenticated('x-content-sha256 does not match the request body');
}

/**
 * With `--verify-signatures`, every OCI API request must carry a valid signature from a
 * configured key. The date is measured against the system clock, not the emulator's
 * clock: SDKs stamp requests with the real time, and a manual clock may be far ahead.
 */
export function registerSignatureCheck(app: FastifyInstance, keys: SignatureKeys, now: () => number = Date.now): void {
  app.addHook('onRequest', async (req) => {
    if (!SIGNED_PATHS.test(req.url)) return;
    checkSignature({ method: requestMethod(req.raw), url: req.url, headers: req.headers }, keys, now());
  });
  app.addHook('preValidation', async (req) => {
    if (!SIGNED_PATHS.test(req.url) || !BODY_METHODS.has(req.method)) return;
    checkBodyHash(req.headers, rawBodyOf(req));
  });
}
