import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';

/**
 * The jq engine, behind one small interface so it can be swapped: jq 1.7 itself, compiled
 * to WebAssembly (npm `jq-web`, which ships its .wasm: nothing is downloaded at install).
 *
 * It runs in worker threads, for two reasons: the adapter pipeline runs inside the
 * broker's SQLite transaction, which is synchronous, so the caller waits for a worker
 * synchronously (Atomics.wait); and a runaway expression (`def f: f; f`, `[range(1e10)]`)
 * must be cut off, which only works from outside the thread running it. The wait on the
 * calling thread is short (`start`'s `waitMs`): past it the expression goes on in its
 * worker while the event loop goes on, and it is cut off at its time limit by terminating
 * that worker. Workers are started ahead (a warm spare), never while a caller waits, so a
 * runaway costs its own messages their time limit and not other devices' latency.
 *
 * jq-web compiles the program on every call (about 1.5 ms, mostly jq's own builtins), so
 * callers run one program over many inputs at once: the pipeline sends a whole turn's
 * messages in one call (see pipeline.ts).
 */
export type JqResult = { lines: string[] } | { timedOut: true } | { error: string };

export interface JqEngine {
  /** null when `program` compiles; else jq's compile error. */
  check(program: string): string | null;
  /**
   * Runs `program` with jq -c over `input` (concatenated JSON texts), giving its output
   * lines, or `timedOut` when it ran past `timeLimitMs`, or jq's error. The caller waits up
   * to the whole time limit.
   */
  run(program: string, input: string, timeLimitMs: number): JqResult;
  /**
   * `run`, but the caller waits at most `waitMs`: the result when it came by then, else a
   * promise of it, settled in a later turn (still cut off `timeLimitMs` after the start).
   * When every worker is busy with such late work, it is queued at once.
   */
  start(program: string, input: string, limits: { waitMs: number; timeLimitMs: number }): { result: JqResult } | { later: Promise<JqResult> };
  close(): void;
}

