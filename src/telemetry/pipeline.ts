import { iso } from '../clock.js';
import type { Store } from '../store/index.js';
import type { AdapterRow, ModelRow } from '../store/twin-resources.js';
import { compileAdapter, JQ_HELPERS, type CompiledAdapter, type InboundEnvelope, type InboundRoute } from './adapter.js';
import { checkValue, parseModel, type ParsedModel } from './dtdl.js';
import { JQ_PRELUDE } from './expressions.js';
import type { JqEngine } from './jq.js';

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
  timeLimit: 504,
} as const;

export interface PipelineOptions {
  store: Store;
  jq: JqEngine;
  /** Time one message's expressions may take before the message is rejected. */
  timeLimitMs: number;
  /**
   * Runs `flush` at the end of the current batch of device writes, still inside its
   * transaction (or at once outside a batch), so mapped rows commit with raw_data.
   */
  atEndOfBatch: (flush: () => void) => void;
  /** Runs `effect` once the batch commits (announcements must not get ahead of the rows). */
  afterCommit: (effect: () => void) => void;
  log?: (msg: string, fields: Record<string, unknown>) => void;
}

interface Work {
  msg: TelemetryMessage;
  /** The parsed payload (or, for a message an envelope forwarded, the content root). */
  data: unknown;
  /** Set on a message a gateway's envelope addressed to this instance. */
  forwardedBy?: string;
}

interface Binding {
  adapterKey: string;
  adapter: CompiledAdapter;
  model: ParsedModel;
}

/** jq's share of the pipeline's time, for the benchmark. */
export interface PipelineStats {
  messages: number;
  jqCalls: number;
  jqMs: number;
  totalMs: number;
}

/**
 * The adapter pipeline: maps each message of an instance that has an adapter through its
 * envelope and first matching route onto the model, then writes historized_data rows (for
 * Historized contents), snapshot_data upserts (latest time_observed wins) or one
 * rejected_data row. Knows neither Fastify nor Aedes; a whole batch goes through jq in one
 * call (jq-web compiles per call), a message at a time only when that call fails.
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

  function evaluate(items: Array<{ w: Work; b: Binding }>, bindings: Binding[]): Array<Record<string, unknown> | { timedOut: true } | { error: string }> {
    const index = new Map(bindings.map((b, i) => [b, i]));
    const lines = items.map(({ w, b }) => JSON.stringify({ a: index.get(b), e: segments(w.msg.endpoint), p: w.data }));
    const text = program(bindings);
    const started = performance.now();
    const batchLimit = opts.timeLimitMs + items.length;
    const result = jq.run(text, lines.join('\n'), batchLimit);
    stats.jqCalls++;
    if ('lines' in result && result.lines.length === items.length) {
      stats.jqMs += performance.now() - started;
      return result.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    }
    // One message made the batch fail (too slow, halted jq): run them one by one, each within the limit.
    const out = items.map((_, i) => {
      const one = jq.run(text, lines[i], opts.timeLimitMs);
      stats.jqCalls++;
      if ('timedOut' in one) return { timedOut: true as const };
      if ('error' in one) return { error: one.error };
      return one.lines.length === 1 ? (JSON.parse(one.lines[0]) as Record<string, unknown>) : { error: `jq gave ${one.lines.length} results` };
    });
    stats.jqMs += performance.now() - started;
    return out;
  }

  function apply(w: Work, b: Binding, r: Record<string, unknown> | { timedOut: true } | { error: string }, next: Work[]): void {
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
    let observed = w.msg.timeReceived;
    const times = (r.t as unknown[]).filter((t) => t !== null);
    if (times.length > 0) {
      const t = times[0];
      const ms = typeof t === 'number' ? t / 1000 : typeof t === 'string' ? Date.parse(t) : NaN;
      if (!Number.isFinite(ms)) {
        return reject(w, REASON.doesNotFit, `timeObserved ${JSON.stringify(t)} is neither epoch microseconds nor an ISO 8601 time`);
      }
      observed = Math.floor(ms);
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
    const at = iso(observed);
    touched.add(w.msg.instanceId);
    for (const row of rows) {
      if (row.historized) data.historize(w.msg.instanceId, row.path, row.json, at);
      data.snapshot(w.msg.instanceId, row.path, row.json, at);
    }
  }

  function flush(): void {
    const started = performance.now();
    let work = queue;
    queue = [];
    // Forwarded messages (an envelope target) take one more round, through the target's adapter.
    for (let round = 0; round < 2 && work.length > 0; round++) {
      const next: Work[] = [];
      const items: Array<{ w: Work; b: Binding }> = [];
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
        if (w.data === undefined) {
          reject(w, REASON.notJson, 'Payload is not JSON; an adapter maps JSON payloads only');
          continue;
        }
        items.push({ w, b });
      }
      if (items.length > 0) {
        const bindings = [...new Set(items.map((x) => x.b))];
        const results = evaluate(items, bindings);
        items.forEach(({ w, b }, k) => apply(w, b, results[k], next));
      }
      stats.messages += items.length;
      work = next;
    }
    stats.totalMs += performance.now() - started;
    if (touched.size > 0 && listeners.size > 0) {
      const ids = [...touched];
      opts.afterCommit(() => {
        for (const listener of listeners) listener(ids);
      });
    }
    touched = new Set();
  }

  return {
    /** Takes a message just stored in raw_data; mapped at the end of the batch, in its transaction. */
    receive(msg: TelemetryMessage): void {
      if (!bindingPossible(msg.instanceId)) return;
      let parsed: unknown;
      if (msg.contentType === 'application/json') {
        try {
          parsed = JSON.parse(msg.payload.toString('utf8'));
        } catch {
          parsed = undefined;
        }
      }
      if (queue.push({ msg, data: parsed }) === 1) opts.atEndOfBatch(flush);
    },
    /** Hears which instances got new snapshot values, after each batch commits; returns a function that stops it. */
    onMapped(listener: (instanceIds: string[]) => void): () => void {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    /** Cumulative counters (messages mapped, jq calls and their time). */
    stats: (): PipelineStats => ({ ...stats }),
    close: () => jq.close(),
  };

  /** Cheap pre-check so unstructured devices (no adapter) cost nothing more than before. */
  function bindingPossible(instanceId: string): boolean {
    const instance = store.instances.get(instanceId);
    return Boolean(instance?.digital_twin_adapter_id);
  }
}

export type TelemetryPipeline = ReturnType<typeof createTelemetryPipeline>;
