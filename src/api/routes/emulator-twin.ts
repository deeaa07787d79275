import type { FastifyPluginAsync } from 'fastify';
import { notFound } from '../../errors.js';
import type { Schema } from '../../telemetry/dtdl.js';

const MAX_POINTS = 2000;

const schemaName = (s: Schema): string =>
  s.kind === 'primitive' ? s.name : s.kind === 'array' ? `array of ${schemaName(s.element)}` : s.kind;

const NUMERIC = new Set(['double', 'float', 'decimal', 'integer', 'long', 'short', 'byte', 'unsignedByte', 'unsignedShort', 'unsignedInteger', 'unsignedLong']);

/**
 * The console's device page: a device's model with each content's snapshot value, and the
 * historized values of one content path for a chart. `GET /emulator/events` says when to
 * ask again (event `twin`).
 */
export const emulatorTwinRoutes: FastifyPluginAsync = async (app) => {
  const { store, twins } = app.emu;

  app.get<{ Params: { instanceId: string } }>('/emulator/devices/:instanceId/twin', { schema: { hide: true } }, async (req) => {
    const instance = store.instances.get(req.params.instanceId);
    if (!instance) throw notFound('Digital twin instance', req.params.instanceId);
    const modelRow = instance.digital_twin_model_id ? twins.models.get(instance.digital_twin_model_id) : undefined;
    const snapshot = new Map(store.telemetryData.snapshotOf(instance.id).map((s) => [s.content_path, s]));
    const model = modelRow ? twins.models.parsed(modelRow) : null;
    return {
      instanceId: instance.id,
      displayName: instance.display_name,
      adapterId: instance.digital_twin_adapter_id,
      model: modelRow ? { id: modelRow.id, specUri: modelRow.spec_uri, displayName: modelRow.display_name } : null,
      contents: model
        ? [...model.contents.values()].map((c) => {
            const s = snapshot.get(c.path);
            return {
              path: c.path,
              kind: c.kind,
              displayName: c.displayName ?? c.path,
              schema: schemaName(c.schema),
              unit: c.unit ?? null,
              historized: c.historized,
              numeric: c.schema.kind === 'primitive' && NUMERIC.has(c.schema.name),
              value: s ? JSON.parse(s.value) : null,
              timeObserved: s?.time_observed ?? null,
            };
          })
        : [],
    };
  });

  app.get<{ Params: { instanceId: string }; Querystring: { path: string; limit?: number } }>(
    '/emulator/devices/:instanceId/history',
    {
      schema: {
        hide: true,
        querystring: {
          type: 'object',
          required: ['path'],
          properties: { path: { type: 'string', minLength: 1, maxLength: 512 }, limit: { type: 'integer', minimum: 1, maximum: MAX_POINTS } },
        },
      },
    },
    async (req) => {
      const rows = store.telemetryData.series(req.params.instanceId, req.query.path, req.query.limit ?? 500);
      return { path: req.query.path, points: rows.map((r) => ({ time: r.time_observed, value: JSON.parse(r.value) })) };
    },
  );
};
