import type { FastifyPluginAsync } from 'fastify';

/** Prometheus scrape endpoint. */
export const metricsRoutes: FastifyPluginAsync = async (app) => {
  const { metrics } = app.ops;
  app.get('/metrics', { schema: { tags: ['emulator'], summary: 'Prometheus metrics (text exposition format)' } }, async (_req, reply) => {
    return reply.type(metrics.contentType).send(await metrics.render());
  });
};
