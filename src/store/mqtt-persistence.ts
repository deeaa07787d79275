/**
 * Aedes persistence backed by the emulator's SQLite database, so that MQTT
 * sessions (subscriptions, queued QoS>0 messages, QoS 2 handshakes, wills and
 * retained messages) survive an emulator restart.
 *
 * It implements the aedes-persistence 11 async interface and deliberately
 * mirrors the behaviour of its in-memory implementation (asyncPersistence.js),
 * which is what aedes 1.2 is written and tested against. Where this file does
 * something surprising, the comment usually points at that reference.
 *
 * SQLite is the single source of truth. The only in-memory state is a topic
 * matcher for subscriptionsByTopic (called on every QoS>0 publish), rebuilt
 * from mqtt_subscriptions at construction and updated only after the
 * corresponding SQLite write has committed.
 *
 * better-sqlite3 is synchronous, so every method runs its statements to
 * completion before returning; the async signatures exist because aedes
 * awaits them.
 */
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type Database from 'better-sqlite3';

// ---------------------------------------------------------------------------
// Public types. Packets are loosely typed on purpose: aedes hands us
// aedes-packet Packets, QoSPackets, PUBREL objects and will messages, and we
// must give back exactly the keys we were given.
// ---------------------------------------------------------------------------

export interface MqttPacket {
  cmd?: string;
  topic?: string;
  payload?: Buffer | Uint8Array | string;
  qos?: number;
  retain?: boolean;
  dup?: boolean;
  messageId?: number;
  brokerId?: string | null;
  brokerCounter?: number;
  clientId?: string;
  properties?: object;
  messageExpiry?: number;
}

export interface MqttSubscription {
  topic: string;
  qos: number;
  rh?: number;
  rap?: boolean;
  nl?: boolean;
  subscriptionIdentifier?: number;
}

/** Shape returned by subscriptionsByTopic (what aedes passes to outgoingEnqueueCombi). */
export interface TopicSubscription {
  clientId: string;
  topic: string;
  qos: number;
  rh?: number;
  rap?: boolean;
  nl?: boolean;
}

export interface ClientRef {
  id: string;
}

export interface BrokerRef {
  id: string;
}

export interface SqlitePersistenceOptions {
  /** Outgoing packets kept per client; newer ones are dropped once full. Default 1000. */
  maxQueuedPerClient?: number;
  /**
   * Inbound QoS 2 packets kept per client awaiting their PUBREL; storing one more fails, so
   * the broker closes that client. Default 1000, Aedes 1.2's maxInflightInbound, which its
   * MQTT 5 line (2.0.0-beta.1) lacks.
   */
  maxIncomingPerClient?: number;
}

// ---------------------------------------------------------------------------
// CommonJS dependencies. Loaded with require, exactly as aedes-persistence
// loads them: qlobber ships no type declarations, and aedes-packet's
// declarations describe a named export that does not exist at runtime.
// ---------------------------------------------------------------------------

interface QlobberOptions {
  wildcard_one: string;
  wildcard_some: string;
  separator: string;
}

interface QlobberSubValue {
  clientId: string;
  topic: string;
  qos?: number;
  rh?: number;
  rap?: boolean;
  nl?: boolean;
}

interface QlobberSub {
  add(topic: string, value: QlobberSubValue): void;
  remove(topic: string, value: { clientId: string; topic: string }): void;
  match(topic: string): TopicSubscription[];
}

interface QlobberTrue {
  add(topic: string): void;
  test(topic: string): boolean;
}

const require = createRequire(import.meta.url);
const Packet = require('aedes-packet') as { prototype: object; new (original: MqttPacket): MqttPacket };
const QlobberSubCtor = require('qlobber/aedes/qlobber-sub') as new (options: QlobberOptions) => QlobberSub;
const { QlobberTrue: QlobberTrueCtor } = require('qlobber') as {
  QlobberTrue: new (options: QlobberOptions) => QlobberTrue;
};

const QLOBBER_OPTIONS: QlobberOptions = { wildcard_one: '+', wildcard_some: '#', separator: '/' };
const DEFAULT_MAX_QUEUED_PER_CLIENT = 1000;
// Keeps outgoingStream's memory bounded when a client comes back to a long queue.
const OUTGOING_PAGE_SIZE = 100;
/** Clients remembered as having nothing queued, at most (see #nothingQueued). */
const NOTHING_QUEUED_MAX = 100_000;

