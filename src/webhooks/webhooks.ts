import { createHmac, randomBytes } from 'node:crypto';
import { iso, type Clock } from '../clock/clock.js';
import type { Transition } from '../commands/engine.js';
import { classifyPayload } from '../commands/payload.js';
import { createScheduler } from '../clock/scheduler.js';
import type { StorageHealth } from '../store/storage-health.js';
import { invalid, notFound } from '../errors.js';
import { base32 } from '../ids.js';
import type { Store } from '../store/index.js';
import type { DeliveryRow, DeliveryStatus, WebhookRow } from '../store/webhooks.js';

export const WEBHOOK_EVENTS = ['command', 'telemetry'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export interface NewWebhook {
  url: string;
  /** Key of the signature header; generated when omitted. */
  secret?: string;
  /** What it receives: `command` (every command transition, the default) and/or `telemetry`. */
  events?: WebhookEvent[];
  /** Attempts per delivery before it is given up (10 by default). */
  maxAttempts?: number;
}

export interface WebhookView {
  id: string;
  url: string;
  secret: string;
  events: WebhookEvent[];
  maxAttempts: number;
  timeCreated: string;
  pending: number;
  delivered: number;
  failed: number;
}

export interface DeliveryView {
  id: number;
  webhookId: string;
  event: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  timeCreated: string;
  timeLastAttempt: string | null;
  timeFinished: string | null;
  /** When the next attempt is due (emulator clock), while PENDING. */
  timeNextAttempt: string | null;
}

export interface AttemptReport {
  webhookId: string;
  deliveryId: number;
  attempt: number;
  ok: boolean;
  status: DeliveryStatus;
  httpStatus: number | null;
  error: string | null;
}

/** The header a receiver checks: `sha256=` + hex HMAC-SHA256 of the raw body, keyed with the webhook's secret. */
export const SIGNATURE_HEADER = 'x-emulator-signature';
export const signBody = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 5 * 60_000;
const DEFAULT_ATTEMPTS = 10;
/** A receiver that takes longer than this to answer has failed the attempt (real time: it is I/O). */
const REQUEST_TIMEOUT_MS = 10_000;

/** Wait before attempt n+1 after n failed ones: 1 s, 2 s, 4 s, ... at most 5 min. */
export const backoffMs = (failedAttempts: number) => Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (failedAttempts - 1));

function view(row: DeliveryRow): DeliveryView {
  return {
    id: row.id,
    webhookId: row.webhook_id,
    event: row.event,
    status: row.status,
    attempts: row.attempts,
    lastStatus: row.last_status,
    lastError: row.last_error,
    timeCreated: row.time_created,
    timeLastAttempt: row.time_last_attempt,
    timeFinished: row.time_finished,
    timeNextAttempt: row.status === 'PENDING' && row.next_attempt_ms !== null ? iso(row.next_attempt_ms) : null,
  };
}

/**
 * Webhooks: each command transition (and, when asked, each telemetry message) is queued
 * per webhook in the database, in the same order as it happened, and POSTed with a
 * signature header. One delivery per webhook is in flight at a time, so a receiver sees
 * events in order and each once; a failed attempt is retried with backoff on the emulator
 * clock (one scheduler, as command deadlines), and a delivery that fails `maxAttempts`
 * times is given up so the queue moves on. Queues survive a restart.
 */
