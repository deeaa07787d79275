/**
 * The state engine alone, as its unit tests build it: a fake broker (fake-devices.ts), a
 * manual clock at 2030-01-01T00:00:00Z and an in-memory database. Call engineFixture()
 * in beforeEach for a fresh one per test.
 */
import { manualClock, type ManualClock } from '../../src/clock/clock.js';
import { createCommandEngine, type CommandEngine } from '../../src/commands/engine.js';
import { parseCommandRequest } from '../../src/commands/request.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import { createInbound, type Inbound } from '../../src/broker/inbound.js';
import { createStore } from '../../src/store/index.js';
import type { JqEngine } from '../../src/telemetry/jq.js';
import { createTelemetryPipeline } from '../../src/telemetry/pipeline.js';
import { fakeDevices } from './fake-devices.js';

/** The one device the engine tests talk to. */
export const DEV = 'ocid1.iotdigitaltwininstance.oc1.test.a';
export const MIN = 60_000;
const DEFAULTS = { requestDuration: 'PT10M', responseDuration: 'PT10M' };

export interface EngineFixture {
  db: Db;
  clock: ManualClock;
  devices: ReturnType<typeof fakeDevices>;
  engine: CommandEngine;
  /** The way in the broker uses (src/broker/inbound.ts), over the engine, with no faults, webhooks or adapters. */
  inbound: Inbound;
  /** Invokes the fixture's command on DEV with `body` laid over it; resolves with its id. */
  invoke(body?: Record<string, unknown>, extra?: { retryToken?: string; fingerprint?: string }): Promise<number>;
  status(id: number): string;
  /** The command's transitions, oldest first. */
  eventsOf(id: number): Array<{ from: string | null; to: string | null }>;
}

export interface EngineFixtureOptions {
  maxInFlight?: number;
  maxPendingPerDevice?: number;
  /** The command invoke() sends unless told otherwise; a JSON command on `cmd` by default. */
  command?: Record<string, unknown>;
}

export function engineFixture(options: EngineFixtureOptions = {}): EngineFixture {
  const db = openDatabase(':memory:');
  const clock = manualClock(Date.parse('2030-01-01T00:00:00Z'));
  const devices = fakeDevices();
  const store = createStore(db);
  const engine = createCommandEngine({ db, clock, devices: devices.port, maxInFlight: options.maxInFlight, maxPendingPerDevice: options.maxPendingPerDevice, commands: store.commands });
  // No instance has an adapter here: the pipeline keeps raw_data and never reaches jq.
  const telemetry = createTelemetryPipeline({ store, jq: {} as JqEngine, timeLimitMs: 1000, atEndOfBatch: (flush) => flush(), afterCommit: (effect) => effect(), write: (apply) => apply() });
  const inbound = createInbound();
  inbound.attach({ clock, classify: store.commands.classifyPublish, engine: engine.signals, telemetry });
  const command = options.command ?? { requestDataFormat: 'JSON', requestEndpoint: 'cmd', requestData: { a: 1 } };
  const events = db.prepare('SELECT from_status AS "from", to_status AS "to" FROM command_events WHERE command_id = ? ORDER BY id');
  return {
    db,
    clock,
    devices,
    engine,
    inbound,
    invoke: (body = {}, extra = {}) =>
      engine
        .invoke({ instanceId: DEV, domainId: 'd', request: parseCommandRequest({ ...command, ...body }, DEFAULTS), createdBy: 'test', ...extra })
        .then((r) => r.id),
    status: (id) => engine.get(id)!.delivery_status,
    eventsOf: (id) => events.all(id) as Array<{ from: string | null; to: string | null }>,
  };
}

/** Lets the engine's per-device flush (a promise chain) run. */
export const settle = () => new Promise((resolve) => setImmediate(resolve));
