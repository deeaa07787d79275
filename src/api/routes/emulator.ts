import type { FastifyPluginAsync } from 'fastify';
import { isManual, iso } from '../../clock/clock.js';
import { parseDuration } from '../../durations.js';
import { conflict, invalid } from '../../errors.js';
import { exportSeed } from '../../seed/export.js';
import { RETRY_AFTER_SECONDS } from '../../store/storage-errors.js';

const clockBody = {
  type: 'object',
  properties: {
    advance: { anyOf: [{ type: 'string' }, { type: 'integer', minimum: 0 }] },
    set: { type: 'string' },
  },
} as const;

const clockReply = {
  type: 'object',
  properties: { kind: { type: 'string' }, now: { type: 'string' } },
} as const;

/** The emulator's own operations, outside OCI's API. */
export const emulatorRoutes: FastifyPluginAsync = async (app) => {
  const { clock } = app.emu;

  // Degraded while the storage refuses writes (a full, read-only or failing disk): 503, and why.
  app.get('/emulator/health', async (_req, reply) => {
    const storage = app.emu.storage?.status() ?? { ok: true };
    if (storage.ok) return { status: 'ok' };
    const { ok: _ok, ...why } = storage;
    void reply.status(503).header('retry-after', String(RETRY_AFTER_SECONDS));
    return { status: 'degraded', storage: why };
  });

  // A seed file of what is there now (docs/seed.md): `--seed` of it makes the same again.
  app.get('/emulator/export', { schema: { tags: ['emulator'], summary: 'The live resources as a seed file (docs/seed.md), secrets with their content' } }, async (_req, reply) => {
    const seed = exportSeed(app.emu.store.liveResources.read());
    return reply.header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(seed, null, 2) + '\n');
  });

  app.get('/emulator/clock', { schema: { response: { 200: clockReply } } }, async () => ({
    kind: clock.kind,
    now: iso(clock.now()),
  }));

  /** Moves the manual clock: `{"advance":"PT3M"}` (or milliseconds), or `{"set":"2030-01-01T00:00:00Z"}`. */
  app.post<{ Body: { advance?: string | number; set?: string } }>(
    '/emulator/clock',
    { schema: { body: clockBody, response: { 200: clockReply } } },
    async (req) => {
      if (!isManual(clock)) throw conflict('The clock is the system clock; start the emulator with --clock manual to move it', 'IncorrectState');
      const { advance, set } = req.body ?? {};
      if ((advance === undefined) === (set === undefined)) throw invalid('give exactly one of advance or set');
      if (advance !== undefined) {
        let ms: number;
        if (typeof advance === 'number') ms = advance;
        else {
          const parsed = parseDuration(advance);
          if (!parsed.ok) throw invalid(`advance "${advance}" ${parsed.reason}`);
          ms = parsed.ms;
        }
        clock.advance(ms);
      } else {
        const target = Date.parse(set!);
        if (Number.isNaN(target)) throw invalid(`set "${set}" is not an ISO 8601 time`);
        if (target < clock.now()) throw invalid(`set ${set} is before the clock's current time ${iso(clock.now())}; time only moves forward`);
        clock.set(target);
      }
      return { kind: clock.kind, now: iso(clock.now()) };
    },
  );
};
