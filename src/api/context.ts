import type { Clock } from '../clock/clock.js';
import type { CommandEngine } from '../commands/engine.js';
import type { ControlPlane } from '../control/control-plane.js';
import type { EmulatorConfig } from '../config.js';
import type { Db } from '../store/database.js';
import type { DomainGroupRow, DomainRow } from '../store/control-plane.js';
import type { TwinResources } from '../resources/twins.js';
import type { Store } from '../store/index.js';
import type { OauthTokens } from './oauth-tokens.js';
import type { StorageHealth } from '../store/storage-health.js';

/** What the routes need, decorated onto the Fastify instance as `emu`. */
export interface ApiContext {
  /** Every read and write of the emulator's tables. */
  store: Store;
  /** Only for the user's read-only SQL, which opens its own connection beside it. */
  db: Db;
  clock: Clock;
  config: EmulatorConfig;
  /** The first domain and its group as they were at start: where devices without SNI land. */
  domain: DomainRow;
  group: DomainGroupRow;
  engine: CommandEngine;
  /** Digital twin models, adapters and relationships. */
  twins: TwinResources;
  /** The adapter pipeline, for who wants to hear of new twin values (the console). */
  telemetry: { onMapped(listener: (instanceIds: string[]) => void): () => void };
  /** Domain groups, domains and their work requests. */
  control: ControlPlane;
  devices: {
    disconnect(instanceId: string): void;
    isOnline(instanceId: string): boolean;
  };
  /** Whether the storage takes writes; storage faults are answered 503 through it. */
  storage?: StorageHealth;
}

declare module 'fastify' {
  interface FastifyInstance {
    emu: ApiContext;
    /** The bearer tokens the token endpoint issues and the data API checks. */
    oauth: OauthTokens;
  }
}
