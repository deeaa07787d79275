import type { AedesOptions, AuthenticateError, Client } from 'aedes';
import { X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Clock } from '../clock.js';
import type { Store } from '../store/index.js';
import { sessionId, type Connections } from './connections.js';
import { createDeviceLogin } from './device-login.js';
import { GuardedConnection } from './guarded-connection.js';
import type { BrokerLimits, ConnectFacts } from './limits.js';
import { createLoginThrottle, THROTTLE_DEFAULTS } from './login-throttle.js';
import type { BrokerLog } from './log.js';

/** A refusal imposed after the credentials were accepted (faults/ refusing the next N logins), or null. */
export type LoginGate = (instanceId: string) => { returnCode: 3 | 4 | 5; reason: string } | null;

/**
 * CONNECT: the client id and session flags as sent (preConnect), then the device's
 * credentials (authenticate). A device that logs in gets its identity and a session id
 * namespaced by its instance.
 */
export function loginHooks(deps: {
  store: Pick<Store, 'instances' | 'secrets' | 'clientCertificates'>;
  /** The IoT domain a TLS SNI host name means, or null for none. */
  domainOf(servername: string | false | null | undefined): string | null;
  clock: Clock;
  /** PEM of the CA that issues device certificates. */
  ca: string;
  limits: BrokerLimits;
  connections: Connections;
  log: BrokerLog;
  gate?: LoginGate;
}): Required<Pick<AedesOptions, 'preConnect' | 'authenticate'>> {
  const { connections, limits, log } = deps;
  const login = createDeviceLogin({
    store: deps.store,
    domainOf: deps.domainOf,
    clock: deps.clock,
    maxKeepalive: limits.maxKeepalive,
    throttle: createLoginThrottle(deps.clock, { ...THROTTLE_DEFAULTS, ...limits.login }),
    ca: new X509Certificate(deps.ca),
  });
  // authenticate sees neither the keepalive nor the client id as sent; preConnect does.
  const connectFacts = new WeakMap<Client, ConnectFacts>();

  return {
    preConnect(client, packet, done) {
      connectFacts.set(client, { clientId: packet.clientId, clean: packet.clean !== false, keepalive: packet.keepalive ?? 0 });
      done(null, true);
    },
    authenticate(client, username, password, done) {
      const conn = client.conn instanceof GuardedConnection ? client.conn : null;
      const outcome = login({
        facts: connectFacts.get(client),
        username,
        password,
        address: normalizeAddress((conn?.socket ?? (client.conn as Socket)).remoteAddress),
        peerCertificate: conn?.socket.getPeerX509Certificate(),
        servername: conn?.socket.servername,
      });
      if (!outcome.ok) {
        log('info', 'device login refused', { username, clientId: client.id, returnCode: outcome.returnCode, reason: outcome.reason });
        const err = new Error(outcome.reason) as AuthenticateError;
        err.returnCode = outcome.returnCode;
        return done(err, false);
      }
      const { instance } = outcome;
      const refusal = deps.gate?.(instance.id);
      if (refusal) {
        log('info', 'device login refused', { username, clientId: client.id, returnCode: refusal.returnCode, reason: refusal.reason });
        const err = new Error(refusal.reason) as AuthenticateError;
        err.returnCode = refusal.returnCode;
        return done(err, false);
      }
      conn?.authenticated();
      connections.identify(client, { instanceId: instance.id, externalKey: instance.external_key, clientId: client.id });
      (client as { id: string }).id = sessionId(instance.id, client.id);
      // One live connection per device: a second login takes over, as in OCI.
      const previous = connections.registered(instance.id);
      if (previous && previous.id !== client.id) previous.close();
      done(null, true);
    },
  };
}

/** IPv4 peers of a dual-stack listener show up as ::ffff:a.b.c.d; one address, one backoff. */
function normalizeAddress(address: string | undefined): string {
  return address?.startsWith('::ffff:') ? address.slice(7) : (address ?? 'unknown');
}
