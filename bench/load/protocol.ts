/**
 * Messages between the bench runner and its load process. The load process holds the
 * MQTT devices and the HTTP invoker together, so a command's latency is measured on one
 * clock: from the moment the invoke is sent to the moment the device sees the command
 * complete.
 */
import type { Percentiles } from '../lib/stats.js';

export interface DeviceCred {
  instanceId: string;
  externalKey: string;
  password: string;
}

export interface ConnectRequest {
  url: string;
  caFile: string;
  devices: DeviceCred[];
  /** Connections in progress at once (the ramp). */
  parallel: number;
  /** Topic every device subscribes to at QoS 1 after connecting; none when null. */
  subscribe: string | null;
}

export interface ConnectResult {
  connected: number;
  failed: number;
  firstError: string | null;
  elapsedMs: number;
  /** Devices connected and subscribed per second over the ramp. */
  perSecond: number;
  /** CONNECT to SUBACK per device. */
  latency: Percentiles;
  totalConnected: number;
  /** CPU used by the load process over the ramp, as a fraction of one core. */
  loadCpu: number;
}

interface InvokeLoad {
  restUrl: string;
  twoWay: boolean;
  /** Commands go round-robin (closed loop) or at random (open loop) to the first `targets` devices. */
  targets: number;
  warmupMs: number;
  measureMs: number;
}

export interface ClosedLoopRequest extends InvokeLoad {
  /** Commands in flight end to end: each slot invokes, waits for completion, invokes again. */
  concurrency: number;
}

export interface OpenLoopRequest extends InvokeLoad {
  /** Commands per second, sent on a fixed schedule whatever the replies do. */
  rate: number;
}

/**
 * A command's client latency in parts: the load's own lag (open loop: scheduled → sent),
 * sent → its 202, sent → the command at the device, the command at the device → complete
 * (two-way: the PUBACK of the response; one-way: 0). Per part over all commands, and the
 * mean of each part over the slowest 1 % (by total), which says where a tail comes from.
 */
export interface LatencySegments {
  each: Record<'scheduledToSent' | 'sentToAccepted' | 'sentToDevice' | 'deviceToDone', Percentiles>;
  slowest1pct: Record<'scheduledToSent' | 'sentToAccepted' | 'sentToDevice' | 'deviceToDone' | 'total', number>;
}

export interface InvokeResult {
  issued: number;
  accepted: number;
  httpErrors: number;
  firstError: string | null;
  /** Commands not seen completed within the completion timeout. */
  lost: number;
  completedInWindow: number;
  perSecond: number;
  /** Client clock: invoke sent (open loop: its scheduled time) → completion seen by the device. */
  latency: Percentiles;
  /** The same latency in parts, on the client clock. */
  segments: LatencySegments;
  /** The p99 of the commands started in each second of the window: a tail spread evenly, or one spell. */
  p99BySecond: number[];
  /** Command ids of the window's commands, for the database's own timestamps. */
  windowIds: number[];
  /** CPU used by the load process over the window, as a fraction of one core. */
  loadCpu: number;
}

export interface ObserverSpec {
  url: string;
  caFile: string;
  username: string;
  password: string;
  topic: string;
}

export interface TelemetryRequest {
  /** QoS 1 publishes each device keeps in flight. */
  windowPerDevice: number;
  payloadBytes: number;
  warmupMs: number;
  measureMs: number;
  /** A subscriber that counts what the broker delivers (the Mosquitto ceiling); null for the emulator. */
  observer: ObserverSpec | null;
}

export interface TelemetryResult {
  acked: number;
  ackedInWindow: number;
  ackPerSecond: number;
  /** Epoch ms of the measurement window, to count database rows in it. */
  windowStart: number;
  windowEnd: number;
  observed: number;
  observedInWindow: number;
  observedPerSecond: number;
  errors: number;
  firstError: string | null;
  loadCpu: number;
}

export interface AutocannonRequest {
  url: string;
  body: string;
  connections: number;
  durationSec: number;
}

export interface AutocannonSummary {
  perSecond: number;
  total: number;
  non2xx: number;
  errors: number;
  latencyP50: number;
  latencyP99: number;
}

export interface SoakRequest {
  restUrl: string;
  /** Two-way commands per second, on a fixed schedule, spread over the connected devices. */
  commandRate: number;
  /** Telemetry publishes (QoS 1) per second, spread over the same devices. */
  telemetryRate: number;
  payloadBytes: number;
}

/** What happened since the previous sample (or the start). */
export interface SoakSample {
  /** Milliseconds since the soak started. */
  atMs: number;
  intervalMs: number;
  commandsIssued: number;
  commandsCompleted: number;
  /** Client clock, invoke scheduled → device saw it complete, of commands completed in the interval. */
  commandLatency: Percentiles;
  telemetrySent: number;
  telemetryAcked: number;
  /** Publish → PUBACK (the row is stored), of publishes acknowledged in the interval. */
  telemetryLatency: Percentiles;
  /** Commands and publishes sent and not yet completed or acknowledged. */
  inFlight: number;
  errors: number;
  loadCpu: number;
}

export interface SoakTotals {
  commandsIssued: number;
  commandsAccepted: number;
  commandsCompleted: number;
  /** Accepted commands not seen completed within the completion timeout. */
  commandsLost: number;
  httpErrors: number;
  telemetrySent: number;
  telemetryAcked: number;
  telemetryErrors: number;
  firstError: string | null;
}

/** Each operation's argument and result. */
export interface LoadOps {
  connect: [ConnectRequest, ConnectResult];
  closedLoop: [ClosedLoopRequest, InvokeResult];
  openLoop: [OpenLoopRequest, InvokeResult];
  telemetry: [TelemetryRequest, TelemetryResult];
  autocannon: [AutocannonRequest, AutocannonSummary];
  disconnect: [Record<string, never>, { closed: number }];
  soakStart: [SoakRequest, { started: true }];
  soakSample: [Record<string, never>, SoakSample];
  soakStop: [Record<string, never>, SoakTotals];
}

export type LoadOp = keyof LoadOps;

export interface LoadCall<K extends LoadOp = LoadOp> {
  id: number;
  op: K;
  args: LoadOps[K][0];
}

export type LoadReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** The topics of the command benchmark. */
export const COMMAND_TOPIC = 'bench/cmd';
export const RESPONSE_TOPIC = 'bench/rsp';
export const TELEMETRY_PREFIX = 'bench/telemetry';
