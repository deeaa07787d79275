/** The part of the aedes-persistence interface the emulator calls itself. */
export interface BrokerPersistence {
  subscriptionsByClient(client: { id: string }): Promise<Array<{ topic: string; qos: number }>>;
  outgoingClearMessageId(client: { id: string }, packet: { messageId?: number }): Promise<unknown>;
}
