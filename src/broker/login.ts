import type { AedesOptions, AuthenticateError, Client } from 'aedes';
import type { Socket } from 'node:net';
import { sessionId, type Connections } from './connections.js';
import type { DeviceLogin } from './device-login.js';
import { GuardedConnection } from './guarded-connection.js';
import type { ConnectFacts } from './limits.js';
import type { BrokerLog } from './log.js';
import { imposeKeepalive, refusalReasonCode, refuseV5, speaksV5 } from './mqtt5.js';

/**
 * CONNECT: the client id and session flags as sent (preConnect), then the device's
 * credentials (authenticate). A device that logs in gets its identity and a session id
 * namespaced by its instance.
 */
export function loginHooks(deps: {
  /** The device login every transport shares, and with it the login throttle. */
  login: DeviceLogin;
  connections: Connections;
  log: BrokerLog;
  /** An MQTT 5 device asking for a longer keepalive (or none) is given this one. */
  maxKeepalive: number;
}): Required<Pick<AedesOptions, 'preConnect' | 'authenticate'>> {
  const { login, connections, log, maxKeepalive } = deps;
  // authenticate sees neither the keepalive nor the client id as sent; preConnect does.
  const connectFacts = new WeakMap<Client, ConnectFacts>();

  return {
    preConnect(client, packet, done) {
      connectFacts.set(client, { clientId: packet.clientId, clean: packet.clean !== false, keepalive: packet.keepalive ?? 0, protocolVersion: packet.protocolVersion });
      done(null, true);
    },
    authenticate(client, username, password, done) {
      const conn = client.conn instanceof GuardedConnection ? client.conn : null;
      const facts = connectFacts.get(client);
      const outcome = login({
        facts,
        username,
        password,
        address: normalizeAddress((conn?.socket ?? (client.conn as Socket)).remoteAddress),
        peerCertificate: conn?.socket.getPeerX509Certificate(),
        servername: conn?.socket.servername,
      });
      if (!outcome.ok) {
        log('info', 'device login refused', { username, clientId: client.id, returnCode: outcome.returnCode, reason: outcome.reason });
        if (speaksV5(client)) return refuseV5(client, refusalReasonCode(outcome), outcome.reason);
        const err = new Error(outcome.reason) as AuthenticateError;
        err.returnCode = outcome.returnCode;
        return done(err, false);
      }
      const { instance } = outcome;
      imposeKeepalive(client, facts?.keepalive ?? 0, maxKeepalive);
      // A v5 device is told "packet too large" (0x95) by Aedes, which checks the same limit.
      conn?.authenticated({ sizeCheckedByBroker: speaksV5(client) });
      connections.identify(client, {
        instanceId: instance.id,
        externalKey: instance.external_key,
        clientId: client.id,
        connectivityType: instance.connectivity_type,
        transport: conn?.transport ?? 'mqtts',
      });
      // A device may hold several connections, one per client id; a second login with a
      // client id already live takes that session over (Aedes closes the first), as MQTT
      // and OCI say.
      (client as { id: string }).id = sessionId(instance.id, client.id);
      done(null, true);
    },
  };
}

/** IPv4 peers of a dual-stack listener show up as ::ffff:a.b.c.d; one address, one backoff. */
export function normalizeAddress(address: string | undefined): string {
  return address?.startsWith('::ffff:') ? address.slice(7) : (address ?? 'unknown');
}
