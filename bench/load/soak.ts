import { percentiles } from '../lib/stats.js';
import type { Completions } from './completions.js';
import type { Fleet } from './fleet.js';
import { Invoker } from './invoker.js';
import { TELEMETRY_PREFIX, type SoakRequest, type SoakSample, type SoakTotals } from './protocol.js';

// Telemetry catches up in steps of at most this many ms, so a rate of hundreds per second
// costs a few timers per second, not one per message. Commands go out at their own
// scheduled times: their latency runs from then, so any lag of the load's would count as
// the emulator's.
const TICK_MS = 20;

/**
 * Steady load for as long as the runner wants: two-way commands in an open loop and QoS 1
 * telemetry, both at fixed rates that do not wait for replies, so a server that slows
 * down shows it as latency and in-flight work rather than as less load. The runner takes
 * a sample now and then and stops it at the end.
 */
export class Soak {
  readonly #invoker: Invoker;
  readonly #t0 = performance.now();
  #lastSample = this.#t0;
  #cpu0 = process.cpuUsage();
  #timer: NodeJS.Timeout | null = null;
  #commandsSent = 0;
  #telemetrySentTotal = 0;
  #outstanding = 0;
  #idle: (() => void) | null = null;
  // Per interval, reset by sample().
  #issued = 0;
  #completed: number[] = [];
  #published = 0;
  #acked: number[] = [];
  #errors = 0;
  // Totals.
  #commandsCompleted = 0;
  #telemetryAcked = 0;
  #telemetryErrors = 0;
  #firstError: string | null = null;

  constructor(
    private readonly fleet: Fleet,
    completions: Completions,
    private readonly req: SoakRequest,
  ) {
    if (fleet.devices.length === 0) throw new Error('no connected devices to soak');
    this.#invoker = new Invoker(completions, req.restUrl, true, 256);
    this.#tick();
  }

  #tick = (): void => {
    const elapsed = performance.now() - this.#t0;
    const devices = this.fleet.devices;
    // Command k is scheduled at k / rate: by `elapsed`, those up to floor(elapsed × rate) are due.
    const commandsDue = Math.floor((elapsed * this.req.commandRate) / 1000) + 1;
    while (this.#commandsSent < commandsDue) {
      const scheduled = this.#t0 + (this.#commandsSent * 1000) / this.req.commandRate;
      // A deterministic spread over devices: consecutive commands rarely share a device.
      const target = devices[(this.#commandsSent * 7919) % devices.length].cred.instanceId;
      this.#commandsSent++;
      this.#issued++;
      this.#track(
        this.#invoker.run(target, scheduled).then((s) => {
          if (!s) {
            this.#errors++;
            return;
          }
          this.#commandsCompleted++;
          this.#completed.push(s.done - s.start);
        }),
      );
    }
    const telemetryDue = Math.floor((elapsed * this.req.telemetryRate) / 1000) + 1;
    const padding = 'x'.repeat(Math.max(0, this.req.payloadBytes - 24));
    while (this.#telemetrySentTotal < telemetryDue) {
      const n = this.#telemetrySentTotal++;
      const d = n % devices.length;
      const sent = performance.now();
      this.#published++;
      this.#track(
        devices[d].client.publishAsync(`${TELEMETRY_PREFIX}/${d}`, `{"d":${d},"n":${n},"p":"${padding}"}`, { qos: 1 }).then(
          () => {
            this.#telemetryAcked++;
            this.#acked.push(performance.now() - sent);
          },
          (err: unknown) => {
            this.#errors++;
            this.#telemetryErrors++;
            this.#firstError ??= (err as Error).message;
          },
        ),
      );
    }
    const nextCommand = this.#t0 + (this.#commandsSent * 1000) / this.req.commandRate - performance.now();
    this.#timer = setTimeout(this.#tick, Math.max(0, Math.min(TICK_MS, nextCommand)));
  };

  #track(work: Promise<void>): void {
    this.#outstanding++;
    void work.finally(() => {
      if (--this.#outstanding === 0) this.#idle?.();
    });
  }

  sample(): SoakSample {
    const now = performance.now();
    const cpu = process.cpuUsage(this.#cpu0);
    const intervalMs = now - this.#lastSample;
    const out: SoakSample = {
      atMs: now - this.#t0,
      intervalMs,
      commandsIssued: this.#issued,
      commandsCompleted: this.#completed.length,
      commandLatency: percentiles(this.#completed),
      telemetrySent: this.#published,
      telemetryAcked: this.#acked.length,
      telemetryLatency: percentiles(this.#acked),
      inFlight: this.#outstanding,
      errors: this.#errors,
      loadCpu: (cpu.user + cpu.system) / 1000 / intervalMs,
    };
    this.#lastSample = now;
    this.#cpu0 = process.cpuUsage();
    this.#issued = 0;
    this.#completed = [];
    this.#published = 0;
    this.#acked = [];
    this.#errors = 0;
    return out;
  }

  /** Stops sending, then waits until every command completed or timed out and every publish was answered. */
  async stop(): Promise<SoakTotals> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#outstanding > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
    this.#invoker.close();
    return {
      commandsIssued: this.#invoker.issued,
      commandsAccepted: this.#invoker.accepted,
      commandsCompleted: this.#commandsCompleted,
      commandsLost: this.#invoker.lost,
      httpErrors: this.#invoker.httpErrors,
      telemetrySent: this.#telemetrySentTotal,
      telemetryAcked: this.#telemetryAcked,
      telemetryErrors: this.#telemetryErrors,
      firstError: this.#invoker.firstError ?? this.#firstError,
    };
  }
}
