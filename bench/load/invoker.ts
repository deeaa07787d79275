import http from 'node:http';
import { percentiles } from '../lib/stats.js';
import type { Completions } from './completions.js';
import type { Fleet } from './fleet.js';
import {
  COMMAND_TOPIC,
  RESPONSE_TOPIC,
  type ClosedLoopRequest,
  type InvokeResult,
  type LatencySegments,
  type OpenLoopRequest,
} from './protocol.js';

// Far above any latency we expect; a command not done by then is counted as lost.
const COMPLETION_TIMEOUT_MS = 30_000;

interface Sample {
  /** When the command counts as started (sent, or scheduled in an open loop). */
  start: number;
  /** When the invoke was sent; its 202 came back; the command reached the device. */
  sent: number;
  accepted: number;
  arrived: number;
  done: number;
  commandId: number;
}

/** Sends invokeRawCommand requests and waits for the devices to see them complete. */
export class Invoker {
  #seq = 0;
  #agent: http.Agent;
  issued = 0;
  accepted = 0;
  httpErrors = 0;
  lost = 0;
  firstError: string | null = null;

  constructor(
    private readonly completions: Completions,
    private readonly restUrl: string,
    private readonly twoWay: boolean,
    maxSockets: number,
  ) {
    this.#agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  /** Invokes one command on `instanceId` and resolves when it completed (null if it did not). */
  async run(instanceId: string, start: number): Promise<Sample | null> {
    const seq = this.#seq++;
    this.issued++;
    const completion = this.completions.expect(seq, COMPLETION_TIMEOUT_MS);
    const sent = performance.now();
    let commandId: number;
    let accepted: number;
    try {
      commandId = await this.#post(instanceId, seq);
      accepted = performance.now();
      this.accepted++;
    } catch (err) {
      this.httpErrors++;
      this.firstError ??= (err as Error).message;
      this.completions.cancel(seq);
      await completion;
      return null;
    }
    const done = await completion;
    const arrived = this.completions.takeArrival(seq);
    if (done === null) {
      this.lost++;
      return null;
    }
    return { start, sent, accepted, arrived, done, commandId };
  }

  #post(instanceId: string, seq: number): Promise<number> {
    const body = JSON.stringify({
      requestDataFormat: 'JSON',
      requestEndpoint: COMMAND_TOPIC,
      requestData: { s: seq, w: this.twoWay ? 1 : 0 },
      requestDuration: 'PT1M',
      ...(this.twoWay ? { responseEndpoint: RESPONSE_TOPIC, responseDuration: 'PT1M' } : {}),
    });
    return new Promise((resolve, reject) => {
      const req = http.request(
        `${this.restUrl}/20250531/digitalTwinInstances/${instanceId}/actions/invokeRawCommand`,
        {
          method: 'POST',
          agent: this.#agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const location = res.headers.location ?? '';
            const id = Number(location.slice(location.lastIndexOf('/') + 1));
            if (res.statusCode === 202 && Number.isInteger(id) && id > 0) resolve(id);
            else reject(new Error(`HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString('utf8').slice(0, 300)}`));
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

function targetsOf(fleet: Fleet, count: number): string[] {
  const ids = fleet.devices.slice(0, count).map((d) => d.cred.instanceId);
  if (ids.length === 0) throw new Error('no connected devices to command');
  return ids;
}

/** Where the client's latency went, for each command and for the slowest 1 % on average. */
function segmentsOf(samples: Sample[]): LatencySegments {
  const parts = {
    scheduledToSent: (s: Sample) => s.sent - s.start,
    sentToAccepted: (s: Sample) => s.accepted - s.sent,
    sentToDevice: (s: Sample) => s.arrived - s.sent,
    deviceToDone: (s: Sample) => s.done - s.arrived,
  };
  const slowest = [...samples].sort((a, b) => b.done - b.start - (a.done - a.start)).slice(0, Math.ceil(samples.length / 100));
  const mean = (f: (s: Sample) => number) => slowest.reduce((sum, s) => sum + f(s), 0) / Math.max(1, slowest.length);
  const each = {} as LatencySegments['each'];
  const slowest1pct = { total: mean((s) => s.done - s.start) } as LatencySegments['slowest1pct'];
  for (const [name, f] of Object.entries(parts) as Array<[keyof typeof parts, (s: Sample) => number]>) {
    each[name] = percentiles(samples.map(f).filter(Number.isFinite));
    slowest1pct[name] = mean(f);
  }
  return { each, slowest1pct };
}

/** The p99 of the commands started in each second of the window (open loop: by scheduled time). */
function p99BySecond(samples: Sample[], windowStart: number, windowMs: number): number[] {
  const seconds = Array.from({ length: Math.ceil(windowMs / 1000) }, (): number[] => []);
  for (const s of samples) seconds[Math.floor((s.start - windowStart) / 1000)]?.push(s.done - s.start);
  return seconds.map((l) => percentiles(l).p99);
}

function summarize(invoker: Invoker, samples: Sample[], windowStart: number, windowMs: number, cpu: NodeJS.CpuUsage): InvokeResult {
  return {
    segments: segmentsOf(samples),
    p99BySecond: p99BySecond(samples, windowStart, windowMs),
    issued: invoker.issued,
    accepted: invoker.accepted,
    httpErrors: invoker.httpErrors,
    firstError: invoker.firstError,
    lost: invoker.lost,
    completedInWindow: samples.length,
    perSecond: samples.length / (windowMs / 1000),
    latency: percentiles(samples.map((s) => s.done - s.start)),
    windowIds: samples.map((s) => s.commandId),
    loadCpu: (cpu.user + cpu.system) / 1000 / windowMs,
  };
}

/**
 * `concurrency` slots, each invoking a command and waiting for it to complete before the
 * next, for warm-up + measure. Counts completions inside the measure window.
 */
export async function closedLoop(fleet: Fleet, completions: Completions, req: ClosedLoopRequest): Promise<InvokeResult> {
  const targets = targetsOf(fleet, req.targets);
  const invoker = new Invoker(completions, req.restUrl, req.twoWay, req.concurrency);
  const t0 = performance.now();
  const windowStart = t0 + req.warmupMs;
  const windowEnd = windowStart + req.measureMs;
  const samples: Sample[] = [];
  let next = 0;
  let cpu0: NodeJS.CpuUsage | null = null;
  const cpuTimer = setTimeout(() => (cpu0 = process.cpuUsage()), req.warmupMs);
  const slot = async () => {
    while (performance.now() < windowEnd) {
      const target = targets[next++ % targets.length];
      const s = await invoker.run(target, performance.now());
      if (s && s.done >= windowStart && s.done < windowEnd) samples.push(s);
    }
  };
  await Promise.all(Array.from({ length: req.concurrency }, slot));
  clearTimeout(cpuTimer);
  const cpu = process.cpuUsage(cpu0 ?? undefined);
  invoker.close();
  return summarize(invoker, samples, windowStart, req.measureMs, cpu);
}

/**
 * Invokes at a fixed rate on a schedule that does not wait for replies (so a slow
 * server cannot slow the load down and hide its own latency). Latency runs from each
 * command's scheduled time; commands scheduled inside the measure window are counted.
 */
export async function openLoop(fleet: Fleet, completions: Completions, req: OpenLoopRequest): Promise<InvokeResult> {
  const targets = targetsOf(fleet, req.targets);
  const invoker = new Invoker(completions, req.restUrl, req.twoWay, 512);
  const total = Math.round((req.rate * (req.warmupMs + req.measureMs)) / 1000);
  const interval = 1000 / req.rate;
  const samples: Sample[] = [];
  const running: Array<Promise<void>> = [];
  const t0 = performance.now();
  const windowStart = t0 + req.warmupMs;
  const windowEnd = windowStart + req.measureMs;
  let cpu0: NodeJS.CpuUsage | null = null;
  const cpuTimer = setTimeout(() => (cpu0 = process.cpuUsage()), req.warmupMs);
  let sent = 0;
  // A deterministic spread over devices: consecutive commands rarely share a device.
  const pick = (k: number) => targets[(k * 7919) % targets.length];
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - t0) / interval) + 1);
      while (sent < due) {
        const scheduled = t0 + sent * interval;
        running.push(
          invoker.run(pick(sent), scheduled).then((s) => {
            if (s && s.start >= windowStart && s.start < windowEnd) samples.push(s);
          }),
        );
        sent++;
      }
      if (sent >= total) resolve();
      else setTimeout(tick, Math.max(0, t0 + sent * interval - performance.now()));
    };
    tick();
  });
  const cpu = process.cpuUsage(cpu0 ?? undefined);
  clearTimeout(cpuTimer);
  await Promise.all(running);
  invoker.close();
  return summarize(invoker, samples, windowStart, req.measureMs, cpu);
}
