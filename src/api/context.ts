import type { Clock } from '../clock.js';
import type { CommandEngine } from '../commands/engine.js';
import type { ControlPlane } from '../control/control-plane.js';
import type { EmulatorConfig } from '../config.js';
import type { Db } from '../store/database.js';
import type { DomainGroupRow, DomainRow } from '../store/domains.js';

/** What the routes need, decorated onto the Fastify instance as `emu`. */
export interface ApiContext {
  db: Db;
  clock: Clock;
  config: EmulatorConfig;
  /** The first domain and its group as they were at start: where devices without SNI land. */
  domain: DomainRow;
  group: DomainGroupRow;
  engine: CommandEngine;
  /** Domain groups, domains and their work requests. */
  control: ControlPlane;
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
