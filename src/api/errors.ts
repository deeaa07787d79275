import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OciError } from '../errors.js';
import { RETRY_AFTER_SECONDS, storageFault } from '../store/storage-errors.js';
import { requestMethod } from './head-requests.js';

interface ValidationIssue {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/** Turns every failure into OCI's error body `{code, message}` with OCI's status. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    // A full, read-only or failing disk is an answer, not a crash: 503, come back later (logged once by the health).
    const health = app.hasDecorator('emu') ? app.emu.storage : undefined;
    const fault = health ? health.failed(error, `${request.method} ${request.routeOptions.url ?? request.url}`) : storageFault(error);
    if (fault) {
      void reply
        .status(503)
        .header('retry-after', String(RETRY_AFTER_SECONDS))
        .send({ code: 'ServiceUnavailable', message: `The emulator cannot store this now: ${fault.message}. Retry later.` });
      return;
    }
    const { status, code, message } = toOci(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    void reply.status(status).send({ code, message });
  });
  // A change answered 2xx was written: the storage takes writes again (logged once).
  app.addHook('onResponse', (request, reply, done) => {
    const health = app.emu?.storage;
    if (health && !health.status().ok && reply.statusCode < 300 && request.method !== 'GET' && request.method !== 'HEAD') health.succeeded();
    done();
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ code: 'NotFound', message: `No such operation: ${requestMethod(request.raw)} ${request.url.split('?')[0]}` });
  });
}

/**
 * Fastify's `frameworkErrors`: what its router refuses before any route or error handler
 * runs (a path that does not decode, a path parameter over `maxParamLength`), in OCI's
 * shape. Fastify's own answer would be `{error, code: 'FST_ERR_…'}` and, for the long
 * parameter, a 414 that OCI does not use.
 */
export function frameworkError(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const message =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? 'A path parameter is longer than 1024 characters'
      : error.code === 'FST_ERR_BAD_URL'
        ? 'The request path is not a valid URL (a bad %-escape)'
        : 'The request cannot be routed';
  void reply.status(400).send({ code: 'InvalidParameter', message });
}

function toOci(error: FastifyError): { status: number; code: string; message: string } {
  if (error instanceof OciError) return { status: error.status, code: error.code, message: error.message };
  if (error.validation) {
    const issue = error.validation[0] as unknown as ValidationIssue;
    const where = error.validationContext === 'body' ? '' : `${error.validationContext} `;
    if (issue.keyword === 'required') {
      return { status: 400, code: 'MissingParameter', message: `${where}${path(issue.instancePath, String(issue.params.missingProperty))} is required` };
    }
    const allowed = issue.keyword === 'enum' ? `: must be one of ${(issue.params.allowedValues as string[]).join(', ')}` : ` ${issue.message}`;
    return { status: 400, code: 'InvalidParameter', message: `${where}${path(issue.instancePath) || 'body'}${allowed}` };
  }
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, code: 'CannotParseRequest', message: `The request body is not valid JSON: ${error.message}` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 400, code: 'CannotParseRequest', message: 'The request body must be application/json' };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'RequestEntityTooLarge', message: 'The request body is larger than this operation accepts' };
  }
  if (error instanceof SyntaxError) return { status: 400, code: 'CannotParseRequest', message: error.message };
  const status = error.statusCode ?? 500;
  if (status < 500) return { status, code: 'InvalidParameter', message: error.message };
  return { status: 500, code: 'InternalServerError', message: 'Internal error; see the emulator log' };
}

function path(instancePath: string, leaf?: string): string {
  const parts = instancePath.split('/').filter(Boolean);
  if (leaf) parts.push(leaf);
  return parts.join('.');
}
