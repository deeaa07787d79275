/**
 * The HTTP ceiling: a bare Fastify server that answers the invokeRawCommand POST with
 * 202 and does nothing else (no validation, no database). It parses the JSON body, as
 * any Fastify route does. Prints `READY <port>`.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false, routerOptions: { maxParamLength: 1024 } });
app.post('/20250531/digitalTwinInstances/:id/actions/invokeRawCommand', async (_req, reply) => reply.status(202).send());
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
process.stdout.write(`READY ${typeof address === 'object' && address ? address.port : 0}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
