import type { Clock } from '../clock.js';
import type { CommandEngine } from '../commands/engine.js';
import type { EmulatorConfig } from '../config.js';
import type { Db } from '../store/database.js';
import type { DomainGroupRow, DomainRow } from '../store/domains.js';
import type { TwinResources } from '../resources/twins.js';

/** What the routes need, decorated onto the Fastify instance as `emu`. */
export interface ApiContext {
  db: Db;
  clock: Clock;
  config: EmulatorConfig;
  domain: DomainRow;
  group: DomainGroupRow;
  engine: CommandEngine;
  /** Digital twin models, adapters and relationships. */
  twins: TwinResources;
  devices: {
    disconnect(instanceId: string): void;
    isOnline(instanceId: string): boolean;
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    emu: ApiContext;
  }
}
