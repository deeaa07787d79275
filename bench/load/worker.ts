/**
 * The load process: started by the bench runner with an IPC channel, pinned to the load
 * core, it runs one operation at a time on request and replies with its result.
 */
import autocannon from 'autocannon';
import { Completions } from './completions.js';
import { Fleet } from './fleet.js';
import { closedLoop, openLoop } from './invoker.js';
import type { LoadCall, LoadOp, LoadOps, LoadReply } from './protocol.js';
import { Soak } from './soak.js';
import { telemetry } from './telemetry.js';

const completions = new Completions();
const fleet = new Fleet(completions);
let soak: Soak | null = null;

const handlers: { [K in LoadOp]: (args: LoadOps[K][0]) => Promise<LoadOps[K][1]> } = {
  connect: (args) => fleet.connect(args),
  closedLoop: (args) => closedLoop(fleet, completions, args),
  openLoop: (args) => openLoop(fleet, completions, args),
  telemetry: (args) => telemetry(fleet, args),
  disconnect: async () => ({ closed: await fleet.disconnect() }),
  async soakStart(args) {
    if (soak) throw new Error('a soak is already running');
    soak = new Soak(fleet, completions, args);
    return { started: true };
  },
  async soakSample() {
    if (!soak) throw new Error('no soak is running');
    return soak.sample();
  },
  async soakStop() {
    if (!soak) throw new Error('no soak is running');
    const totals = await soak.stop();
    soak = null;
    return totals;
  },
  async autocannon(args) {
    const r = await autocannon({
      url: args.url,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: args.body,
      connections: args.connections,
      pipelining: 1,
      duration: args.durationSec,
    });
    return {
      perSecond: r.requests.total / r.duration,
      total: r.requests.total,
      non2xx: r.non2xx,
      errors: r.errors,
      latencyP50: r.latency.p50,
      latencyP99: r.latency.p99,
    };
  },
};

function isCall(msg: unknown): msg is LoadCall {
  const m = msg as Partial<LoadCall> | null;
  return typeof m?.id === 'number' && typeof m.op === 'string' && m.op in handlers;
}

process.on('message', (msg: unknown) => {
  if (!isCall(msg)) return;
  const handler = handlers[msg.op] as (args: unknown) => Promise<unknown>;
  handler(msg.args).then(
    (result) => send({ id: msg.id, ok: true, result }),
    (err: unknown) => send({ id: msg.id, ok: false, error: (err as Error).stack ?? String(err) }),
  );
});

function send(reply: LoadReply): void {
  process.send?.(reply);
}

// The runner going away ends the load too, so no device is left connected.
process.on('disconnect', () => process.exit(0));
