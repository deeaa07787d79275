import { createRequire } from 'node:module';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

/**
 * The jq engine, behind one small interface so it can be swapped: jq 1.7 itself, compiled
 * to WebAssembly (npm `jq-web`, which ships its .wasm: nothing is downloaded at install).
 *
 * It runs in a worker thread that the caller waits for synchronously (Atomics.wait), for
 * two reasons: the adapter pipeline runs inside the broker's SQLite transaction, which is
 * synchronous; and a runaway expression (`def f: f; f`, `[range(1e10)]`) must be cut off,
 * which only works from outside the thread running it. On a time-out the worker is
 * terminated and a fresh one is started for the next call.
 *
 * jq-web compiles the program on every call (about 1.5 ms, mostly jq's own builtins), so
 * callers run one program over many inputs at once: the pipeline sends a whole turn's
 * messages in one call (see pipeline.ts).
 */
export interface JqEngine {
  /** null when `program` compiles; else jq's compile error. */
  check(program: string): string | null;
  /**
   * Runs `program` with jq -c over `input` (concatenated JSON texts), giving its output
   * lines, or `timedOut` when it ran past `timeLimitMs`, or jq's error.
   */
  run(program: string, input: string, timeLimitMs: number): { lines: string[] } | { timedOut: true } | { error: string };
  close(): void;
}

// Inline so the same code runs from src/ under the test runner and from dist/ when installed.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { flags, port, jqPath } = workerData;
const state = new Int32Array(flags);
require(jqPath).then((jq) => {
  port.on('message', ({ program, input, check }) => {
    let reply;
    try {
      reply = { out: jq.raw(input, program, check ? ['-n'] : ['-c']) };
    } catch (err) {
      reply = { error: String((err && err.message) || err) };
    }
    port.postMessage(reply);
    Atomics.store(state, 0, 1);
    Atomics.notify(state, 0);
  });
  Atomics.store(state, 1, 1);
  Atomics.notify(state, 1);
}, (err) => {
  Atomics.store(state, 1, 2);
  Atomics.notify(state, 1);
});
`;

const START_TIMEOUT_MS = 15_000;
/** Bytes a call may give back; more is treated as a runaway (bounded work per message). */
const MAX_OUTPUT = 16 * 1024 * 1024;

export function createJqEngine(): JqEngine {
  const jqPath = createRequire(import.meta.url).resolve('jq-web');
  let live: { worker: Worker; port: MessagePort; state: Int32Array } | null = null;

  function start() {
    const flags = new SharedArrayBuffer(8);
    const state = new Int32Array(flags);
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { flags, port: port2, jqPath },
      transferList: [port2],
      // A memory-hungry expression ends the worker, not the emulator.
      resourceLimits: { maxOldGenerationSizeMb: 256 },
    });
    worker.unref();
    // An exit (terminated, out of memory) is seen by the next call through its time-out.
    worker.on('error', () => {});
    if (Atomics.wait(state, 1, 0, START_TIMEOUT_MS) === 'timed-out' || Atomics.load(state, 1) !== 1) {
      void worker.terminate();
      throw new Error('the jq engine (jq-web) did not start');
    }
    return { worker, port: port1, state };
  }

  function call(message: { program: string; input: string; check: boolean }, timeLimitMs: number) {
    live ??= start();
    const { port, state, worker } = live;
    Atomics.store(state, 0, 0);
    port.postMessage(message);
    if (Atomics.wait(state, 0, 0, timeLimitMs) === 'timed-out') {
      live = null;
      void worker.terminate();
      return null;
    }
    return receiveMessageOnPort(port)?.message as { out?: string; error?: string } | undefined;
  }

  return {
    check(program) {
      // limit(0; …) compiles and binds the whole program (an unused def would not be) but runs none of it.
      const reply = call({ program: `limit(0; ${program})`, input: 'null', check: true }, START_TIMEOUT_MS);
      if (!reply) return 'jq did not answer';
      return reply.error === undefined ? null : cleanError(reply.error);
    },
    run(program, input, timeLimitMs) {
      const reply = call({ program, input, check: false }, timeLimitMs);
      if (!reply) return { timedOut: true };
      if (reply.error !== undefined) return { error: cleanError(reply.error) };
      const out = reply.out ?? '';
      if (out.length > MAX_OUTPUT) return { error: `jq output larger than ${MAX_OUTPUT} bytes` };
      return { lines: out.split('\n').filter((l) => l.length > 0) };
    },
    close() {
      if (live) void live.worker.terminate();
      live = null;
    },
  };
}

/** jq-web reports "Non-zero exit code: 3\njq: error: …"; keep jq's own words. */
function cleanError(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('Non-zero exit code'));
  return lines.join(' ').replace(/\s+/g, ' ').replace(/jq: \d+ compile errors?/, '').trim() || text;
}
