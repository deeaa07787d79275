/**
 * `npx tsx bench/engine-commands.ts <checkout> [--concurrency=64] [--commands=20000]`
 *
 * The store and the command engine's share of a two-way command, in process, without HTTP,
 * MQTT or TLS: the engine with its write batch on a WAL file, devices that PUBACK each
 * command and answer it in the next turn (both as the broker hands them in: writes of the
 * batch, through the inbound pipeline), `--concurrency` commands in flight over 100 devices.
 * Prints the CPU per command. `<checkout>` is a tree whose `src/` is imported (another
 * worktree, for a before/after: run both a few times, alternating, on a quiet core with
 * `taskset -c 1`); end-to-end A/Bs on a shared VM move more than most single levers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { concurrency: { type: 'string', default: '64' }, commands: { type: 'string', default: '20000' } },
});
const root = resolve(positionals[0] ?? '.');
const concurrency = Number(values.concurrency);
const total = Number(values.commands);
const DEVICES = 100;

const load = (path: string) => import(join(root, 'src', path));
const { openDatabase } = await load('store/database.ts');
const { createStore } = await load('store/index.ts');
const { createWriteBatch } = await load('store/write-batch.ts');
const { createCommandEngine } = await load('commands/engine.ts');
const { createInbound } = await load('broker/inbound.ts');
const { parseCommandRequest } = await load('commands/request.ts');
const { systemClock } = await load('clock/clock.ts');

const dir = mkdtempSync(join(tmpdir(), 'engine-commands-'));
const db = openDatabase(dir);
const store = createStore(db);
// Options a build does not know are ignored by it (older builds had no live commands).
const batch = createWriteBatch(db, { onRollback: () => store.commands.forgetLive?.(), paceWhen: () => true });
const clock = systemClock();
const deviceId = (i: number) => `ocid1.iotdigitaltwininstance.oc1.iad.bench${String(i % DEVICES).padStart(4, '0')}`;

let completed = 0;
let started = 0;
let finished: () => void = () => {};

const devices = {
  async route() {
    return { online: true, qos: 1 };
  },
  targets(instanceId: string) {
    return [{ sessionInstanceId: instanceId, clientId: `c-${instanceId.slice(-4)}`, qos: 1 }];
  },
  send(to: { sessionInstanceId: string; clientId: string }, message: { messageId?: number }, written: (ok: boolean) => void) {
    batch.afterCommit(() => {
      written(true);
      setImmediate(() => answer(to.sessionInstanceId, to.clientId, message.messageId!));
    });
    return true;
  },
};
const engine = createCommandEngine({ db, clock, devices, batch, commands: store.commands });
const inbound = createInbound();
inbound.attach({
  clock,
  classify: store.commands.classifyPublish,
  engine: engine.signals,
  telemetry: {
    ingest() {
      throw new Error('a response was taken for telemetry');
    },
  },
});
const request = parseCommandRequest(
  { requestDataFormat: 'JSON', requestEndpoint: 'cmd', requestData: { a: 1 }, responseEndpoint: 'rsp' },
  { requestDuration: 'PT10M', responseDuration: 'PT10M' },
);

function answer(instanceId: string, clientId: string, messageId: number): void {
  const fail = (err: Error | null) => {
    if (err) throw err;
  };
  batch.add(() => inbound.puback(instanceId, clientId, messageId), fail);
  batch.add(() => inbound.published(instanceId, 'rsp', Buffer.from('{"ok":true}')), (err: Error | null) => {
    fail(err);
    completed++;
    next();
  });
}

function next(): void {
  if (started >= total) {
    if (completed >= total) finished();
    return;
  }
  const i = started++;
  void engine.invoke({ instanceId: deviceId(i), domainId: 'bench', request, createdBy: 'bench' });
}

const cpu = process.cpuUsage();
await new Promise<void>((resolve) => {
  finished = resolve;
  for (let k = 0; k < concurrency; k++) next();
});
const used = process.cpuUsage(cpu);
const done = (db.prepare("SELECT count(*) AS n FROM commands WHERE delivery_status = 'COMPLETED'").get() as { n: number }).n;
console.log(`${root}: c=${concurrency}, ${done} of ${total} COMPLETED, CPU ${((used.user + used.system) / total).toFixed(1)} µs per command`);
engine.stop();
db.close();
rmSync(dir, { recursive: true, force: true });
// The checkpointer's worker and the engine's deadline timer would keep the process alive.
process.exit(0);
