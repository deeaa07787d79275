import { epochMicrosOf, iso, isoMicros } from '../clock/clock.js';
import type { Store } from '../store/index.js';
import type { AdapterRow, ModelRow } from '../store/twin-resources.js';
import { compileAdapter, JQ_HELPERS, type CompiledAdapter, type InboundEnvelope, type InboundRoute } from './adapter.js';
import { checkValue, parseModel, type ParsedModel } from './dtdl.js';
import { JQ_PRELUDE } from './expressions.js';
import type { JqEngine, JqResult } from './jq.js';
import { MAX_MAPPED_DEPTH, parseJson, parsePayload } from './payload.js';

/** A device message as the platform kept it in raw_data. */
export interface TelemetryMessage {
  instanceId: string;
  endpoint: string;
  payload: Buffer;
  contentType: string;
  /** Epoch ms. */
  timeReceived: number;
}

/**
 * rejected_data.reason_code. OCI documents none but 500 "Normalization output is empty"
 * (samples manage-dt README); the others are the emulator's (docs/oci-choices.md, "Where OCI is not
 * documented").
 */
export const REASON = {
  notJson: 400,
  doesNotFit: 400,
  noRoute: 404,
  noTarget: 404,
  expressionFailed: 422,
  empty: 500,
  mappingFailed: 500,
  timeLimit: 504,
} as const;

export interface PipelineOptions {
  store: Store;
  jq: JqEngine;
  /** Time one message's expressions may take before the message is rejected. */
  timeLimitMs: number;
  /**
   * How long the end of a batch waits for jq (the event loop waits with it) before the
   * batch is mapped later, in a write of its own (default 50 ms, never more than the time
   * limit). An adapter that ran past its time limit is mapped later at once for a while.
   */
  waitMs?: number;
  /**
   * Runs `flush` at the end of the current batch of device writes, still inside its
   * transaction (or at once outside a batch), so mapped rows commit with raw_data. If it
   * throws, `split` gives one part per message, each mapped alone, a failing one rejected.
   */
  atEndOfBatch: (flush: () => void, split: () => Array<{ run(): void; failed(err: unknown): void }>) => void;
  /** Runs `effect` once the batch commits (announcements must not get ahead of the rows). */
  afterCommit: (effect: () => void) => void;
  /** Queues `apply` to run in a write transaction of its own: the rows of messages mapped later. */
  write: (apply: () => void) => void;
  log?: (msg: string, fields: Record<string, unknown>) => void;
}

interface Work {
  msg: TelemetryMessage;
  /** The parsed payload (or, for a message an envelope forwarded, the content root). */
  data: unknown;
  /** Why the payload cannot be mapped (not UTF-8, not JSON, too deep), when it cannot. */
  unmappable?: string;
  /** Set on a message a gateway's envelope addressed to this instance. */
  forwardedBy?: string;
}

interface Binding {
  adapterKey: string;
  adapter: CompiledAdapter;
  model: ParsedModel;
}

type Item = { w: Work; b: Binding };
type Outcome = Record<string, unknown> | { timedOut: true } | { error: string };

/** jq's share of the pipeline's time, for the benchmark. */
export interface PipelineStats {
  messages: number;
  jqCalls: number;
  jqMs: number;
  totalMs: number;
}

const DEFAULT_WAIT_MS = 50;
/** How long an adapter that ran past its time limit has its messages mapped later without a wait. */
const SLOW_FOR_MS = 60_000;

/**
 * The adapter pipeline: maps each message of an instance that has an adapter through its
 * envelope and first matching route onto the model, then writes historized_data rows (for
 * Historized contents), snapshot_data upserts (latest time_observed wins) or one
 * rejected_data row. Knows neither Fastify nor Aedes; a whole batch goes through jq in one
 * call (jq-web compiles per call), a message at a time only when that call fails.
 *
 * A batch is mapped in its own transaction when jq answers within `waitMs`; otherwise jq
 * goes on in its worker, off the event loop, and the batch is mapped in a later write (its
 * raw_data is already committed), so a runaway adapter costs its own messages their time
 * limit and not other devices' latency. Mapping never throws into the shared write: any
 * failure of one message is that message's rejected_data row.
 */
