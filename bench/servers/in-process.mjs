/**
 * In-process start-up, as a test suite sees it: import the package (dist/index.js), then
 * `startEmulator()` twice in the same process (the programmatic API's defaults: loopback,
 * ports 0, a temporary database, the manual clock), each closed again. The CA comes from
 * <certs-dir>, made beforehand, so certificate generation is not counted.
 * Usage: node in-process.mjs <certs-dir> [<index.js>, dist/index.js by default]. Prints one JSON line.
 */
import { pathToFileURL } from 'node:url';

const [certsDir, index] = process.argv.slice(2);
if (!certsDir) throw new Error('usage: in-process.mjs <certs-dir> [<index.js>]');

const t0 = performance.now();
const { startEmulator } = await import(index ? pathToFileURL(index).href : new URL('../../dist/index.js', import.meta.url).href);
const t1 = performance.now();
const first = await startEmulator({ certsDir });
const t2 = performance.now();
await first.close();
const t3 = performance.now();
const second = await startEmulator({ certsDir });
const t4 = performance.now();
await second.close();
process.stdout.write(`${JSON.stringify({ importMs: t1 - t0, firstStartMs: t2 - t1, laterStartMs: t4 - t3 })}\n`);