export function createWebhooks(deps: {
  store: Store;
  clock: Clock;
  onAttempt?: (report: AttemptReport) => void;
  /** On a full or failing disk, an attempt's record is written later and the queue waits for it. */
  storage?: Pick<StorageHealth, 'guardTimer' | 'retry' | 'failed'>;
}) {
  const { clock } = deps;
  const store = deps.store.webhooks;
  const inFlight = new Set<string>();
  const listeners = new Set<(report: AttemptReport) => void>();
  let hooks = store.all();
  let stopped = false;
  const subscribed = (event: WebhookEvent) => hooks.filter((h) => (JSON.parse(h.events) as string[]).includes(event));
  let commandHooks = subscribed('command');
  let telemetryHooks = subscribed('telemetry');
  const refresh = () => {
    hooks = store.all();
    commandHooks = subscribed('command');
    telemetryHooks = subscribed('telemetry');
  };

  const timerHooks = {
    nextDeadline() {
      let next: number | null = null;
      for (const h of hooks) {
        if (inFlight.has(h.id)) continue;
        const at = store.head(h.id)?.next_attempt_ms ?? null;
        if (at !== null && (next === null || at < next)) next = at;
      }
      return next;
    },
    fireDue(now: number) {
      for (const h of hooks) {
        if (inFlight.has(h.id)) continue;
        const head = store.head(h.id);
        if (head && head.next_attempt_ms !== null && head.next_attempt_ms <= now) void attempt(h, head);
      }
    },
  };
  const scheduler = createScheduler(clock, deps.storage ? deps.storage.guardTimer('webhook deliveries', timerHooks) : timerHooks);
  /** Something was queued or an attempt ended: what is due goes now (a manual clock does not move by itself). */
  const kick = () => {
    if (stopped) return;
    setImmediate(() => {
      if (stopped) return;
      const now = clock.now();
      for (const h of hooks) {
        if (inFlight.has(h.id)) continue;
        const head = store.head(h.id);
        if (head && head.next_attempt_ms !== null && head.next_attempt_ms <= now) void attempt(h, head);
      }
      scheduler.reschedule();
    });
  };

  async function attempt(hook: WebhookRow, delivery: DeliveryRow): Promise<void> {
    inFlight.add(hook.id);
    const number = delivery.attempts + 1;
    let httpStatus: number | null = null;
    let error: string | null = null;
    try {
      const res = await fetch(hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'oci-iot-emulator-webhooks',
          'x-emulator-webhook-id': hook.id,
          'x-emulator-delivery-id': String(delivery.id),
          'x-emulator-event': delivery.event,
          'x-emulator-attempt': String(number),
          [SIGNATURE_HEADER]: signBody(hook.secret, delivery.body),
        },
        body: delivery.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      httpStatus = res.status;
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 200 || res.status > 299) error = `the receiver answered HTTP ${res.status}`;
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      error = cause?.code ?? cause?.message ?? (err as Error).message;
    }
    const now = clock.now();
    const ok = error === null;
    const status: DeliveryStatus = ok ? 'DELIVERED' : number >= hook.max_attempts ? 'FAILED' : 'PENDING';
    const record = () => {
      if (stopped || !store.get(hook.id)) return void inFlight.delete(hook.id);
      store.attempted(delivery.id, { status, nextAttemptMs: status === 'PENDING' ? now + backoffMs(number) : null, lastStatus: httpStatus, lastError: error, time: iso(now) });
      inFlight.delete(hook.id);
      const report = { webhookId: hook.id, deliveryId: delivery.id, attempt: number, ok, status, httpStatus, error };
      deps.onAttempt?.(report);
      for (const listener of listeners) listener(report);
      kick();
    };
    try {
      record();
    } catch (err) {
      if (!deps.storage) {
        inFlight.delete(hook.id);
        throw err;
      }
      // The hook stays in flight until its attempt is on record, so the delivery is not sent again meanwhile.
      deps.storage.failed(err, 'webhook attempt');
      deps.storage.retry('a webhook attempt record', record, `webhook-attempt:${delivery.id}`);
    }
  }

  function enqueue(targets: WebhookRow[], event: string, data: Record<string, unknown>): void {
    if (targets.length === 0) return;
    const now = clock.now();
    const time = iso(now);
    store.enqueue(
      targets.map((h) => h.id),
      event,
      (webhookId) => JSON.stringify({ webhookId, event, time, data }),
      now,
      time,
    );
    kick();
  }

  function check(input: NewWebhook): { url: string; secret: string; events: WebhookEvent[]; maxAttempts: number } {
    if (typeof input !== 'object' || input === null) throw invalid('a webhook is an object with a url');
    let url: URL;
    try {
      url = new URL(input.url);
    } catch {
      throw invalid(`url "${String(input.url)}" is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(`url "${input.url}" must be http:// or https://`);
    const events = input.events ?? ['command'];
    if (!Array.isArray(events) || events.length === 0) throw invalid('events must list command and/or telemetry');
    for (const e of events) if (!WEBHOOK_EVENTS.includes(e)) throw invalid(`event "${String(e)}" is not one of ${WEBHOOK_EVENTS.join(', ')}`);
    const maxAttempts = input.maxAttempts ?? DEFAULT_ATTEMPTS;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 100) throw invalid(`maxAttempts ${String(maxAttempts)} must be a whole number from 1 to 100`);
    if (input.secret !== undefined && (typeof input.secret !== 'string' || input.secret.length < 8)) throw invalid('secret must be at least 8 characters');
    return { url: url.href, secret: input.secret ?? randomBytes(24).toString('base64url'), events: [...new Set(events)], maxAttempts };
  }

  function webhookView(row: WebhookRow): WebhookView {
    return {
      id: row.id,
      url: row.url,
      secret: row.secret,
      events: JSON.parse(row.events) as WebhookEvent[],
      maxAttempts: row.max_attempts,
      timeCreated: row.time_created,
      ...store.counts(row.id),
    };
  }

  // Deliveries left PENDING by the last run go out again.
  kick();

  return {
    add(input: NewWebhook): WebhookView {
      const { url, secret, events, maxAttempts } = check(input);
      const row: WebhookRow = { id: `wh-${base32(12)}`, url, secret, events: JSON.stringify(events), max_attempts: maxAttempts, time_created: iso(clock.now()) };
      store.insert(row);
      refresh();
      return webhookView(row);
    },
    list: (): WebhookView[] => store.all().map(webhookView),
    get(id: string): WebhookView {
      const row = store.get(id);
      if (!row) throw notFound('Webhook', id);
      return webhookView(row);
    },
    remove(id: string): void {
      if (!store.remove(id)) throw notFound('Webhook', id);
      refresh();
    },
    deliveries(id: string, limit = 100): DeliveryView[] {
      if (!store.get(id)) throw notFound('Webhook', id);
      return store.recent(id, limit).map(view);
    },
    totals: store.totals,
    /** Hears every attempt (the console, tests); returns a function that stops it. */
    onAttempt(listener: (report: AttemptReport) => void): () => void {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    /** Whether a webhook takes command transitions: the engine records them only then. */
    wantsTransitions: (): boolean => commandHooks.length > 0,
    /**
     * Queues a command transition for the command webhooks (engine.recordTransitions): in
     * the transaction of the change itself, so a delivery is never lost between the two.
     */
    transition(t: Transition): void {
      if (commandHooks.length === 0) return;
      const c = t.command;
      enqueue(commandHooks, 'command.transition', {
        commandId: c.id,
        instanceId: c.digital_twin_instance_id,
        from: t.from,
        to: t.to,
        cause: t.cause,
        command: {
          id: c.id,
          digital_twin_instance_id: c.digital_twin_instance_id,
          request_endpoint: c.request_endpoint,
          request_data_format: c.request_data_format,
          request_data: c.request_data,
          response_endpoint: c.response_endpoint,
          response_data_format: c.response_data_format,
          response_data: c.response_data,
          delivery_status: c.delivery_status,
          time_created: c.time_created,
          time_updated: c.time_updated,
          time_finished: c.time_finished,
        },
      });
    },
    /**
     * A device publish the inbound pipeline classified as telemetry (it answers no command and
     * became raw_data): queued for telemetry webhooks in the same batch that stores it.
     */
    telemetry(instanceId: string, topic: string, payload: Buffer): void {
      if (telemetryHooks.length === 0) return;
      const body = classifyPayload(payload);
      enqueue(telemetryHooks, 'telemetry', {
        instanceId,
        endpoint: topic,
        contentType: body.contentType,
        format: body.format,
        content: body.text,
        timeReceived: iso(clock.now()),
      });
    },
    stop(): void {
      stopped = true;
      scheduler.stop();
    },
  };
}

export type Webhooks = ReturnType<typeof createWebhooks>;
