/**
 * `npx tsx bench/store-commits.ts [--batch=1] [--commands=6000] [--checkpointer] [--rounds=3]`
 *
 * The store's share of a two-way command, without HTTP or MQTT: its three writes (the
 * INSERT as SENT with two events and a delivery; the PUBACK; the COMPLETED response), each
 * committed in batches of `--batch` commands, on a WAL database file that already holds
 * 20,000 finished commands, one event-loop turn between commits. Prints the CPU per command
 * (user + system), what it wrote, and how long commits blocked the thread: SQLite's own
 * checkpoint runs inside the commit that crosses 1,000 WAL pages, fsyncs included, and
 * `--checkpointer` moves it to the worker of src/store/checkpointer.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createCheckpointer } from '../src/store/checkpointer.js';
import { commandStore, type NewCommand } from '../src/store/commands.js';
import { openDatabase } from '../src/store/database.js';

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '1' },
    commands: { type: 'string', default: '6000' },
    checkpointer: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
  },
});
const batch = Number(values.batch);
const commands = Number(values.commands);
const HISTORY = 20_000;

function io(): Record<string, number> {
  return Object.fromEntries(
    readFileSync('/proc/self/io', 'utf8').trim().split('\n').map((l) => {
      const [k, v] = l.split(': ');
      return [k, Number(v)];
    }),
  );
}

async function round(): Promise<{ cpuUs: number; writes: number; kib: number; p99: number; max: number; over5: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'store-commits-'));
  const db = openDatabase(dir);
  const checkpointer = values.checkpointer ? createCheckpointer(db, { startAfterCommits: 1 }) : null;
  checkpointer?.noteCommit();
  const store = commandStore(db);
  const instances = Array.from({ length: 100 }, (_, i) => `ocid1.digitaltwininstance.oc1..bench${i}`);
  const ids: number[] = [];
  const savepoint = db.transaction((f: () => void) => f());
  const commitMs: number[] = [];
  const commit = (work: Array<() => void>) => {
    const t = performance.now();
    db.transaction(() => work.forEach((w) => savepoint(w)))();
    commitMs.push(performance.now() - t);
  };
  const start = Date.now();
  const time = new Date(start).toISOString();
  const row = (i: number): NewCommand => ({
    digital_twin_instance_id: instances[i % 100], request_endpoint: 'iot/v1/cmd', request_duration: 'PT10M',
    request_data_format: 'JSON', request_data: '{"a":1}', request_content_type: 'application/json',
    response_endpoint: 'iot/v1/rsp', response_duration: 'PT10M', response_data_format: null, response_data: null,
    response_content_type: null, delivery_status: 'SENT', created_by: 'bench', time_created: time, time_updated: time,
    time_finished: null, iot_domain_id: 'bench', created_at_ms: start + i, request_deadline_ms: start + 600_000,
    response_window_ms: 600_000, next_deadline_ms: start + 600_000, time_sent: time, time_acknowledged: null, qos: 1,
    client_id: 'c', message_id: (i % 60_000) + 1, delivery_count: 1, retry_token: null, retry_fingerprint: null,
    gateway_instance_id: null,
  });
  const connection = (i: number) => ({ sessionInstanceId: instances[i % 100], clientId: 'c' });
  const steps = [
    (i: number) => {
      ids[i] = store.create(row(i), { time, cause: 'accepted' }, {
        note: { time, cause: 'sent' },
        deliveries: [{ ...connection(i), qos: 1, messageId: (i % 60_000) + 1, time }],
      }).id;
    },
    (i: number) =>
      store.change(ids[i], 'SENT', { time_acknowledged: time }, { time, cause: 'PUBACK received' }, { acknowledged: { ...connection(i), time } }),
    (i: number) =>
      store.change(ids[i], 'SENT', { delivery_status: 'COMPLETED', response_data: '{"ok":true}', time_finished: time, next_deadline_ms: null }, { time, cause: 'response' }),
  ];
  for (let i = 0; i < HISTORY; i += 100) commit(Array.from({ length: 100 }, (_, k) => () => steps.forEach((s) => s(i + k))));
  commitMs.length = 0;

  const io0 = io();
  const cpu0 = process.cpuUsage();
  for (let i = HISTORY; i < HISTORY + commands; i += batch) {
    for (const step of steps) {
      commit(Array.from({ length: batch }, (_, k) => () => step(i + k)));
      // A turn of the event loop between commits, as in the emulator (the worker's reports arrive).
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  const cpu = process.cpuUsage(cpu0);
  const io1 = io();
  await checkpointer?.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
  commitMs.sort((a, b) => a - b);
  return {
    cpuUs: (cpu.user + cpu.system) / commands,
    writes: (io1.syscw - io0.syscw) / commands,
    kib: (io1.wchar - io0.wchar) / commands / 1024,
    p99: commitMs[Math.floor(0.99 * (commitMs.length - 1))],
    max: commitMs[commitMs.length - 1],
    over5: commitMs.filter((ms) => ms > 5).length,
  };
}

const label = `batch ${batch}, ${values.checkpointer ? 'checkpointer worker' : "SQLite's own checkpoint"}`;
console.log(`| build | round | CPU per command | write calls / KiB per command | commit p99 / max | commits over 5 ms (of ${(commands / batch) * 3}) |`);
console.log('| --- | --- | --- | --- | --- | --- |');
for (let r = 1; r <= Number(values.rounds); r++) {
  const x = await round();
  console.log(`| ${label} | ${r} | ${x.cpuUs.toFixed(0)} µs | ${x.writes.toFixed(1)} / ${x.kib.toFixed(1)} | ${x.p99.toFixed(2)} / ${x.max.toFixed(1)} ms | ${x.over5} |`);
}