// Inline so the same code runs from src/ under the test runner and from dist/ when installed.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { flags, port, jqPath } = workerData;
const state = new Int32Array(flags);
require(jqPath).then((jq) => {
  // The first call is slow (jq compiles its builtins, WebAssembly tiers up): a spare pays it before it is ready.
  try { jq.raw('{"a":[1]}', 'def f: .a[0] + 1; [f, (.a | tojson), ("x" | test("x"))]', ['-c']); } catch {}
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
/**
 * How long a compile check may take; the caller (an API request) waits for it. jq folds
 * constants while compiling, so `"a" * 1e8` alone took 7 s to compile.
 */
const CHECK_LIMIT_MS = 1_000;
/** Bytes a call may give back; more is treated as a runaway (bounded work per message). */
const MAX_OUTPUT = 16 * 1024 * 1024;
/** Idle workers kept started besides the one in use: a warm spare for when it runs away. */
const SPARES = 1;
/**
 * Workers at most running late work at once: each may spin a core and hold a runaway's
 * memory until its time limit, and one core stays with the event loop.
 */
const MAX_LATE = Math.max(1, Math.min(4, availableParallelism() - 1));

/** Atomics.waitAsync (Node 16 and later; TypeScript's lib has it from es2024 only). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(a: Int32Array, i: number, v: number, ms: number): { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
  }
).waitAsync;

interface Slot {
  worker: Worker;
  port: MessagePort;
  /** [0]: 1 once a reply is posted; [1]: 0 starting, 1 ready, 2 failed to start. */
  state: Int32Array;
}
type Message = { program: string; input: string; check: boolean };
type Reply = { out?: string; error?: string } | undefined;

export function createJqEngine(): JqEngine {
  const jqPath = createRequire(import.meta.url).resolve('jq-web');
  /** Started workers that nobody uses, ready or still starting; the first ready one is taken. */
  const idle: Slot[] = [];
  /** Workers running late work. */
  const late = new Set<Slot>();
  /** Late work waiting for a worker. */
  const waiting: Array<{ message: Message; timeLimitMs: number; resolve: (r: Reply | null) => void }> = [];
  let closed = false;
  let failures = 0;

  function spawn(): Slot {
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
    // An exit (terminated, out of memory) is seen by its caller through its time-out.
    worker.on('error', () => {});
    const slot = { worker, port: port1, state };
    idle.push(slot);
    // Late work waiting for a worker takes this one once it is ready.
    const ready = waitAsync(state, 1, 0, START_TIMEOUT_MS);
    void (ready.async ? ready.value : Promise.resolve(ready.value)).then(() => {
      if (Atomics.load(state, 1) !== 1) {
        failures++;
        drop(slot);
      }
      pump();
    });
    return slot;
  }

  /** Keeps SPARES workers started; stops after repeated failures to start (the next caller is told). */
  function replenish(): void {
    while (!closed && failures < 3 && idle.length < SPARES) spawn();
  }

  function drop(slot: Slot): void {
    const i = idle.indexOf(slot);
    if (i >= 0) idle.splice(i, 1);
    late.delete(slot);
    void slot.worker.terminate();
  }

  function takeReady(): Slot | null {
    const i = idle.findIndex((s) => Atomics.load(s.state, 1) === 1);
    if (i < 0) return null;
    const [slot] = idle.splice(i, 1);
    replenish();
    return slot;
  }

  /** A worker for a caller that waits: a ready one, else the first still starting (only the very first call waits for one). */
  function takeForWaiting(): Slot {
    const ready = takeReady();
    if (ready) return ready;
    failures = 0;
    if (idle.length === 0) spawn();
    const slot = idle.shift()!;
    replenish();
    if (Atomics.wait(slot.state, 1, 0, START_TIMEOUT_MS) === 'timed-out' || Atomics.load(slot.state, 1) !== 1) {
      drop(slot);
      throw new Error('the jq engine (jq-web) did not start');
    }
    return slot;
  }

  function release(slot: Slot): void {
    late.delete(slot);
    if (closed) void slot.worker.terminate();
    else idle.unshift(slot);
    pump();
  }

  function send(slot: Slot, message: Message): void {
    Atomics.store(slot.state, 0, 0);
    slot.port.postMessage(message);
  }

  function reply(slot: Slot): Reply {
    const r = receiveMessageOnPort(slot.port)?.message as Reply;
    release(slot);
    return r;
  }

  /** Waits for `slot`'s reply without blocking: null once `ms` pass (the worker is terminated). */
  async function finishLate(slot: Slot, ms: number): Promise<Reply | null> {
    late.add(slot);
    const wait = waitAsync(slot.state, 0, 0, Math.max(0, ms));
    const outcome = wait.async ? await wait.value : wait.value;
    if (outcome === 'timed-out' || closed) {
      drop(slot);
      replenish();
      pump();
      return null;
    }
    return reply(slot);
  }

  function pump(): void {
    while (waiting.length > 0 && late.size < MAX_LATE && !closed) {
      const slot = takeReady();
      if (!slot) return;
      const job = waiting.shift()!;
      send(slot, job.message);
      void finishLate(slot, job.timeLimitMs).then(job.resolve);
    }
  }

  /** Runs `message` while the caller waits up to `timeLimitMs`; null on time-out. */
  function call(message: Message, timeLimitMs: number): Reply | null {
    const slot = takeForWaiting();
    send(slot, message);
    if (Atomics.wait(slot.state, 0, 0, timeLimitMs) === 'timed-out') {
      drop(slot);
      replenish();
      return null;
    }
    return reply(slot);
  }

  function result(r: Reply | null): JqResult {
    if (!r) return { timedOut: true };
    if (r.error !== undefined) return { error: cleanError(r.error) };
    const out = r.out ?? '';
    if (out.length > MAX_OUTPUT) return { error: `jq output larger than ${MAX_OUTPUT} bytes` };
    return { lines: out.split('\n').filter((l) => l.length > 0) };
  }

  return {
    check(program) {
      // limit(0; …) compiles and binds the whole program (an unused def would not be) but runs none of it.
      const r = call({ program: `limit(0; ${program})`, input: 'null', check: true }, CHECK_LIMIT_MS);
      if (!r) return `compiling it took longer than ${CHECK_LIMIT_MS} ms (jq computes constant expressions such as "a" * 1e8 while compiling)`;
      return r.error === undefined ? null : cleanError(r.error);
    },
    run(program, input, timeLimitMs) {
      return result(call({ program, input, check: false }, timeLimitMs));
    },
    start(program, input, { waitMs, timeLimitMs }) {
      const message = { program, input, check: false };
      if (closed) return { result: { error: 'the jq engine is closed' } };
      const slot = late.size < MAX_LATE ? takeReady() : null;
      if (!slot) {
        // jq-web failed to start again and again: every caller is told, nothing queues for ever.
        if (failures >= 3 && idle.length === 0) return { result: { error: 'the jq engine (jq-web) did not start' } };
        // Every worker is busy or starting: the event loop does not wait for one.
        replenish();
        const later = new Promise<Reply | null>((resolve) => waiting.push({ message, timeLimitMs, resolve }));
        pump();
        return { later: later.then(result) };
      }
      const began = performance.now();
      send(slot, message);
      if (Atomics.wait(slot.state, 0, 0, Math.min(waitMs, timeLimitMs)) !== 'timed-out') return { result: result(reply(slot)) };
      return { later: finishLate(slot, timeLimitMs - (performance.now() - began)).then(result) };
    },
    close() {
      closed = true;
      for (const slot of [...idle, ...late]) void slot.worker.terminate();
      idle.length = 0;
      late.clear();
      for (const job of waiting.splice(0)) job.resolve({ error: 'the jq engine is closed' });
    },
  };
}

/** jq-web reports "Non-zero exit code: 3\njq: error: …"; keep jq's own words. */
function cleanError(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('Non-zero exit code'));
  return lines.join(' ').replace(/\s+/g, ' ').replace(/jq: \d+ compile errors?/, '').trim() || text;
}
