/**
 * Later starts, as a test suite that starts an emulator per test sees them: import the
 * package, start and close once, then start and close `count` more times in the same
 * process and print the median, least and greatest of those later starts. The CA comes from
 * <certs-dir>, made beforehand. bench/servers/in-process.mjs (what `npm run bench` runs)
 * times only the second start, which also carries the first one's garbage.
 * Usage: node in-process-later.mjs <certs-dir> [count=15] [<index.js>]. Prints one JSON line.
 */
import { pathToFileURL } from 'node:url';

const [certsDir, countArg, index] = process.argv.slice(2);
if (!certsDir) throw new Error('usage: in-process-later.mjs <certs-dir> [count] [<index.js>]');
const count = Number(countArg ?? 15);

const { startEmulator } = await import(index ? pathToFileURL(index).href : new URL('../../dist/index.js', import.meta.url).href);
await (await startEmulator({ certsDir })).close();
const times = [];
for (let i = 0; i < count; i++) {
  const t = performance.now();
  const emulator = await startEmulator({ certsDir });
  times.push(performance.now() - t);
  await emulator.close();
}
times.sort((a, b) => a - b);
const round = (ms) => Math.round(ms * 10) / 10;
process.stdout.write(`${JSON.stringify({ laterStarts: count, medianMs: round(times[Math.floor(count / 2)]), minMs: round(times[0]), maxMs: round(times[count - 1]) })}\n`);
