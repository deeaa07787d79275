/**
 * A preload for the emulator under a benchmark: every event-loop stall of 15 ms or more
 * (the lateness of a 1 ms interval), every GC pause over 4 ms and, each second, the
 * process's CPU (all threads), with the wall-clock time, to /tmp/stall-log-<pid>.txt. Only a process whose script is a `cli.js` logs, so
 * it can be set for a whole run:
 *   NODE_OPTIONS="--require $PWD/bench/stall-log.cjs" npx tsx bench/compare.ts ...
 * bench/results/half-load-event-loop.md was measured this way.
 */
if (/cli\.js$/.test(process.argv[1] || '')) {
  const fs = require('node:fs');
  const { PerformanceObserver } = require('node:perf_hooks');
  const file = `/tmp/stall-log-${process.pid}.txt`;
  const kinds = { 1: 'scavenge', 2: 'mark-compact', 4: 'incremental', 8: 'weak' };
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (now - last >= 15) fs.appendFileSync(file, `${Date.now()} stall ${(now - last).toFixed(1)}\n`);
    last = now;
  }, 1).unref();
  let cpu = process.cpuUsage();
  setInterval(() => {
    const used = process.cpuUsage(cpu);
    cpu = process.cpuUsage();
    fs.appendFileSync(file, `${Date.now()} cpu ${((used.user + used.system) / 10_000).toFixed(0)}\n`);
  }, 1000).unref();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.duration > 4) fs.appendFileSync(file, `${Date.now()} gc ${kinds[e.detail?.kind] ?? e.detail?.kind} ${e.duration.toFixed(1)}\n`);
    }
  }).observe({ entryTypes: ['gc'] });
}