export function createTelemetryPipeline(opts: PipelineOptions) {
  const { store, jq } = opts;
  const data = store.telemetryData;
  const models = store.models;
  const adapters = store.adapters;
  const compiled = new Map<string, Binding>();
  const programs = new Map<string, string>();
  let queue: Work[] = [];
  const listeners = new Set<(instanceIds: string[]) => void>();
  /** Instances whose snapshot this flush changed, announced after the commit. */
  let touched = new Set<string>();
  const stats: PipelineStats = { messages: 0, jqCalls: 0, jqMs: 0, totalMs: 0 };
  /** Adapters (binding keys) that ran past the time limit, until when (performance.now()). */
  const slow = new Map<string, number>();
  const waitMs = Math.min(opts.waitMs ?? DEFAULT_WAIT_MS, opts.timeLimitMs);
  let closed = false;
  /** Messages being mapped later, not yet written. */
  let pending = 0;

  function binding(adapter: AdapterRow, modelRow: ModelRow): Binding | null {
    const key = `${adapter.id}:${adapter.revision}:${modelRow.id}:${modelRow.revision}`;
    let b = compiled.get(key);
    if (!b) {
      const model = parseModel(JSON.parse(modelRow.spec), (dtmi) => {
        const row = models.activeBySpecUri(modelRow.iot_domain_id, dtmi);
        return row ? JSON.parse(row.spec) : undefined;
      });
      const adapterCompiled = compileAdapter(
        JSON.parse(adapter.inbound_envelope) as InboundEnvelope,
        JSON.parse(adapter.inbound_routes) as InboundRoute[],
        model,
        jq,
        false,
      );
      b = { adapterKey: key, adapter: adapterCompiled, model };
      if (compiled.size > 1000) compiled.clear();
      compiled.set(key, b);
    }
    return b;
  }

  function bindingOf(instanceId: string): Binding | null {
    const instance = store.instances.get(instanceId);
    if (!instance || instance.lifecycle_state !== 'ACTIVE' || !instance.digital_twin_adapter_id) return null;
    const adapter = adapters.get(instance.digital_twin_adapter_id);
    if (!adapter || adapter.lifecycle_state !== 'ACTIVE') return null;
    const modelRow = models.get(instance.digital_twin_model_id ?? adapter.digital_twin_model_id);
    if (!modelRow || modelRow.lifecycle_state !== 'ACTIVE') return null;
    return binding(adapter, modelRow);
  }

  function reject(w: Work, code: number, message: string): void {
    data.reject({
      digital_twin_instance_id: w.msg.instanceId,
      endpoint: w.msg.endpoint,
      content: w.msg.payload,
      content_type: w.msg.contentType,
      time_received: iso(w.msg.timeReceived),
      reason_code: code,
      reason_message: message.slice(0, 4000),
    });
  }

  function program(bindings: Binding[]): string {
    const key = bindings.map((b) => b.adapterKey).join('|');
    let text = programs.get(key);
    if (!text) {
      const branches = bindings.map((b, i) => `${i === 0 ? 'if' : 'elif'} $__m.a == ${i} then (${b.adapter.body})`).join(' ');
      text = `${JQ_PRELUDE} ${JQ_HELPERS}
. as $__m | ($__m.e) as $__e
| def endpoint($n): if ($n | type) == "number" and $n >= 1 then $__e[$n - 1] else null end;
$__m.p | try (${branches} else null end) catch {x: .}`;
      if (programs.size > 100) programs.clear();
      programs.set(key, text);
    }
    return text;
  }

  /** Segments of an endpoint: `iot/v1/telemetry` → iot, v1, telemetry (a leading / starts no empty segment). */
  const segments = (endpoint: string) => endpoint.replace(/^\/+/, '').split('/');

  /** Adapters of batches jq has not answered yet: their next messages do not wait either. */
  const unanswered = new Map<string, number>();
  const isSlow = (b: Binding) => unanswered.has(b.adapterKey) || (slow.get(b.adapterKey) ?? -Infinity) > performance.now();
  const awaiting = (items: Item[], by: 1 | -1) => {
    for (const key of new Set(items.map((x) => x.b.adapterKey))) {
      const n = (unanswered.get(key) ?? 0) + by;
      if (n > 0) unanswered.set(key, n);
      else unanswered.delete(key);
    }
  };

  /** jq's answer for each item, or null when the call as a whole failed (then each item is run alone). */
  function outcomes(result: JqResult, count: number): Outcome[] | null {
    if (!('lines' in result) || result.lines.length !== count) return null;
    return result.lines.map((line) => {
      const parsed = parseJson(line, MAX_MAPPED_DEPTH, 'The mapped result');
      return 'value' in parsed ? (parsed.value as Record<string, unknown>) : { error: parsed.reason };
    });
  }

  /** The one-message outcome of a call over one message. */
  function single(result: JqResult): Outcome {
    if ('timedOut' in result || 'error' in result) return result;
    return outcomes(result, 1)?.[0] ?? { error: `jq gave ${result.lines.length} results` };
  }

  /**
   * Maps `work` inside the write transaction being applied. What jq does not answer within
   * the wait goes on, and is mapped in a write of its own when it answers (or is cut off).
   */
  function map(work: Work[], round: number): void {
    const started = performance.now();
    const now: Item[] = [];
    const alone: Item[] = [];
    for (const w of work) {
      let b: Binding | null;
      try {
        b = bindingOf(w.msg.instanceId);
      } catch (err) {
        // An adapter that no longer compiles (its model changed under it) rejects rather than stalls.
        reject(w, REASON.expressionFailed, `Adapter cannot be applied: ${(err as Error).message}`);
        continue;
      }
      if (!b) {
        if (w.forwardedBy) reject(w, REASON.noTarget, `Envelope target ${w.msg.instanceId} has no digital twin adapter`);
        continue;
      }
      if (w.unmappable !== undefined || w.data === undefined) {
        reject(w, REASON.notJson, w.unmappable ?? 'Payload is not JSON; an adapter maps JSON payloads only');
        continue;
      }
      (isSlow(b) ? alone : now).push({ w, b });
    }
    stats.messages += now.length + alone.length;
    if (now.length > 0) {
      const batch = inputs(now);
      const limit = opts.timeLimitMs + batch.items.length;
      const started = startJq(batch.text, batch.lines.join('\n'), Math.min(limit, waitMs + batch.items.length / 20), limit);
      if ('result' in started) {
        const results = outcomes(started.result, batch.items.length);
        if (results) applyAll(batch.items, results, round);
        else {
          pending += batch.items.length;
          one(batch, round);
        }
      } else {
        awaiting(batch.items, 1);
        pending += batch.items.length;
        void started.later.then((result) => {
          awaiting(batch.items, -1);
          const results = outcomes(result, batch.items.length);
          if (results) later(batch.items.length, () => applyAll(batch.items, results, round));
          else one(batch, round);
        });
      }
    }
    if (alone.length > 0) {
      const batch = inputs(alone);
      pending += batch.items.length;
      one(batch, round);
    }
    stats.totalMs += performance.now() - started;
  }

  /** jq's input for each item; an item that cannot be serialized is rejected here. */
  function inputs(items: Item[]): { items: Item[]; lines: string[]; text: string } {
    const bindings = [...new Set(items.map((x) => x.b))];
    const index = new Map(bindings.map((b, i) => [b, i]));
    const kept: Item[] = [];
    const lines: string[] = [];
    for (const item of items) {
      try {
        lines.push(JSON.stringify({ a: index.get(item.b), e: segments(item.w.msg.endpoint), p: item.w.data }));
        kept.push(item);
      } catch (err) {
        reject(item.w, REASON.mappingFailed, `Mapping failed: ${String(err)}`);
      }
    }
    return { items: kept, lines, text: program(bindings) };
  }

  function startJq(text: string, input: string, wait: number, limit: number): ReturnType<JqEngine['start']> {
    const began = performance.now();
    stats.jqCalls++;
    try {
      const started = jq.start(text, input, { waitMs: wait, timeLimitMs: limit });
      stats.jqMs += performance.now() - began;
      return started;
    } catch (err) {
      return { result: { error: (err as Error).message } };
    }
  }

  /**
   * Each item in a jq call of its own, none waited for on the event loop: after a call over
   * many failed (so only the culprit is rejected), or for a slow adapter. The engine runs a
   * few at once; each result is written as it comes.
   */
  function one(batch: { items: Item[]; lines: string[]; text: string }, round: number): void {
    batch.items.forEach((item, k) => {
      const started = startJq(batch.text, batch.lines[k], 0, opts.timeLimitMs);
      const settle = (result: JqResult) => {
        if ('timedOut' in result) slow.set(item.b.adapterKey, performance.now() + SLOW_FOR_MS);
        const outcome = single(result);
        later(1, () => applyAll([item], [outcome], round));
      };
      if ('result' in started) settle(started.result);
      else void started.later.then(settle);
    });
  }

  /** Runs `apply` (the mapping of `count` messages) in a write of its own, then announces what it mapped. */
  function later(count: number, apply: () => void): void {
    if (closed) return;
    opts.write(() => {
      pending -= count;
      apply();
      announce();
    });
  }

  function applyAll(items: Item[], results: Outcome[], round: number): void {
    const next: Work[] = [];
    items.forEach(({ w, b }, k) => {
      try {
        apply(w, b, results[k], next);
      } catch (err) {
        if (isStorageError(err)) throw err;
        // Nothing one message holds may undo the others' writes: it becomes its rejection.
        reject(w, REASON.mappingFailed, `Mapping failed: ${String(err)}`);
      }
    });
    // Forwarded messages (an envelope target) take one more round, through the target's adapter.
    if (next.length > 0 && round === 0) map(next, 1);
  }

  function apply(w: Work, b: Binding, r: Outcome, next: Work[]): void {
    if ('timedOut' in r) return reject(w, REASON.timeLimit, `Adapter expressions ran longer than ${opts.timeLimitMs} ms and were stopped`);
    if ('error' in r) return reject(w, REASON.expressionFailed, `Adapter expression failed: ${String(r.error)}`);
    if (r.x !== undefined) {
      const x = r.x as { w?: string; m?: string } | string;
      return reject(w, REASON.expressionFailed, typeof x === 'string' ? `Expression failed: ${x}` : `Expression ${x.w} failed: ${x.m}`);
    }
    const targets = r.g as unknown[];
    const target = targets.find((t) => t !== null && t !== undefined);
    if (target !== undefined && !w.forwardedBy) {
      // A gateway's envelope names the device the message is about, by its externalKey.
      const instance = store.instances.get(w.msg.instanceId);
      const to = instance ? store.instances.activeByExternalKey(instance.iot_domain_id, String(target)) : undefined;
      if (!to) return reject(w, REASON.noTarget, `Envelope target "${String(target)}" is not an active digital twin instance of this IoT domain`);
      next.push({ msg: { ...w.msg, instanceId: to.id }, data: r.r === undefined ? w.data : r.r, forwardedBy: w.msg.instanceId });
      return;
    }
    const i = r.i as number;
    if (i < 0) return reject(w, REASON.noRoute, `No inbound route of the adapter matches endpoint "${w.msg.endpoint}"`);
    // Microseconds, as OCI keeps time_observed: epoch microseconds or an ISO time as given, else the time received.
    let observed = w.msg.timeReceived * 1000;
    const times = (r.t as unknown[]).filter((t) => t !== null);
    if (times.length > 0) {
      const t = times[0];
      const us = typeof t === 'number' ? t : typeof t === 'string' ? epochMicrosOf(t) : NaN;
      // Beyond ±8.64e15 ms a time has no ISO form.
      if (!Number.isFinite(us) || Math.abs(us) > 8.64e18) {
        return reject(w, REASON.doesNotFit, `timeObserved ${JSON.stringify(t)} is neither epoch microseconds nor an ISO 8601 time`);
      }
      observed = us;
    }
    const rows: Array<{ path: string; json: string; historized: boolean }> = [];
    for (const [path, outputs] of Object.entries((r.v ?? {}) as Record<string, unknown[]>)) {
      const values = outputs.filter((v) => v !== null);
      if (values.length === 0) continue;
      if (values.length > 1) return reject(w, REASON.expressionFailed, `Mapping of ${path} gave ${values.length} values; a content path takes one`);
      const def = b.model.contents.get(path)!;
      const fit = checkValue(def, values[0]);
      if (!fit.ok) return reject(w, REASON.doesNotFit, `Value does not fit the model: ${fit.reason}`);
      rows.push({ path, json: JSON.stringify(fit.value), historized: def.historized });
    }
    if (rows.length === 0) return reject(w, REASON.empty, 'Normalization output is empty');
    const at = isoMicros(observed);
    touched.add(w.msg.instanceId);
    for (const row of rows) {
      if (row.historized) data.historize(w.msg.instanceId, row.path, row.json, at);
      data.snapshot(w.msg.instanceId, row.path, row.json, at);
    }
  }

  function flush(): void {
    const work = queue;
    queue = [];
    map(work, 0);
    announce();
  }

  function announce(): void {
    if (touched.size > 0 && listeners.size > 0) {
      const ids = [...touched];
      opts.afterCommit(() => {
        for (const listener of listeners) listener(ids);
      });
    }
    touched = new Set();
  }

  /** Takes a message just stored in raw_data; mapped at the end of the batch, in its transaction. */
  function receive(msg: TelemetryMessage): void {
    if (!bindingPossible(msg.instanceId)) return;
    let work: Work;
    if (msg.contentType === 'application/json') {
      const parsed = parsePayload(msg.payload);
      work = 'value' in parsed ? { msg, data: parsed.value } : { msg, data: undefined, unmappable: parsed.reason };
    } else {
      work = {
        msg,
        data: undefined,
        unmappable: msg.contentType === 'application/octet-stream' ? 'Payload is not UTF-8 text; an adapter maps JSON payloads only' : undefined,
      };
    }
    if (queue.push(work) === 1) {
      const taken = queue;
      // A mapping that throws for the whole batch: each message alone, and the one that still throws is rejected.
      opts.atEndOfBatch(flush, () =>
        taken.map((w) => ({
          run: () => {
            map([w], 0);
            announce();
          },
          failed: (err) => reject(w, REASON.mappingFailed, `Adapter mapping failed: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`),
        })),
      );
    }
  }

  return {
    /**
     * Ingests a device publish that answered no command: kept as a raw_data row (when the last
     * command that awaited a response on its endpoint finished without one, that command's
     * history records the late response, in the same transaction), then mapped.
     */
    ingest(msg: TelemetryMessage): void {
      store.commands.keepPublish(
        { digital_twin_instance_id: msg.instanceId, endpoint: msg.endpoint, content_type: msg.contentType, content: msg.payload, time_received: iso(msg.timeReceived) },
        (rawId) => ({ cause: `late response on ${msg.endpoint} kept as raw_data ${rawId}`, detail: { rawDataId: rawId } }),
      );
      receive(msg);
    },
    receive,
    /** Hears which instances got new snapshot values, after each batch commits; returns a function that stops it. */
    onMapped(listener: (instanceIds: string[]) => void): () => void {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    /** Messages whose adapter ran past the wait and whose rows are not written yet (0: every message received so far is mapped). */
    pending: (): number => pending,
    /** Cumulative counters (messages mapped, jq calls and their time). */
    stats: (): PipelineStats => ({ ...stats }),
    close: () => {
      closed = true;
      jq.close();
    },
  };

  /** Cheap pre-check so unstructured devices (no adapter) cost nothing more than before. */
  function bindingPossible(instanceId: string): boolean {
    const instance = store.instances.get(instanceId);
    return Boolean(instance?.digital_twin_adapter_id);
  }
}

export type TelemetryPipeline = ReturnType<typeof createTelemetryPipeline>;

/** SQLite's own errors (full disk, I/O) are the write's to answer, not one message's rejection. */
function isStorageError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'SqliteError' || ('code' in err && String((err as { code: unknown }).code).startsWith('SQLITE_')));
}