// ---------------------------------------------------------------------------
// Schema: the mqtt_* tables are created by migration 2 in schema.ts, frozen
// there as literal SQL. Packet rows store every field except the payload as
// JSON in `packet` (see encodePacket); the other columns exist for lookups
// and ordering. The payload column is declared BLOB but keeps SQLite's
// storage class, so a string payload comes back as a string and a Buffer as
// a Buffer. Explicit INTEGER PRIMARY KEYs give insertion order that survives
// VACUUM; the in-memory persistence returns subscriptions, retained messages
// and queued packets in insertion order and callers rely on it.
// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// Packet encoding
// ---------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type StoredPayload = Buffer | string | null;

interface PacketRow {
  packet: string;
  payload: StoredPayload;
}

// Plain JSON would lose two things callers depend on: Buffers inside MQTT 5
// properties (correlationData) and keys whose value is undefined (aedes-packet
// sets `messageId: undefined` on purpose, and key sets are compared). Those
// are written as objects tagged with a "$" key. An object that genuinely has
// a "$" key (a user property could be called that) is wrapped as well, so a
// tag can never be confused with data.
function toJson(value: unknown): Json {
  if (value === undefined) return { $: 'undefined' };
  if (value === null || typeof value === 'boolean' || typeof value === 'number' || typeof value === 'string') {
    return value;
  }
  if (value instanceof Uint8Array) {
    return { $: 'bytes', base64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  }
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === 'object') {
    const out: { [key: string]: Json } = {};
    for (const [key, field] of Object.entries(value)) {
      // QoSPacket carries its write callback; it is runtime state, not packet data.
      if (typeof field === 'function') continue;
      setOwn(out, key, toJson(field));
    }
    return Object.hasOwn(out, '$') ? { $: 'object', entries: out } : out;
  }
  throw new TypeError(`cannot persist a ${typeof value} inside an MQTT packet`);
}

function fromJson(value: Json): unknown {
  if (Array.isArray(value)) return value.map(fromJson);
  if (value === null || typeof value !== 'object') return value;
  switch (value.$) {
    case 'undefined':
      return undefined;
    case 'bytes':
      return Buffer.from(value.base64 as string, 'base64');
    case 'object':
      return entriesFromJson(value.entries as { [key: string]: Json });
    default:
      return entriesFromJson(value);
  }
}

function entriesFromJson(value: { [key: string]: Json }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) setOwn(out, key, fromJson(field));
  return out;
}

