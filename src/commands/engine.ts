import { iso, type Clock } from '../clock/clock.js';
import { conflict } from '../errors.js';
import type { Db } from '../store/database.js';
import { commandStore, type ChangeEffects, type CommandRow, type CommandStore, type ConnectionKey, type Delivery, type EventNote, type NewCommand } from '../store/commands.js';
import { createWriteBatch, type WriteBatch } from '../store/write-batch.js';
import type { DeliveryRoute, DeliveryTarget, DevicePort } from './device-port.js';
import { classifyPayload } from './payload.js';
import type { CommandRequest } from './request.js';
import { createScheduler } from '../clock/scheduler.js';
import type { DeliveryStatus } from '../store/delivery-states.js';
import type { StorageHealth } from '../store/storage-health.js';

export interface Transition {
  command: CommandRow;
  from: DeliveryStatus | null;
  to: DeliveryStatus;
  cause: string;
}

export interface InvokeInput {
  instanceId: string;
  domainId: string;
  request: CommandRequest;
  createdBy: string;
  retryToken?: string;
  /** Identifies the request body, so a reused retry token with another body is refused. */
  fingerprint?: string;
}

const RETRY_TOKEN_TTL_MS = 24 * 3600 * 1000;

/** Writes a command's SENT: by default a change of its PENDING row; at invoke, its insert. */
type SentWrite = (set: Partial<NewCommand>, note: EventNote, deliveries: Delivery[]) => CommandRow | null;

/**
 * The command state engine: decides REFUSED / PENDING / SENT at invoke time, moves
 * commands on device signals and deadlines, and records every move together with its
 * event row in one transaction.
 */
