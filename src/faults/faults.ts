import { iso, type Clock } from '../clock/clock.js';
import { parseDuration } from '../durations.js';
import { invalid, notFound } from '../errors.js';
import type { FaultEffect, FaultRow } from '../store/faults.js';
import type { Store } from '../store/index.js';

/** What can go wrong between the engine and a device. */
export const DEVICE_FAULT_KINDS = ['drop', 'delay', 'withholdPuback', 'withholdResponse', 'duplicate', 'disconnect', 'refuseLogin'] as const;
/** What can go wrong with an OCI API call. */
export const API_FAULT_KINDS = ['throttle', 'unavailable', 'error', 'delay'] as const;

export type DeviceFaultKind = (typeof DEVICE_FAULT_KINDS)[number];
export type ApiFaultKind = (typeof API_FAULT_KINDS)[number];

export interface DeviceFaultSpec {
  instanceId: string;
  kind: DeviceFaultKind;
  /** How many times it takes effect; until cleared when omitted. */
  count?: number;
  /** drop: the share of commands dropped, 0 < fraction <= 1, spread evenly (every 1/fraction-th). */
  fraction?: number;
  /** delay: how long each command is held before it is written (ISO 8601, on the emulator clock). */
  delay?: string;
  /** disconnect: close the connection right after the N-th command is written; now when omitted. */
  afterCommands?: number;
  /** refuseLogin: the CONNACK return code (3 server unavailable, the default; 5 not authorized). */
  returnCode?: 3 | 5;
}

export interface ApiFaultSpec {
  /** An OCI operation name (`InvokeRawCommand`, `CreateDigitalTwinInstance`, ...) or `*` for any. */
  operation: string;
  kind: ApiFaultKind;
  count?: number;
  /** throttle: seconds in the `retry-after` header (1 by default). */
  retryAfter?: number;
  /** delay: how long the call is held (ISO 8601, on the emulator clock). */
  delay?: string;
  /** `before` (default): the call fails without running; `after`: it runs, then its answer is replaced (or held). */
  when?: 'before' | 'after';
}

export type FaultSpec = DeviceFaultSpec | ApiFaultSpec;

/** A fault as the REST API, the CLI and the programmatic API show it. */
export interface FaultView {
  id: number;
  scope: 'device' | 'api';
  instanceId?: string;
  operation?: string;
  kind: string;
  /** Applications left; null: until cleared. */
  remaining: number | null;
  considered: number;
  applied: number;
  /** Still in force: not cleared and not used up. */
  active: boolean;
  fraction?: number;
  delay?: string;
  afterCommands?: number;
  returnCode?: number;
  retryAfter?: number;
  when?: string;
  timeCreated: string;
  timeCleared: string | null;
}

interface Params {
  fraction?: number;
  delay?: string;
  delayMs?: number;
  afterCommands?: number;
  returnCode?: number;
  retryAfter?: number;
  when?: 'before' | 'after';
}

export interface ActiveFault {
  row: FaultRow;
  params: Params;
}

const isActive = (row: FaultRow) => row.time_cleared === null && row.remaining !== 0;

export function faultView(row: FaultRow): FaultView {
  const params = JSON.parse(row.params) as Params;
  const { delayMs: _ms, ...shown } = params;
  return {
    id: row.id,
    scope: row.scope,
    ...(row.scope === 'device' ? { instanceId: row.target } : { operation: row.target }),
    kind: row.kind,
    remaining: row.remaining,
    considered: row.considered,
    applied: row.applied,
    active: isActive(row),
    ...shown,
    timeCreated: row.time_created,
    timeCleared: row.time_cleared,
  };
}

/**
 * The faults in force, kept in memory for the hot paths (every command sent, every API
 * call asks) and written through to the `faults` table, where SQL can read them and what
 * they did is counted.
 */
