import mqtt from 'mqtt';
import { readFileSync } from 'node:fs';
import { sleep } from '../lib/proc.js';
import type { Fleet } from './fleet.js';
import { TELEMETRY_PREFIX, type TelemetryRequest, type TelemetryResult } from './protocol.js';

/**
 * Every connected device publishes QoS 1 telemetry with a fixed number of publishes in
 * flight, for warm-up + measure. A PUBACK from the emulator means the row is in
 * raw_data (it is stored before the broker acknowledges). With an observer, a separate
 * subscriber counts what the broker delivers: the pub→sub rate of a plain broker.
 */
export async function telemetry(fleet: Fleet, req: TelemetryRequest): Promise<TelemetryResult> {
  if (fleet.devices.length === 0) throw new Error('no connected devices to publish from');
  const observer = req.observer
    ? await mqtt.connectAsync(req.observer.url, {
        ca: readFileSync(req.observer.caFile),
        username: req.observer.username,
        password: req.observer.password,
        protocolVersion: 4,
        clientId: `bench-observer-${process.pid}`,
        clean: true,
        reconnectPeriod: 0,
      })
    : null;
  const t0 = performance.now();
  const windowStart = t0 + req.warmupMs;
  const windowEnd = windowStart + req.measureMs;
  let observed = 0;
  let observedInWindow = 0;
  if (observer && req.observer) {
    observer.on('message', () => {
      observed++;
      const now = performance.now();
      if (now >= windowStart && now < windowEnd) observedInWindow++;
    });
    await observer.subscribeAsync(req.observer.topic, { qos: 1 });
  }

  let acked = 0;
  let ackedInWindow = 0;
  let errors = 0;
  let firstError: string | null = null;
  let windowStartEpoch = 0;
  let windowEndEpoch = 0;
  let cpu0: NodeJS.CpuUsage | null = null;
  const marks = [
    setTimeout(() => {
      windowStartEpoch = Date.now();
      cpu0 = process.cpuUsage();
    }, req.warmupMs),
    setTimeout(() => (windowEndEpoch = Date.now()), req.warmupMs + req.measureMs),
  ];
  const padding = 'x'.repeat(Math.max(0, req.payloadBytes - 24));
  const lanes = fleet.devices.flatMap((device, d) =>
    Array.from({ length: req.windowPerDevice }, async () => {
      const topic = `${TELEMETRY_PREFIX}/${d}`;
      let n = 0;
      while (performance.now() < windowEnd && errors < 1000) {
        const payload = `{"d":${d},"n":${n++},"p":"${padding}"}`;
        try {
          await device.client.publishAsync(topic, payload, { qos: 1 });
          acked++;
          const now = performance.now();
          if (now >= windowStart && now < windowEnd) ackedInWindow++;
        } catch (err) {
          errors++;
          firstError ??= (err as Error).message;
          await sleep(10);
        }
      }
    }),
  );
  await Promise.all(lanes);
  windowEndEpoch ||= Date.now();
  const cpu = process.cpuUsage(cpu0 ?? undefined);
  marks.forEach(clearTimeout);
  if (observer) {
    // Let the broker deliver what it has queued, so the counts can be compared.
    const deadline = performance.now() + 15_000;
    while (observed < acked && performance.now() < deadline) await sleep(20);
    await observer.endAsync(true);
  }
  const seconds = req.measureMs / 1000;
  return {
    acked,
    ackedInWindow,
    ackPerSecond: ackedInWindow / seconds,
    windowStart: windowStartEpoch,
    windowEnd: windowEndEpoch,
    observed,
    observedInWindow,
    observedPerSecond: observedInWindow / seconds,
    errors,
    firstError,
    loadCpu: (cpu.user + cpu.system) / 1000 / req.measureMs,
  };
}
