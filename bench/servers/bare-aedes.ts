/**
 * The broker ceiling: Aedes 1.2 with its in-memory persistence behind a TLS listener,
 * using the emulator's certificate, and no hooks but a login that only checks that a
 * user name and password were sent. Usage: bare-aedes.ts <certs-dir>. Prints `READY <port>`.
 */
import { Aedes, type AuthenticateError } from 'aedes';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:tls';

const certsDir = process.argv[2];
if (!certsDir) throw new Error('usage: bare-aedes.ts <certs-dir>');

const aedes = await Aedes.createBroker({
  authenticate(_client, username, password, done) {
    if (username && password?.length) return done(null, true);
    const err = new Error('not authorized') as AuthenticateError;
    err.returnCode = 5;
    done(err, false);
  },
});
const server = createServer(
  { key: readFileSync(join(certsDir, 'server-key.pem')), cert: readFileSync(join(certsDir, 'server.pem')), minVersion: 'TLSv1.2' },
  (socket) => aedes.handle(socket),
);
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`READY ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => aedes.close(() => process.exit(0)));
