import { createRequire } from 'node:module';

/** The part of the aedes-persistence interface the emulator calls itself. */
export interface BrokerPersistence {
  subscriptionsByClient(client: { id: string }): Promise<Array<{ topic: string; qos: number }>>;
  outgoingClearMessageId(client: { id: string }, packet: { messageId?: number }): Promise<unknown>;
}

const require = createRequire(import.meta.url);

/** aedes-persistence's in-memory store, the async form Aedes 1.x requires. */
export function memoryPersistence(): BrokerPersistence {
  const AsyncMemory = require('aedes-persistence/asyncPersistence.js') as new () => BrokerPersistence;
  return new AsyncMemory();
}
