import type { Db } from './database.js';

export interface WebhookRow {
  id: string;
  url: string;
  secret: string;
  /** JSON array of what it receives: "command" (every transition), "telemetry" (device publishes kept as raw_data). */
  events: string;
  max_attempts: number;
  time_created: string;
}

export type DeliveryStatus = 'PENDING' | 'DELIVERED' | 'FAILED';

export interface DeliveryRow {
  id: number;
  webhook_id: string;
  event: string;
  body: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_ms: number | null;
  last_status: number | null;
  last_error: string | null;
  time_created: string;
  time_last_attempt: string | null;
  time_finished: string | null;
}

export interface DeliveryCounts {
  pending: number;
  delivered: number;
  failed: number;
}

/** Webhooks and their delivery queue: one queue per webhook, delivered strictly in id order. */
export function webhookStore(db: Db) {
  const insert = db.prepare(
    'INSERT INTO webhooks (id, url, secret, events, max_attempts, time_created) VALUES (@id, @url, @secret, @events, @max_attempts, @time_created)',
  );
  const byId = db.prepare('SELECT * FROM webhooks WHERE id = ?');
  const all = db.prepare('SELECT * FROM webhooks ORDER BY time_created, id');
  const remove = db.prepare('DELETE FROM webhooks WHERE id = ?');
  const enqueue = db.prepare(
    `INSERT INTO webhook_deliveries (webhook_id, event, body, status, next_attempt_ms, time_created)
     VALUES (?, ?, ?, 'PENDING', ?, ?)`,
  );
  const head = db.prepare(
    "SELECT * FROM webhook_deliveries INDEXED BY webhook_deliveries_queue WHERE webhook_id = ? AND status = 'PENDING' ORDER BY id LIMIT 1",
  );
  const delivery = db.prepare('SELECT * FROM webhook_deliveries WHERE id = ?');
  const attempted = db.prepare(
    `UPDATE webhook_deliveries SET attempts = attempts + 1, status = @status, next_attempt_ms = @next_attempt_ms,
       last_status = @last_status, last_error = @last_error, time_last_attempt = @time,
       time_finished = CASE WHEN @status = 'PENDING' THEN NULL ELSE @time END
     WHERE id = @id AND status = 'PENDING'`,
  );
  const recent = db.prepare('SELECT * FROM webhook_deliveries WHERE webhook_id = ? ORDER BY id DESC LIMIT ?');
  const counts = db.prepare(
    `SELECT sum(status = 'PENDING') AS pending, sum(status = 'DELIVERED') AS delivered, sum(status = 'FAILED') AS failed
     FROM webhook_deliveries WHERE webhook_id = ?`,
  );
  const totals = db.prepare('SELECT status, count(*) AS n FROM webhook_deliveries GROUP BY status');

  return {
    insert: (row: WebhookRow) => void insert.run(row),
    get: (id: string) => byId.get(id) as WebhookRow | undefined,
    all: () => all.all() as WebhookRow[],
    /** Removes a webhook and its queue (ON DELETE CASCADE). */
    remove: (id: string) => remove.run(id).changes === 1,
    /** Queues one event for each webhook given, due at once; in one transaction. */
    enqueue(webhookIds: string[], event: string, body: (webhookId: string) => string, nowMs: number, time: string): void {
      db.transaction(() => {
        for (const id of webhookIds) enqueue.run(id, event, body(id), nowMs, time);
      })();
    },
    head: (webhookId: string) => head.get(webhookId) as DeliveryRow | undefined,
    delivery: (id: number) => delivery.get(id) as DeliveryRow | undefined,
    /** Records one attempt: delivered, failed for good, or due again at `nextAttemptMs`. */
    attempted(id: number, outcome: { status: DeliveryStatus; nextAttemptMs: number | null; lastStatus: number | null; lastError: string | null; time: string }): void {
      attempted.run({ id, status: outcome.status, next_attempt_ms: outcome.nextAttemptMs, last_status: outcome.lastStatus, last_error: outcome.lastError, time: outcome.time });
    },
    recent: (webhookId: string, limit: number) => recent.all(webhookId, limit) as DeliveryRow[],
    counts(webhookId: string): DeliveryCounts {
      const row = counts.get(webhookId) as { pending: number | null; delivered: number | null; failed: number | null };
      return { pending: row.pending ?? 0, delivered: row.delivered ?? 0, failed: row.failed ?? 0 };
    },
    totals: () => totals.all() as Array<{ status: DeliveryStatus; n: number }>,
  };
}

export type WebhookStore = ReturnType<typeof webhookStore>;
