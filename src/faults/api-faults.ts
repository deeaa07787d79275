import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Clock } from '../clock/clock.js';
import type { ClockQueue } from '../clock/clock-queue.js';
import type { ActiveFault, FaultBook } from './faults.js';
import { operationOf } from './operations.js';

const ANSWERS = {
  throttle: { status: 429, code: 'TooManyRequests' },
  unavailable: { status: 503, code: 'ServiceUnavailable' },
  error: { status: 500, code: 'InternalServerError' },
} as const;

/** Headers of the real answer that must not survive its replacement by an error. */
const SUCCESS_HEADERS = ['location', 'etag', 'opc-next-page', 'content-location'];

/**
 * API faults as a Fastify hook: the next N calls of an OCI operation (or of any) answer
 * 429 / 503 / 500 in OCI's shape, or are held on the emulator clock, before the operation
 * runs or after it ran (the caller then cannot know it did: what retries with
 * `opc-retry-token` are for). The emulator's own routes are never faulted, so a test can
 * always clear what it set. Must be registered before the routes (it names them as they are added).
 */
export function registerApiFaults(app: FastifyInstance, deps: { book: FaultBook; clock: Clock; queue: ClockQueue }): void {
  const { book, clock, queue } = deps;
  const routes: Array<{ method: string | string[]; url: string }> = [];
  const after = new WeakMap<FastifyRequest, { fault: ActiveFault; operation: string }>();

  app.addHook('onRoute', ({ method, url }) => void routes.push({ method, url }));
  app.addHook('onReady', async () =>
    book.setOperations(() => routes.flatMap(({ method, url }) => [method].flat().flatMap((m) => operationOf(m, url) ?? []))),
  );

  // Calls held on a manual clock would otherwise keep the server from closing.
  const held = new Set<() => void>();
  const hold = (ms: number) =>
    new Promise<void>((resolve) => {
      const release = () => {
        held.delete(release);
        cancel();
        resolve();
      };
      const cancel = queue.at(clock.now() + ms, release);
      held.add(release);
    });
  app.addHook('preClose', async () => {
    for (const release of [...held]) release();
  });
  const answer = (fault: ActiveFault, operation: string) => {
    const kind = fault.row.kind as keyof typeof ANSWERS;
    const { status, code } = ANSWERS[kind];
    const message =
      kind === 'throttle'
        ? `Too many requests for ${operation}; retry after ${fault.params.retryAfter ?? 1} s (fault ${fault.row.id} injected by the emulator)`
        : kind === 'unavailable'
          ? `${operation} is unavailable (fault ${fault.row.id} injected by the emulator)`
          : `${operation} failed with an internal error (fault ${fault.row.id} injected by the emulator)`;
    return { status, body: { code, message } };
  };

  // Callback style: the hooks run on every request, and an async one costs a promise each
  // time even while no fault is set.
  app.addHook('onRequest', (req, reply, done) => {
    if (!book.hasApiFaults() || !req.routeOptions.url) return done();
    const operation = operationOf(req.method, req.routeOptions.url);
    const fault = operation && book.apiFault(operation);
    if (!operation || !fault) return done();
    // An API call is no command: the fault's own counters (and the HTTP metrics) record it.
    book.consult(fault, { commandIds: [], time: '', cause: '', detail: {} });
    if (fault.params.when === 'after') {
      after.set(req, { fault, operation });
      return done();
    }
    if (fault.row.kind === 'delay') return void hold(fault.params.delayMs!).then(() => done(), done);
    const { status, body } = answer(fault, operation);
    if (fault.row.kind === 'throttle') void reply.header('retry-after', String(fault.params.retryAfter ?? 1));
    // Answered here: the route never runs (Fastify's early response from a callback hook).
    void reply.code(status).send(body);
  });

  app.addHook('onSend', (req, reply, payload, done) => {
    const faulted = after.get(req);
    if (!faulted) return done(null, payload);
    after.delete(req);
    const { fault, operation } = faulted;
    if (fault.row.kind === 'delay') return void hold(fault.params.delayMs!).then(() => done(null, payload), done);
    const { status, body } = answer(fault, operation);
    for (const name of SUCCESS_HEADERS) reply.removeHeader(name);
    if (fault.row.kind === 'throttle') void reply.header('retry-after', String(fault.params.retryAfter ?? 1));
    void reply.code(status).header('content-type', 'application/json; charset=utf-8');
    done(null, JSON.stringify(body));
  });
}
