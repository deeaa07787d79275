import type { AedesOptions, Client, Subscription } from 'aedes';
import type { Inbound } from './inbound.js';
import type { Connections } from './connections.js';
import type { Gateways } from './gateways.js';
import type { BrokerLog } from './log.js';
import type { Presence } from './presence.js';

/** SUBSCRIBE: `$` topics are the broker's own; refusing them keeps ingested publishes unreachable. */
export const authorizeSubscribe: Required<AedesOptions>['authorizeSubscribe'] = (_client, sub, done) => {
  done(null, sub.topic.startsWith('$') ? null : sub);
};

/**
 * After a SUBACK: commands waiting for this subscription may go now (a gateway's: also its
 * INDIRECT instances'), and the console shows the device's new subscriptions. An
 * UNSUBSCRIBE changes only what the console shows.
 */
export function subscriptionHandlers(deps: { connections: Connections; gateways: Gateways; signals: Inbound; presence: Presence; log: BrokerLog }) {
  const { connections, gateways, signals, presence, log } = deps;
  return {
    subscribed(_subs: Subscription[], client: Client): void {
      const id = connections.identityOf(client);
      if (!id) return;
      for (const served of gateways.servedBy(id)) {
        signals.subscribed(served).catch((err) => log('warn', 'delivery after subscribe failed', { err: String(err) }));
      }
      presence.announce(id.instanceId, 'subscriptions');
    },
    unsubscribed(_topics: string[], client: Client): void {
      const id = connections.identityOf(client);
      if (id) presence.announce(id.instanceId, 'subscriptions');
    },
  };
}
