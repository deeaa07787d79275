/**
 * The start-up ceiling: the stack the emulator is built on and nothing else. It imports
 * Aedes, Fastify and better-sqlite3, opens a WAL database file, and listens with Aedes
 * (in-memory persistence, no hooks) over TLS and with Fastify (one no-op route) over HTTP.
 * Plain JavaScript, so that `node bare-stack.mjs` is timed the way `node dist/cli.js
 * start` is, with no TypeScript loader in front.
 * Usage: node bare-stack.mjs <certs-dir> <data-dir> <rest-port> <mqtt-port>
 */
import { Aedes } from 'aedes';
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:tls';

const [certsDir, dataDir, restPort, mqttPort] = process.argv.slice(2);
if (!mqttPort) throw new Error('usage: bare-stack.mjs <certs-dir> <data-dir> <rest-port> <mqtt-port>');

mkdirSync(dataDir, { recursive: true });
const db = new Database(join(dataDir, 'bare.db'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec('CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)');

const aedes = await Aedes.createBroker();
const tls = createServer(
  { key: readFileSync(join(certsDir, 'server-key.pem')), cert: readFileSync(join(certsDir, 'server.pem')), minVersion: 'TLSv1.2' },
  (socket) => aedes.handle(socket),
);
await new Promise((resolve) => tls.listen(Number(mqttPort), '127.0.0.1', resolve));

const app = Fastify({ logger: false });
app.post('/20250531/digitalTwinInstances/:id/actions/invokeRawCommand', async (_req, reply) => reply.status(202).send());
await app.listen({ port: Number(restPort), host: '127.0.0.1' });

process.on('SIGTERM', () => {
  tls.close();
  aedes.close(() => void app.close().then(() => {
    db.close();
    process.exit(0);
  }));
});