export function createFaultBook(deps: { store: Store; clock: Clock; onApplied?: (row: FaultRow) => void }) {
  const { clock } = deps;
  const store = deps.store.faults;
  const device = new Map<string, ActiveFault[]>();
  let api: ActiveFault[] = [];
  let operations: () => ReadonlySet<string> = () => new Set();

  function index(row: FaultRow): void {
    if (!isActive(row)) return;
    const entry = { row, params: JSON.parse(row.params) as Params };
    if (row.scope === 'api') api.push(entry);
    else device.set(row.target, [...(device.get(row.target) ?? []), entry]);
  }
  function unindex(id: number): void {
    api = api.filter((f) => f.row.id !== id);
    for (const [target, list] of device) {
      const left = list.filter((f) => f.row.id !== id);
      if (left.length) device.set(target, left);
      else device.delete(target);
    }
  }
  for (const row of store.active()) index(row);

  function checkCount(count: unknown): number | null {
    if (count === undefined || count === null) return null;
    if (!Number.isInteger(count) || (count as number) < 1) throw invalid(`count ${String(count)} must be a whole number of at least 1`);
    return count as number;
  }
  function checkDelay(delay: unknown, required: boolean): { delay?: string; delayMs?: number } {
    if (delay === undefined) {
      if (required) throw invalid('delay is required for this kind (an ISO 8601 duration such as PT30S)');
      return {};
    }
    if (typeof delay !== 'string') throw invalid('delay must be an ISO 8601 duration such as PT30S');
    const parsed = parseDuration(delay);
    if (!parsed.ok) throw invalid(`delay "${delay}" ${parsed.reason}`);
    return { delay, delayMs: parsed.ms };
  }
  function only(spec: Record<string, unknown>, kind: string, allowed: string[]): void {
    for (const key of Object.keys(spec)) {
      if (!allowed.includes(key)) throw invalid(`${key} does not apply to a ${kind} fault (it takes ${allowed.join(', ')})`);
    }
  }

  function validateDevice(spec: DeviceFaultSpec): { params: Params; remaining: number | null } {
    const raw = spec as unknown as Record<string, unknown>;
    if (typeof spec.instanceId !== 'string' || !spec.instanceId) throw invalid('instanceId is required for a device fault');
    if (!DEVICE_FAULT_KINDS.includes(spec.kind)) throw invalid(`kind "${String(spec.kind)}" is not a device fault: use one of ${DEVICE_FAULT_KINDS.join(', ')}`);
    const instance = deps.store.instances.get(spec.instanceId);
    if (!instance || instance.lifecycle_state !== 'ACTIVE') throw invalid(`digital twin instance ${spec.instanceId} does not exist`);
    const common = ['instanceId', 'kind'];
    switch (spec.kind) {
      case 'drop': {
        only(raw, 'drop', [...common, 'count', 'fraction']);
        const remaining = checkCount(spec.count);
        if (spec.fraction === undefined) return { params: {}, remaining };
        if (typeof spec.fraction !== 'number' || !(spec.fraction > 0 && spec.fraction <= 1)) {
          throw invalid(`fraction ${String(spec.fraction)} must be a number above 0 and at most 1`);
        }
        return { params: { fraction: spec.fraction }, remaining };
      }
      case 'delay':
        only(raw, 'delay', [...common, 'count', 'delay']);
        return { params: checkDelay(spec.delay, true), remaining: checkCount(spec.count) };
      case 'disconnect': {
        only(raw, 'disconnect', [...common, 'afterCommands']);
        if (spec.afterCommands === undefined) return { params: {}, remaining: 1 };
        if (!Number.isInteger(spec.afterCommands) || spec.afterCommands < 1) {
          throw invalid(`afterCommands ${String(spec.afterCommands)} must be a whole number of at least 1`);
        }
        return { params: { afterCommands: spec.afterCommands }, remaining: 1 };
      }
      case 'refuseLogin': {
        only(raw, 'refuseLogin', [...common, 'count', 'returnCode']);
        const code = spec.returnCode ?? 3;
        if (![3, 5].includes(code)) throw invalid(`returnCode ${String(code)} must be 3 (server unavailable) or 5 (not authorized)`);
        return { params: { returnCode: code }, remaining: checkCount(spec.count) };
      }
      default:
        only(raw, spec.kind, [...common, 'count']);
        return { params: {}, remaining: checkCount(spec.count) };
    }
  }

  function validateApi(spec: ApiFaultSpec): { params: Params; remaining: number | null } {
    const raw = spec as unknown as Record<string, unknown>;
    if (typeof spec.operation !== 'string' || !spec.operation) throw invalid('operation is required for an API fault (an OCI operation name such as InvokeRawCommand, or *)');
    if (spec.operation !== '*' && !operations().has(spec.operation)) {
      throw invalid(`operation "${spec.operation}" is not an operation of this emulator; use * or one of ${[...operations()].sort().join(', ')}`);
    }
    if (!API_FAULT_KINDS.includes(spec.kind)) throw invalid(`kind "${String(spec.kind)}" is not an API fault: use one of ${API_FAULT_KINDS.join(', ')}`);
    const when = spec.when ?? 'before';
    if (when !== 'before' && when !== 'after') throw invalid(`when "${String(when)}" must be before or after`);
    const common = ['operation', 'kind', 'count', 'when'];
    const remaining = checkCount(spec.count);
    if (spec.kind === 'throttle') {
      only(raw, 'throttle', [...common, 'retryAfter']);
      const retryAfter = spec.retryAfter ?? 1;
      if (!Number.isInteger(retryAfter) || retryAfter < 0) throw invalid(`retryAfter ${String(retryAfter)} must be a whole number of seconds, 0 or more`);
      return { params: { retryAfter, when }, remaining };
    }
    if (spec.kind === 'delay') {
      only(raw, 'delay', [...common, 'delay']);
      return { params: { ...checkDelay(spec.delay, true), when }, remaining };
    }
    only(raw, spec.kind, common);
    return { params: { when }, remaining };
  }

  return {
    /** Checks a fault and puts it in force; a bad one throws a 400 and changes nothing. */
    add(spec: FaultSpec): FaultView {
      if (typeof spec !== 'object' || spec === null) throw invalid('a fault is an object with instanceId or operation, and kind');
      const isDevice = 'instanceId' in spec;
      if (isDevice && 'operation' in spec) throw invalid('give instanceId (a device fault) or operation (an API fault), not both');
      if (!isDevice && !('operation' in spec)) throw invalid('give instanceId (a device fault) or operation (an API fault)');
      const { params, remaining } = isDevice ? validateDevice(spec) : validateApi(spec as ApiFaultSpec);
      const row = store.insert({
        scope: isDevice ? 'device' : 'api',
        target: isDevice ? spec.instanceId : (spec as ApiFaultSpec).operation,
        kind: spec.kind,
        params: JSON.stringify(params),
        remaining,
        time_created: iso(clock.now()),
      });
      index(row);
      return faultView(row);
    },
    list: (): FaultView[] => store.all().map(faultView),
    get(id: number): FaultView {
      const row = store.get(id);
      if (!row) throw notFound('Fault', String(id));
      return faultView(row);
    },
    /** Clears one fault, or every fault in force (of one instance or operation when given). */
    clear(filter: { id?: number; instanceId?: string; operation?: string } = {}): FaultView[] {
      const time = iso(clock.now());
      if (filter.id !== undefined && !store.get(filter.id)) throw notFound('Fault', String(filter.id));
      // Only faults still in force: one used up keeps its record as it ended.
      const cleared = store
        .active()
        .filter(isActive)
        .filter((r) => (filter.id === undefined || r.id === filter.id) && (filter.instanceId === undefined || (r.scope === 'device' && r.target === filter.instanceId)) && (filter.operation === undefined || (r.scope === 'api' && r.target === filter.operation)))
        .filter((r) => store.clear(r.id, time));
      for (const r of cleared) unindex(r.id);
      return cleared.map((r) => faultView(store.get(r.id)!));
    },
    /** The OCI operations there are, named when first asked for (most runs set no fault). */
    setOperations(names: () => Iterable<string>): void {
      let named: ReadonlySet<string> | undefined;
      operations = () => (named ??= new Set(names()));
    },
    operations: () => operations(),
    /** Whether any fault is in force for a device: the cheap test on every command. */
    hasDeviceFaults: (instanceId: string) => device.has(instanceId),
    deviceFault: (instanceId: string, kind: DeviceFaultKind): ActiveFault | undefined => device.get(instanceId)?.find((f) => f.row.kind === kind),
    hasApiFaults: () => api.length > 0,
    apiFault: (operation: string): ActiveFault | undefined => api.find((f) => f.row.target === '*' || f.row.target === operation),
    /**
     * One occasion for a fault: counts it and, when it takes effect, records the effect on
     * the commands it touched. A fault used up leaves the in-memory index.
     */
    consult(fault: ActiveFault, effect: FaultEffect | null): FaultRow {
      const row = store.consult(fault.row.id, effect);
      fault.row = row;
      if (!isActive(row)) unindex(row.id);
      if (effect) deps.onApplied?.(row);
      return row;
    },
    record: (effect: FaultEffect) => store.record(effect),
    unfinishedCommands: store.unfinishedCommands,
    commandAwaitingPuback: store.commandAwaitingPuback,
  };
}

export type FaultBook = ReturnType<typeof createFaultBook>;

/** The cause text of a command event a fault wrote: it names the fault, so tests can assert on it. */
export const faultCause = (row: FaultRow, what: string) => `fault ${row.id} (${row.kind}): ${what}`;

/** Whether an evenly spread fraction takes the k-th occasion (k from 1): exactly that share, deterministic. */
export const fractionHits = (fraction: number, k: number) => Math.floor(k * fraction + 1e-9) > Math.floor((k - 1) * fraction + 1e-9);

/** What /emulator/faults and the programmatic API steer faults with. */
export interface FaultControl {
  set(spec: FaultSpec): FaultView;
  list(): FaultView[];
  get(id: number): FaultView;
  clear(filter?: { id?: number; instanceId?: string; operation?: string }): FaultView[];
  /** The OCI operation names an API fault may name (besides `*`). */
  operations(): string[];
}