// Keys come from the wire (user properties); plain assignment of "__proto__"
// would change the object's prototype instead of adding a field.
function setOwn(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function encodePacket(packet: MqttPacket): { packet: string; payload: StoredPayload } {
  const { payload, ...fields } = packet;
  let stored: StoredPayload = null;
  if (typeof payload === 'string' || Buffer.isBuffer(payload)) stored = payload;
  else if (payload instanceof Uint8Array) stored = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  return { packet: JSON.stringify(toJson(fields)), payload: stored };
}

/**
 * @param asPacket return an aedes-packet Packet instance for PUBLISH rows, as
 *   the in-memory persistence does for queued and incoming packets.
 */
function decodePacket(row: PacketRow, asPacket = false): MqttPacket {
  const fields = fromJson(JSON.parse(row.packet) as Json) as Record<string, unknown>;
  if (row.payload !== null) fields.payload = row.payload;
  if (asPacket && fields.cmd === 'publish') Object.setPrototypeOf(fields, Packet.prototype);
  return fields as MqttPacket;
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

function boolToSql(value: boolean | null | undefined): number | null {
  return value === undefined || value === null ? null : value ? 1 : 0;
}

function sqlToBool(value: number | null): boolean | undefined {
  return value === null ? undefined : value !== 0;
}

// [MQTT-4.7.2-1]: topic filters starting with a wildcard must not match
// topics starting with "$".
function startsWithWildcard(topic: string): boolean {
  return topic.startsWith('+') || topic.startsWith('#');
}

function hiddenFromFilter(topic: string, filter: string): boolean {
  return topic.startsWith('$') && startsWithWildcard(filter);
}

interface SubscriptionRow {
  topic: string;
  qos: number;
  rh: number | null;
  rap: number | null;
  nl: number | null;
  subscription_identifier: number | null;
}

interface OutgoingRow extends PacketRow {
  seq: number;
}

interface WillRow extends PacketRow {
  broker_id: string | null;
}

type TrieOp = { op: 'add'; value: QlobberSubValue } | { op: 'remove'; clientId: string; topic: string };

function prepareStatements(db: Database.Database) {
  return {
    // retained
    retainedUpsert: db.prepare<[string, string, StoredPayload]>(
      `INSERT INTO mqtt_retained (topic, packet, payload) VALUES (?, ?, ?)
       ON CONFLICT (topic) DO UPDATE SET packet = excluded.packet, payload = excluded.payload`,
    ),
    retainedDelete: db.prepare<[string]>('DELETE FROM mqtt_retained WHERE topic = ?'),
    retainedTopics: db.prepare<[], { id: number; topic: string }>('SELECT id, topic FROM mqtt_retained ORDER BY id'),
    retainedById: db.prepare<[number], PacketRow>('SELECT packet, payload FROM mqtt_retained WHERE id = ?'),

    // subscriptions
    subscriptionQos: db
      .prepare<[string, string], number>('SELECT qos FROM mqtt_subscriptions WHERE client_id = ? AND topic = ?')
      .pluck(),
    // The upsert keeps the row id, so a re-subscribe keeps its original position.
    subscriptionUpsert: db.prepare<{
      clientId: string;
      topic: string;
      qos: number;
      rh: number | null;
      rap: number | null;
      nl: number | null;
      subscriptionIdentifier: number | null;
    }>(
      `INSERT INTO mqtt_subscriptions (client_id, topic, qos, rh, rap, nl, subscription_identifier)
       VALUES (@clientId, @topic, @qos, @rh, @rap, @nl, @subscriptionIdentifier)
       ON CONFLICT (client_id, topic) DO UPDATE SET
         qos = excluded.qos, rh = excluded.rh, rap = excluded.rap, nl = excluded.nl,
         subscription_identifier = excluded.subscription_identifier`,
    ),
    subscriptionDelete: db
      .prepare<[string, string], number>('DELETE FROM mqtt_subscriptions WHERE client_id = ? AND topic = ? RETURNING qos')
      .pluck(),
    subscriptionsDeleteClient: db.prepare<[string], { topic: string; qos: number }>(
      'DELETE FROM mqtt_subscriptions WHERE client_id = ? RETURNING topic, qos',
    ),
    subscriptionsByClient: db.prepare<[string], SubscriptionRow>(
      `SELECT topic, qos, rh, rap, nl, subscription_identifier
       FROM mqtt_subscriptions WHERE client_id = ? ORDER BY id`,
    ),
    subscriptionsForTrie: db.prepare<[], SubscriptionRow & { client_id: string }>(
      'SELECT client_id, topic, qos, rh, rap, nl FROM mqtt_subscriptions WHERE qos > 0 ORDER BY id',
    ),
    countOffline: db.prepare<[], { subsCount: number; clientsCount: number }>(
      `SELECT COUNT(*) FILTER (WHERE qos > 0) AS subsCount, COUNT(DISTINCT client_id) AS clientsCount
       FROM mqtt_subscriptions`,
    ),
    // Ordered by when each client first subscribed to anything, which is the
    // order the in-memory persistence's per-client map yields.
    clientsByTopic: db
      .prepare<[string], string>(
        `SELECT client_id FROM mqtt_subscriptions s WHERE topic = ?
         ORDER BY (SELECT MIN(id) FROM mqtt_subscriptions f WHERE f.client_id = s.client_id)`,
      )
      .pluck(),

    // outgoing
    // The cap is enforced in the INSERT itself so check and write are one statement.
    outgoingInsert: db.prepare<{
      clientId: string;
      messageId: number | null;
      brokerId: string | null;
      brokerCounter: number | null;
      packet: string;
      payload: StoredPayload;
      max: number;
    }>(
      `INSERT INTO mqtt_outgoing (client_id, message_id, broker_id, broker_counter, packet, payload)
       SELECT @clientId, @messageId, @brokerId, @brokerCounter, @packet, @payload
       WHERE (SELECT COUNT(*) FROM mqtt_outgoing WHERE client_id = @clientId) < @max`,
    ),
    // Same search as the in-memory loop: walk the queue in order and stop at
    // the first packet that is either this broker publication (same broker
    // and counter) or, from another broker, carries the same messageId.
    // Same-broker packets with a different counter are skipped even when the
    // messageId collides, because messageIds wrap at 65535.
    outgoingFindForUpdate: db.prepare<
      { clientId: string; brokerId: string | null; brokerCounter: number | null; messageId: number | null },
      { seq: number; packet: string; exact: number }
    >(
      `SELECT seq, packet, (broker_id IS @brokerId AND broker_counter IS @brokerCounter) AS exact
       FROM mqtt_outgoing
       WHERE client_id = @clientId
         AND ((broker_id IS @brokerId AND broker_counter IS @brokerCounter)
              OR (broker_id IS NOT @brokerId AND message_id IS @messageId))
       ORDER BY seq LIMIT 1`,
    ),
    outgoingSetMessageId: db.prepare<[number | null, string, number]>(
      'UPDATE mqtt_outgoing SET message_id = ?, packet = ? WHERE seq = ?',
    ),
    outgoingReplace: db.prepare<{
      seq: number;
      messageId: number | null;
      brokerId: string | null;
      brokerCounter: number | null;
      packet: string;
      payload: StoredPayload;
    }>(
      `UPDATE mqtt_outgoing SET message_id = @messageId, broker_id = @brokerId, broker_counter = @brokerCounter,
         packet = @packet, payload = @payload
       WHERE seq = @seq`,
    ),
    // `IS` rather than `=`: like the in-memory persistence, clearing with an
    // undefined messageId removes the first packet that has none yet (aedes
    // does this when authorizeForward rejects a freshly queued packet).
    // Found first, deleted only when there: most PUBACKs are of commands, never queued here,
    // and a read takes no write lock (a DELETE of nothing still does: ~2x the CPU).
    outgoingClearFind: db.prepare<[string, number | null], PacketRow & { seq: number }>(
      'SELECT seq, packet, payload FROM mqtt_outgoing WHERE client_id = ? AND message_id IS ? ORDER BY seq LIMIT 1',
    ),
    outgoingClearSeq: db.prepare<[number]>('DELETE FROM mqtt_outgoing WHERE seq = ?'),
    outgoingAny: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM mqtt_outgoing WHERE client_id = ? LIMIT 1'),
    outgoingLastSeq: db
      .prepare<[string], number | null>('SELECT MAX(seq) FROM mqtt_outgoing WHERE client_id = ?')
      .pluck(),
    outgoingPage: db.prepare<[string, number, number, number], OutgoingRow>(
      `SELECT seq, packet, payload FROM mqtt_outgoing
       WHERE client_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?`,
    ),

    // incoming
    // message_id is NOT NULL: a QoS 2 packet without one is a caller bug and fails loudly.
    incomingUpsert: db.prepare<[string, number | null, string, StoredPayload]>(
      `INSERT INTO mqtt_incoming (client_id, message_id, packet, payload) VALUES (?, ?, ?, ?)
       ON CONFLICT (client_id, message_id) DO UPDATE SET packet = excluded.packet, payload = excluded.payload`,
    ),
    incomingGet: db.prepare<[string, number | null], PacketRow>(
      'SELECT packet, payload FROM mqtt_incoming WHERE client_id = ? AND message_id = ?',
    ),
    incomingDelete: db.prepare<[string, number | null]>(
      'DELETE FROM mqtt_incoming WHERE client_id = ? AND message_id = ?',
    ),
    incomingDeleteClient: db.prepare<[string]>('DELETE FROM mqtt_incoming WHERE client_id = ?'),
    incomingCount: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM mqtt_incoming WHERE client_id = ?'),

    // wills
    willUpsert: db.prepare<[string, string, string, StoredPayload]>(
      `INSERT INTO mqtt_wills (client_id, broker_id, packet, payload) VALUES (?, ?, ?, ?)
       ON CONFLICT (client_id) DO UPDATE SET
         broker_id = excluded.broker_id, packet = excluded.packet, payload = excluded.payload`,
    ),
    willGet: db.prepare<[string], PacketRow>('SELECT packet, payload FROM mqtt_wills WHERE client_id = ?'),
    willDelete: db.prepare<[string], PacketRow>('DELETE FROM mqtt_wills WHERE client_id = ? RETURNING packet, payload'),
    willsAll: db.prepare<[], WillRow>('SELECT broker_id, packet, payload FROM mqtt_wills ORDER BY rowid'),
  };
}

type Statements = ReturnType<typeof prepareStatements>;

/** The statements, or a plain refusal when the database has not been migrated (see schema.ts). */
function prepareMigrated(db: Database.Database): Statements {
  try {
    return prepareStatements(db);
  } catch (err) {
    if (err instanceof Error && /no such table: mqtt_/.test(err.message)) {
      throw new Error(`the MQTT session tables are missing (${err.message}): open the database with openDatabase() or run migrate() first`);
    }
    throw err;
  }
}

// ---------------------------------------------------------------------------
// Persistence
// ---------------------------------------------------------------------------

export class SqlitePersistence {
  readonly #db: Database.Database;
  readonly #stmt: Statements;
  readonly #maxQueuedPerClient: number;
  readonly #maxIncomingPerClient: number;
  #trie: QlobberSub;
  #broker: BrokerRef | undefined;
  #dropped = 0;
  #destroyed = false;
  /**
   * Clients known to have nothing queued: a PUBACK from one of them (nearly every PUBACK: the
   * emulator writes commands itself and never queues them here) reads no row. A client
   * leaves it before anything is queued for it; what is deleted never puts it back, so it
   * only ever errs towards reading.
   */
  #nothingQueued = new Set<string>();

  constructor(db: Database.Database, opts: SqlitePersistenceOptions = {}) {
    const max = opts.maxQueuedPerClient ?? DEFAULT_MAX_QUEUED_PER_CLIENT;
    if (!Number.isInteger(max) || max < 0) {
      throw new RangeError(`maxQueuedPerClient must be a non-negative integer, got ${max}`);
    }
    this.#db = db;
    this.#stmt = prepareMigrated(db);
    this.#maxQueuedPerClient = max;
    this.#maxIncomingPerClient = opts.maxIncomingPerClient ?? DEFAULT_MAX_QUEUED_PER_CLIENT;
    this.#trie = new QlobberSubCtor(QLOBBER_OPTIONS);
    for (const row of this.#stmt.subscriptionsForTrie.all()) {
      this.#trie.add(row.topic, {
        clientId: row.client_id,
        topic: row.topic,
        qos: row.qos,
        rh: row.rh ?? undefined,
        rap: sqlToBool(row.rap),
        nl: sqlToBool(row.nl),
      });
    }
  }

  /** The broker passed to setup(); the abstract test suite reads it. */
  get broker(): BrokerRef | undefined {
    return this.#broker;
  }

  /** Outgoing packets dropped because a client's queue was full, since construction. */
  droppedCount(): number {
    return this.#dropped;
  }

  async setup(broker: BrokerRef): Promise<void> {
    this.#broker = broker;
  }

  // -- retained -------------------------------------------------------------

  async storeRetained(packet: MqttPacket): Promise<void> {
    const topic = packet.topic;
    if (topic === undefined) throw new TypeError('cannot retain a packet without a topic');
    // An empty retained payload clears the retained message (MQTT-3.3.1-10/11).
    if (packet.payload === undefined || packet.payload.length === 0) {
      this.#stmt.retainedDelete.run(topic);
      return;
    }
    const encoded = encodePacket(packet);
    this.#stmt.retainedUpsert.run(topic, encoded.packet, encoded.payload);
  }

  createRetainedStream(pattern: string): Readable {
    return this.createRetainedStreamCombi([pattern]);
  }

  createRetainedStreamCombi(patterns: string[]): Readable {
    return Readable.from(this.#retainedMatching(patterns));
  }

  // Topics are matched in JS (a SQL LIKE/GLOB cannot express MQTT wildcards),
  // and packets are only loaded for matching topics. Like the in-memory
  // persistence, a topic matched by several patterns is yielded once per
  // pattern.
  *#retainedMatching(patterns: string[]): Generator<MqttPacket> {
    const stored = this.#stmt.retainedTopics.all();
    for (const pattern of patterns) {
      const matcher = new QlobberTrueCtor(QLOBBER_OPTIONS);
      matcher.add(pattern);
      for (const { id, topic } of stored) {
        if (hiddenFromFilter(topic, pattern) || !matcher.test(topic)) continue;
        // The stream is consumed asynchronously, so the row may be gone by now.
        const row = this.#stmt.retainedById.get(id);
        if (row) yield decodePacket(row);
      }
    }
  }

  // -- subscriptions --------------------------------------------------------

  async addSubscriptions(client: ClientRef, subs: MqttSubscription[]): Promise<void> {
    const trieOps = this.#db.transaction((): TrieOp[] => {
      const ops: TrieOp[] = [];
      for (const sub of subs) {
        const previousQos = this.#stmt.subscriptionQos.get(client.id, sub.topic);
        this.#stmt.subscriptionUpsert.run({
          clientId: client.id,
          topic: sub.topic,
          qos: sub.qos,
          rh: sub.rh ?? null,
          rap: boolToSql(sub.rap),
          nl: boolToSql(sub.nl),
          subscriptionIdentifier: sub.subscriptionIdentifier ?? null,
        });
        // Only QoS>0 subscriptions need offline queueing, so only they are
        // matchable by topic (same rule as the in-memory persistence).
        if (sub.qos > 0) {
          ops.push({
            op: 'add',
            value: { clientId: client.id, topic: sub.topic, qos: sub.qos, rh: sub.rh, rap: sub.rap, nl: sub.nl },
          });
        } else if (previousQos !== undefined && previousQos > 0) {
          ops.push({ op: 'remove', clientId: client.id, topic: sub.topic });
        }
      }
      return ops;
    })();
    this.#applyTrieOps(trieOps);
  }

  async removeSubscriptions(client: ClientRef, topics: string[]): Promise<void> {
    const trieOps = this.#db.transaction((): TrieOp[] => {
      const ops: TrieOp[] = [];
      for (const topic of topics) {
        const removedQos = this.#stmt.subscriptionDelete.get(client.id, topic);
        if (removedQos !== undefined && removedQos > 0) ops.push({ op: 'remove', clientId: client.id, topic });
      }
      return ops;
    })();
    this.#applyTrieOps(trieOps);
  }

  async cleanSubscriptions(client: ClientRef): Promise<void> {
    const removed = this.#stmt.subscriptionsDeleteClient.all(client.id);
    this.#applyTrieOps(
      removed
        .filter((row) => row.qos > 0)
        .map((row): TrieOp => ({ op: 'remove', clientId: client.id, topic: row.topic })),
    );
  }

  #applyTrieOps(ops: TrieOp[]): void {
    for (const op of ops) {
      if (op.op === 'add') this.#trie.add(op.value.topic, op.value);
      else this.#trie.remove(op.topic, { clientId: op.clientId, topic: op.topic });
    }
  }

  async subscriptionsByClient(client: ClientRef): Promise<MqttSubscription[]> {
    return this.#stmt.subscriptionsByClient.all(client.id).map((row) => {
      const sub: MqttSubscription = {
        topic: row.topic,
        qos: row.qos,
        rh: row.rh ?? undefined,
        rap: sqlToBool(row.rap),
        nl: sqlToBool(row.nl),
      };
      // Only present when set, so MQTT 3.1.1 subscriptions keep their exact shape.
      if (row.subscription_identifier !== null) sub.subscriptionIdentifier = row.subscription_identifier;
      return sub;
    });
  }

  async countOffline(): Promise<{ subsCount: number; clientsCount: number }> {
    const counts = this.#stmt.countOffline.get();
    return { subsCount: counts?.subsCount ?? 0, clientsCount: counts?.clientsCount ?? 0 };
  }

  async subscriptionsByTopic(topic: string): Promise<TopicSubscription[]> {
    const subs = this.#trie.match(topic);
    return topic.startsWith('$') ? subs.filter((sub) => !startsWithWildcard(sub.topic)) : subs;
  }

  getClientList(topic: string): Readable {
    return Readable.from(this.#stmt.clientsByTopic.all(topic));
  }

  // -- outgoing queue ---------------------------------------------------------

  async outgoingEnqueue(sub: { clientId: string }, packet: MqttPacket): Promise<void> {
    this.#enqueue([sub], packet);
  }

  async outgoingEnqueueCombi(subs: { clientId: string }[], packet: MqttPacket): Promise<void> {
    this.#enqueue(subs, packet);
  }

  #enqueue(subs: { clientId: string }[], packet: MqttPacket): void {
    // Aedes calls this for every QoS>0 publish, matched or not; every device publish
    // the emulator ingests has no subscriber, so skip the encoding and the transaction.
    if (subs.length === 0) return;
    // Normalised through aedes-packet like the in-memory persistence, which
    // drops transport-only fields such as `length`.
    for (const sub of subs) this.#nothingQueued.delete(sub.clientId);
    const queued = new Packet(packet);
    const encoded = encodePacket(queued);
    const insertAll = this.#db.transaction(() => {
      let dropped = 0;
      for (const sub of subs) {
        const { changes } = this.#stmt.outgoingInsert.run({
          clientId: sub.clientId,
          messageId: queued.messageId ?? null,
          brokerId: queued.brokerId ?? null,
          brokerCounter: queued.brokerCounter ?? null,
          packet: encoded.packet,
          payload: encoded.payload,
          max: this.#maxQueuedPerClient,
        });
        if (changes === 0) dropped++;
      }
      return dropped;
    });
    // A full queue drops the packet for that client only; failing the call
    // would make aedes emit an error for the whole publish.
    this.#dropped += insertAll();
  }

  async outgoingUpdate(client: ClientRef, packet: MqttPacket): Promise<void> {
    this.#db.transaction(() => {
      const found = this.#stmt.outgoingFindForUpdate.get({
        clientId: client.id,
        brokerId: packet.brokerId ?? null,
        brokerCounter: packet.brokerCounter ?? null,
        messageId: packet.messageId ?? null,
      });
      if (!found) throw new Error('no such packet');
      if (found.exact) {
        // The broker is about to send this queued packet: record the
        // messageId it was given so the PUBACK/PUBREC can find it.
        const fields = fromJson(JSON.parse(found.packet) as Json) as MqttPacket;
        fields.messageId = packet.messageId;
        this.#stmt.outgoingSetMessageId.run(packet.messageId ?? null, JSON.stringify(toJson(fields)), found.seq);
      } else {
        // QoS 2 flow: the PUBLISH is replaced by its PUBREL under the same messageId.
        const encoded = encodePacket(packet);
        this.#stmt.outgoingReplace.run({
          seq: found.seq,
          messageId: packet.messageId ?? null,
          brokerId: packet.brokerId ?? null,
          brokerCounter: packet.brokerCounter ?? null,
          packet: encoded.packet,
          payload: encoded.payload,
        });
      }
    })();
  }

  /**
   * The queued packet `packet` acknowledges, removed. Commands are written to devices by the
   * emulator rather than queued here: a PUBACK for a packet id nothing is queued under is
   * answered with the PUBACK itself, so Aedes' `ack` event (which carries what this returns)
   * still names the packet id the device acknowledged.
   */
  async outgoingClearMessageId(client: ClientRef, packet: MqttPacket): Promise<MqttPacket | undefined> {
    if (!this.#nothingQueued.has(client.id)) {
      const row = this.#stmt.outgoingClearFind.get(client.id, packet?.messageId ?? null);
      if (row) {
        this.#stmt.outgoingClearSeq.run(row.seq);
        return decodePacket(row, true);
      }
      if (this.#stmt.outgoingAny.get(client.id) === undefined) {
        // Bounded: client ids that come and go (random ones) must not grow it for ever.
        if (this.#nothingQueued.size >= NOTHING_QUEUED_MAX) this.#nothingQueued.clear();
        this.#nothingQueued.add(client.id);
      }
    }
    return packet?.cmd === 'puback' && typeof packet.messageId === 'number' ? packet : undefined;
  }

  /**
   * Streams the client's queue as it is now: packets queued after this call
   * are delivered live by aedes and must not be sent a second time from here.
   * Packets acknowledged while the stream is being read are skipped.
   */
  outgoingStream(client: ClientRef): Readable {
    const lastSeq = this.#stmt.outgoingLastSeq.get(client.id) ?? 0;
    return Readable.from(this.#outgoingPages(client.id, lastSeq));
  }

  *#outgoingPages(clientId: string, lastSeq: number): Generator<MqttPacket> {
    let after = 0;
    for (;;) {
      const rows = this.#stmt.outgoingPage.all(clientId, after, lastSeq, OUTGOING_PAGE_SIZE);
      for (const row of rows) yield decodePacket(row, true);
      if (rows.length < OUTGOING_PAGE_SIZE) return;
      after = rows[rows.length - 1].seq;
    }
  }

  // -- incoming QoS 2 ---------------------------------------------------------

  async incomingStorePacket(client: ClientRef, packet: MqttPacket): Promise<void> {
    const stored = new Packet(packet);
    // aedes-packet resets messageId for QoS>0; the incoming store is keyed by it.
    stored.messageId = packet.messageId;
    const encoded = encodePacket(stored);
    // A retransmission of a packet id already held replaces it; a new one must fit.
    const held = this.#stmt.incomingGet.get(client.id, packet.messageId ?? null);
    if (!held && this.#stmt.incomingCount.get(client.id)!.n >= this.#maxIncomingPerClient) {
      throw new Error(`${this.#maxIncomingPerClient} inbound QoS 2 packets already await their PUBREL`);
    }
    this.#stmt.incomingUpsert.run(client.id, packet.messageId ?? null, encoded.packet, encoded.payload);
  }

  async incomingGetPacket(client: ClientRef, packet: MqttPacket): Promise<MqttPacket> {
    const row = this.#stmt.incomingGet.get(client.id, packet.messageId ?? null);
    if (!row) throw new Error('no such packet');
    return decodePacket(row, true);
  }

  async incomingDelPacket(client: ClientRef, packet: MqttPacket): Promise<void> {
    const { changes } = this.#stmt.incomingDelete.run(client.id, packet.messageId ?? null);
    if (changes === 0) throw new Error('no such packet');
  }

  async cleanIncoming(client: ClientRef): Promise<void> {
    this.#stmt.incomingDeleteClient.run(client.id);
  }

  // -- wills ----------------------------------------------------------------

  async putWill(client: ClientRef, packet: MqttPacket): Promise<void> {
    if (!this.#broker) throw new Error('putWill called before setup()');
    // Mutating the caller's packet is part of the contract: the in-memory
    // persistence stores it by reference and callers (aedes, the abstract
    // tests) expect brokerId and clientId on it afterwards.
    packet.brokerId = this.#broker.id;
    packet.clientId = client.id;
    const encoded = encodePacket(packet);
    this.#stmt.willUpsert.run(client.id, this.#broker.id, encoded.packet, encoded.payload);
  }

  async getWill(client: ClientRef): Promise<MqttPacket | undefined> {
    const row = this.#stmt.willGet.get(client.id);
    return row ? decodePacket(row) : undefined;
  }

  async delWill(client: ClientRef): Promise<MqttPacket | undefined> {
    const row = this.#stmt.willDelete.get(client.id);
    return row ? decodePacket(row) : undefined;
  }

  /** Wills whose broker is not in `brokers` (i.e. not known to be alive). */
  streamWill(brokers: Record<string, unknown> = {}): Readable {
    const wills = this.#stmt.willsAll
      .all()
      .filter((row) => !(row.broker_id !== null && Object.hasOwn(brokers, row.broker_id) && brokers[row.broker_id]))
      .map((row) => decodePacket(row));
    return Readable.from(wills);
  }

  // -- lifecycle --------------------------------------------------------------

  /** Releases in-memory state. The database belongs to the caller and stays open. */
  async destroy(): Promise<void> {
    if (this.#destroyed) throw new Error('destroyed called twice!');
    this.#destroyed = true;
    this.#trie = new QlobberSubCtor(QLOBBER_OPTIONS);
  }
}

export function createSqlitePersistence(
  db: Database.Database,
  opts?: SqlitePersistenceOptions,
): SqlitePersistence {
  return new SqlitePersistence(db, opts);
}