export function createCommandEngine(deps: {
  db: Db;
  clock: Clock;
  devices: DevicePort;
  /** Unacknowledged QoS 1 commands allowed in flight on one connection; unlimited when omitted. */
  maxInFlight?: number;
  /** Commands one offline device may have waiting; past it new ones are REFUSED. */
  maxPendingPerDevice?: number;
  /**
   * The batch of writes the broker applies signals in and invokes are written in (group
   * commit); announcements of changes made inside it wait for its commit. An engine without
   * a broker (unit tests) has its own.
   */
  batch?: WriteBatch;
  /** On a full or failing disk, deadlines are settled later instead of ending the process. */
  storage?: Pick<StorageHealth, 'guardTimer' | 'retry'>;
  /**
   * The command store, the one the broker's classification reads (store.commands): it holds
   * the live commands in memory, so there must be one per database. Its own when omitted.
   */
  commands?: CommandStore;
}) {
  const { db, clock, devices } = deps;
  const batch = deps.batch ?? createWriteBatch(db);
  const maxInFlight = deps.maxInFlight ?? Infinity;
  const maxPending = deps.maxPendingPerDevice ?? 1000;
  const store = deps.commands ?? commandStore(db);
  const listeners: Array<(t: Transition) => void> = [];
  /** Observers that write what they make of a change (webhook deliveries) in the change's own transaction. */
  const recorders: Array<{ record: (t: Transition) => void; active: () => boolean }> = [];
  const recording = () => recorders.some((r) => r.active());
  const record = (t: Transition) => recorders.forEach((r) => r.active() && r.record(t));
  const lastMessageId = new Map<string, number>();
  /**
   * Commands SENT and not yet finished, counted from this start (a hint for the write
   * batch's pacing, which helps only when several commands are under way at once; commands
   * SENT before a restart are not counted).
   */
  let inFlight = 0;

  const timerHooks = { nextDeadline: store.nextDeadline, fireDue };
  const scheduler = createScheduler(clock, deps.storage ? deps.storage.guardTimer('command deadlines', timerHooks) : timerHooks);

  /** Applies one state change and its event atomically; null if the command had moved on. */
  function transition(
    cmd: CommandRow,
    to: DeliveryStatus,
    set: Partial<NewCommand>,
    cause: string,
    at: number,
    detail?: Record<string, unknown>,
    effects?: ChangeEffects,
  ): CommandRow | null {
    const time = iso(at);
    const values = { ...set, delivery_status: to, time_updated: time };
    // No read-back: every caller read `cmd` in this synchronous turn, and the change held
    // only while it was still in its state, so the row is `cmd` with `values` laid over it.
    const updated: CommandRow = { ...cmd, ...values };
    const t: Transition = { command: updated, from: cmd.delivery_status, to, cause };
    const change = () => store.change(cmd.id, cmd.delivery_status, values, { time, cause, detail }, effects);
    // Nobody records: no transaction beyond the store's own.
    const moved = recording() ? changeAndRecord(change, t) : change();
    if (!moved) return null;
    if (cmd.delivery_status === 'SENT' && to !== 'SENT' && inFlight > 0) inFlight--;
    // Inside the broker's batch of device writes, listeners hear of it once that commits.
    batch.afterCommit(() => announce(t));
    return updated;
  }

  const changeAndRecord = store.transaction((change: () => boolean, t: Transition): boolean => {
    if (!change()) return false;
    record(t);
    return true;
  });

  function announce(t: Transition): void {
    for (const listener of listeners) listener(t);
  }

  function finish(cmd: CommandRow, to: DeliveryStatus, cause: string, at: number, set: Partial<NewCommand> = {}, effects?: ChangeEffects) {
    return transition(cmd, to, { ...set, time_finished: iso(at), next_deadline_ms: null }, cause, at, undefined, effects);
  }

  /** Packet ids are per connection, as MQTT's are per session; `inFlight` are the connection's in use. */
  function nextMessageId(c: ConnectionKey, inFlight: Set<number>): number {
    const key = `${c.sessionInstanceId}\n${c.clientId}`;
    let id = lastMessageId.get(key) ?? 0;
    for (let i = 0; i < 65535; i++) {
      id = id >= 65535 ? 1 : id + 1;
      if (!inFlight.has(id)) break;
    }
    lastMessageId.set(key, id);
    return id;
  }

  /** The in-flight packet ids of each QoS 1 connection among `targets` (null for QoS 0): their windows. */
  const windowsOf = (targets: DeliveryTarget[]) => targets.map((t) => (t.qos === 0 ? null : store.inFlightMessageIds(t)));
  /** A connection's window: --mqtt-max-inflight, or fewer if the device's MQTT 5 Receive Maximum says so. */
  const windowOf = (t: DeliveryTarget) => Math.min(maxInFlight, t.receiveMaximum ?? Infinity);
  const windowsOpen = (windows: Array<Set<number> | null>, targets: DeliveryTarget[]) =>
    windows.every((w, i) => w === null || w.size < windowOf(targets[i]));

  /** A QoS 1 command left flight (acknowledged or finished): commands waiting for room may go. */
  function windowMoved(instanceId: string): void {
    if (Number.isFinite(maxInFlight) && store.hasPending(instanceId)) void serialFlush(instanceId).catch(() => {});
  }

  /**
   * Publishes a PENDING command on every live connection its device's subscriptions match
   * (`targets`, each at its subscription's QoS) and marks it SENT, once. A QoS 1 command
   * stays PENDING while a connection's window is full; windowMoved sends it later.
   */
  function dispatch(cmd: CommandRow, targets: DeliveryTarget[], known?: Array<Set<number> | null>, write?: SentWrite): void {
    const now = clock.now();
    // Past its request deadline a command is EXPIRED, even if the deadline has not fired yet.
    if (now >= cmd.request_deadline_ms) return;
    if (targets.length === 0) return;
    // Every QoS 1 connection must have room: a command is SENT once, to all of them together.
    const windows = known ?? windowsOf(targets);
    if (!windowsOpen(windows, targets)) return;
    const time = iso(now);
    const deliveries: Delivery[] = targets.map((t, i) => {
      const inFlight = windows[i];
      return { sessionInstanceId: t.sessionInstanceId, clientId: t.clientId, qos: inFlight ? 1 : 0, messageId: inFlight ? nextMessageId(t, inFlight) : null, time };
    });
    const [first] = deliveries;
    const qos: 0 | 1 = deliveries.some((d) => d.qos === 1) ? 1 : 0;
    const twoWay = cmd.response_endpoint !== null;
    const gateway = first.sessionInstanceId !== cmd.digital_twin_instance_id ? first.sessionInstanceId : null;
    const payload = commandPayload(cmd);
    const to = deliveries.map((d) => `${d.clientId} at QoS ${d.qos}`).join(', ');
    // The SENT row is committed before the bytes are written, so a PUBACK or a response
    // can never arrive for a command the database does not yet show as sent.
    const set: Partial<NewCommand> = {
        time_sent: time,
        qos,
        message_id: first.messageId,
        client_id: first.clientId,
        gateway_instance_id: gateway,
        delivery_count: cmd.delivery_count + 1,
        next_deadline_ms: twoWay ? now + cmd.response_window_ms! : cmd.request_deadline_ms,
    };
    const cause = `published to ${to}${gateway ? ` via gateway ${gateway}` : ''}`;
    const detail =
      deliveries.length === 1
        ? { clientId: first.clientId, qos: first.qos, messageId: first.messageId ?? undefined, ...(gateway ? { gateway } : {}) }
        : { deliveries: deliveries.map(({ clientId, qos, messageId }) => ({ clientId, qos, messageId })), ...(gateway ? { gateway } : {}) };
    const sent = write ? write(set, { time, cause, detail }, deliveries) : transition(cmd, 'SENT', set, cause, now, detail, { deliveries });
    if (!sent) return;
    inFlight++;
    const id = sent.id;
    for (const d of deliveries) {
      const message = { topic: cmd.request_endpoint, payload, qos: d.qos, messageId: d.messageId ?? undefined, dup: false, commandId: id };
      devices.send(d, message, d.qos === 0 ? onWritten : () => {});
    }
    scheduler.consider(sent.next_deadline_ms);

    function onWritten(ok: boolean) {
      // QoS 0 has no acknowledgement: once written, a one-way command is delivered.
      if (!ok || twoWay) return;
      const at = clock.now();
      const complete = () => {
        const current = store.get(id);
        if (current && current.delivery_status === 'SENT') {
          finish(current, 'COMPLETED', 'written to the device at QoS 0 (one-way)', at);
        }
      };
      if (!deps.storage) return complete();
      // In a socket's callback: a full disk is tried again later, never thrown at the stream.
      try {
        complete();
      } catch {
        deps.storage.retry('a QoS 0 command written', complete, `qos0-complete:${id}`);
      }
    }
  }

  async function invoke(input: InvokeInput): Promise<{ id: number; replayed: boolean }> {
    const replay = replayed(input);
    if (replay) return { id: replay.id, replayed: true };

    const route = await devices.route(input.instanceId, input.request.requestEndpoint);
    // Group commit: the command is written in the batch of this event-loop turn, with the
    // other invokes and the device writes of the turn, and the caller hears of it (the 202)
    // only once that batch has committed.
    return batch.run(() => accept(input, route), 'next-turn');
  }

  /** The synchronous part of invoke, inside the batch: the row, and its SENT at once when the device is online. */
  function accept(input: InvokeInput, route: DeliveryRoute): { id: number; replayed: boolean } {
    // Checked again: a call with the same token may have been written since the first look.
    const again = replayed(input);
    if (again) return { id: again.id, replayed: true };
    const { request } = input;
    const targets = route.online ? devices.targets(input.instanceId, request.requestEndpoint) : [];
    const now = clock.now();
    const time = iso(now);
    const refusal =
      route.qos === null
        ? route.online
          ? `device is online but has no subscription matching ${request.requestEndpoint}`
          : `device is offline and no persistent session is subscribed to ${request.requestEndpoint}`
        : !route.online && store.countPending(input.instanceId) >= maxPending
          ? `device is offline with ${maxPending} commands already PENDING (the --max-pending-per-device limit)`
          : null;

    const row: NewCommand = {
      digital_twin_instance_id: input.instanceId,
      request_endpoint: request.requestEndpoint,
      request_duration: request.requestDuration,
      request_data_format: request.format,
      request_data: request.requestData,
      request_content_type: request.contentType,
      response_endpoint: request.responseEndpoint,
      response_duration: request.responseDuration,
      response_data_format: null,
      response_data: null,
      response_content_type: null,
      delivery_status: refusal ? 'REFUSED' : 'PENDING',
      created_by: input.createdBy,
      time_created: time,
      time_updated: time,
      time_finished: refusal ? time : null,
      iot_domain_id: input.domainId,
      created_at_ms: now,
      request_deadline_ms: now + request.requestDurationMs,
      response_window_ms: request.responseDurationMs,
      next_deadline_ms: refusal ? null : now + request.requestDurationMs,
      time_sent: null,
      time_acknowledged: null,
      qos: null,
      client_id: null,
      message_id: null,
      delivery_count: 0,
      retry_token: input.retryToken ?? null,
      retry_fingerprint: input.fingerprint ?? null,
      gateway_instance_id: null,
    };

    // Read once, for the event's cause and for the dispatch that follows in this same turn.
    const windows = refusal || !route.online ? [] : windowsOf(targets);
    const accepted: EventNote = { time, cause: refusal ?? acceptedCause(route, windows, targets) };
    let created: CommandRow | null = null;
    if (!refusal && route.online) {
      // Online: the row goes in already SENT, with its PENDING and SENT events, in one
      // INSERT rather than an INSERT and an UPDATE.
      dispatch({ id: 0, ...row }, targets, windows, (set, note, deliveries) => {
        const sent = store.create({ ...row, ...set, delivery_status: 'SENT', time_updated: note.time }, accepted, { note, deliveries });
        const pending: CommandRow = { ...row, id: sent.id };
        const moves: Transition[] = [
          { command: pending, from: null, to: 'PENDING', cause: 'accepted' },
          { command: sent, from: 'PENDING', to: 'SENT', cause: note.cause },
        ];
        // accept() runs inside the batch: what recorders write commits with the row.
        moves.forEach(record);
        batch.afterCommit(() => moves.forEach(announce));
        created = sent;
        return sent;
      });
    }
    if (!created) {
      const pending = store.create(row, accepted);
      const move: Transition = { command: pending, from: null, to: pending.delivery_status, cause: refusal ?? 'accepted' };
      record(move);
      batch.afterCommit(() => announce(move));
      scheduler.consider(pending.next_deadline_ms);
      created = pending;
    }
    return { id: (created as CommandRow).id, replayed: false };
  }

  function acceptedCause(route: DeliveryRoute, windows: Array<Set<number> | null>, targets: DeliveryTarget[]): string {
    if (!route.online) return 'accepted; waiting for the device to reconnect';
    if (!windowsOpen(windows, targets)) {
      return `accepted; waiting until the device acknowledges one of its ${Math.min(...targets.map(windowOf))} commands in flight`;
    }
    return 'accepted; device online and subscribed';
  }

  function replayed(input: InvokeInput): CommandRow | undefined {
    if (!input.retryToken) return undefined;
    const prior = store.byRetryToken(input.instanceId, input.retryToken);
    if (!prior) return undefined;
    if (prior.created_at_ms + RETRY_TOKEN_TTL_MS <= clock.now()) {
      store.clearRetryToken(prior.id); // expired tokens may be used again
      return undefined;
    }
    if (prior.retry_fingerprint !== (input.fingerprint ?? null)) {
      throw conflict(
        `opc-retry-token ${input.retryToken} was already used for a different invokeRawCommand request`,
        'InvalidatedRetryToken',
      );
    }
    return prior;
  }

  /** Finishes, in deadline order, every command whose deadline is at or before `now`. */
  function fireDue(now: number): void {
    for (;;) {
      const cmd = store.nextDue(now);
      if (!cmd) break;
      const at = cmd.next_deadline_ms!;
      let moved: CommandRow | null = null;
      if (cmd.delivery_status === 'PENDING') {
        moved = finish(cmd, 'EXPIRED', `not delivered within requestDuration ${cmd.request_duration}`, at);
      } else if (cmd.delivery_status === 'SENT' && cmd.response_endpoint !== null) {
        moved = finish(cmd, 'NOT_RESPONDED', `no response on ${cmd.response_endpoint} within responseDuration ${cmd.response_duration}`, at);
      } else if (cmd.delivery_status === 'SENT') {
        moved = finish(cmd, 'EXPIRED', `delivery not acknowledged within requestDuration ${cmd.request_duration}`, at);
      }
      if (moved && cmd.delivery_status === 'SENT') windowMoved(cmd.digital_twin_instance_id);
      if (!moved) {
        // A row that cannot move must not stall the loop.
        store.clearDeadline(cmd.id);
      }
    }
    scheduler.reschedule();
  }

  /** Delivers the device's PENDING commands, oldest first, that its subscriptions now match. */
  async function flushPending(instanceId: string): Promise<void> {
    for (const cmd of store.pendingFor(instanceId)) {
      const route = await devices.route(instanceId, cmd.request_endpoint);
      if (!route.online) return;
      const current = store.get(cmd.id);
      if (current?.delivery_status === 'PENDING') dispatch(current, devices.targets(instanceId, cmd.request_endpoint));
    }
  }

  /** Per-device queue, so two flushes for one device never interleave their awaits. */
  const flushes = new Map<string, Promise<void>>();
  function serialFlush(instanceId: string, before?: () => void): Promise<void> {
    const prior = flushes.get(instanceId) ?? Promise.resolve();
    const next = prior.then(() => {
      before?.();
      return flushPending(instanceId);
    });
    const settled = next.catch(() => {});
    flushes.set(instanceId, settled);
    void settled.then(() => {
      if (flushes.get(instanceId) === settled) flushes.delete(instanceId);
    });
    return next;
  }

  /** What the inbound pipeline (broker/inbound.ts) hands the engine, once faults let it through. */
  const signals = {
    deviceReady(instanceId: string, session: { clientId: string; clean: boolean }): Promise<void> {
      return serialFlush(instanceId, () => {
        if (session.clean) return;
        // A persistent session gets its unacknowledged QoS 1 commands again, flagged DUP,
        // with the same packet id, as MQTT 3.1.1 requires on reconnect. The session is the
        // client id's: the same connection of the device, or of the gateway, came back.
        const connection: ConnectionKey = { sessionInstanceId: instanceId, clientId: session.clientId };
        for (const { command: cmd, messageId } of store.unackedFor(connection)) {
          const resent = devices.send(
            connection,
            { topic: cmd.request_endpoint, payload: commandPayload(cmd), qos: 1, messageId, dup: true, commandId: cmd.id },
            () => {},
          );
          if (!resent) return;
          store.change(cmd.id, 'SENT', { delivery_count: cmd.delivery_count + 1, client_id: session.clientId }, {
            time: iso(clock.now()),
            cause: `redelivered (DUP) to ${session.clientId} after reconnect`,
            detail: { messageId },
          });
        }
      });
    },

    subscribed(instanceId: string): Promise<void> {
      return serialFlush(instanceId);
    },

    puback(instanceId: string, clientId: string, messageId: number): void {
      const connection: ConnectionKey = { sessionInstanceId: instanceId, clientId };
      const cmd = store.byMessageId(connection, messageId);
      if (!cmd) return;
      const now = clock.now();
      const acknowledged = { ...connection, time: iso(now) };
      // A one-way command is delivered at its first PUBACK, from whichever connection.
      if (cmd.delivery_status === 'SENT' && cmd.response_endpoint === null) {
        if (finish(cmd, 'COMPLETED', 'PUBACK received (one-way)', now, { time_acknowledged: iso(now) }, { acknowledged })) {
          windowMoved(cmd.digital_twin_instance_id);
          return;
        }
      }
      const first = cmd.time_acknowledged === null;
      const recorded =
        first &&
        store.change(cmd.id, cmd.delivery_status, { time_acknowledged: iso(now) }, { time: iso(now), cause: 'PUBACK received', detail: { messageId } }, { acknowledged });
      // Later PUBACKs (other connections) only free their connection's window.
      if (!recorded) store.acknowledgeDelivery(cmd.id, acknowledged);
      windowMoved(cmd.digital_twin_instance_id);
    },

    /**
     * A device publish the inbound pipeline classified as the response to `command` (read in
     * this same turn): the command is COMPLETED with it. False when it had moved on; the
     * publish is then the telemetry pipeline's.
     */
    response(command: CommandRow, topic: string, payload: Buffer): boolean {
      const body = classifyPayload(payload);
      const done = finish(command, 'COMPLETED', `response received on ${topic}`, clock.now(), {
        response_data_format: body.format,
        response_data: body.text,
        response_content_type: body.contentType,
      });
      if (done) windowMoved(command.digital_twin_instance_id);
      return done !== null;
    },
  };

  return {
    invoke,
    signals,
    /** Runs once at start: commands whose deadline passed while the emulator was down. */
    recover: () => fireDue(clock.now()),
    /**
     * Hears every state change inside the transaction that writes it, while `active()`:
     * what `record` writes commits, or rolls back, with the change, so a crash right after
     * the commit cannot lose it. It must not throw (the change would be undone with it).
     */
    recordTransitions(record: (t: Transition) => void, active: () => boolean): void {
      recorders.push({ record, active });
    },
    /** Listens to every state change; returns a function that stops listening. */
    onTransition(listener: (t: Transition) => void): () => void {
      listeners.push(listener);
      return () => {
        const i = listeners.indexOf(listener);
        if (i >= 0) listeners.splice(i, 1);
      };
    },
    get: store.get,
    /** Commands SENT since this start and not finished yet. */
    commandsInFlight: () => inFlight,
    stop: () => scheduler.stop(),
  };
}

export type CommandEngine = ReturnType<typeof createCommandEngine>;

function commandPayload(cmd: CommandRow): Buffer {
  if (cmd.request_data === null) return Buffer.alloc(0);
  return cmd.request_data_format === 'BINARY'
    ? Buffer.from(cmd.request_data, 'base64')
    : Buffer.from(cmd.request_data, 'utf8');
}
