/**
 * Damaged files at start, as users meet them: `oci-iot-emulator start` (the built CLI) on a
 * read-only data directory, an unwritable database file, a directory that cannot be created,
 * a garbage header and a garbage page in the middle. Each answer is one line naming the file
 * and what to do, exit code 1, no stack trace, and the file as it was.
 *
 * As root (CI), mode bits stop nothing, so read-only is made the way it happens to root: a
 * tmpfs remounted read-only, and a file bind-mounted read-only over itself. As another user,
 * chmod does it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, cpSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.js';
import { expectOneLine, hash, startCli, startToEnd } from '../support/cli-start.js';

const asRoot = process.getuid?.() === 0;
const work = mkdtempSync(join(tmpdir(), 'oci-iot-damaged-'));
const mounts: string[] = [];
const certsDir = join(work, 'certs');

/** A database of the emulator with some telemetry in it (about 1.5 MB, a few hundred pages), all in the main file. */
const template = join(work, 'template');
beforeAll(() => {
  const db = openDatabase(template);
  const insert = db.prepare("INSERT INTO raw_data (digital_twin_instance_id, endpoint, content_type, content, time_received) VALUES ('i', 'telemetry', 'application/json', ?, '2026-01-01T00:00:00Z')");
  db.transaction(() => {
    for (let i = 0; i < 3000; i++) insert.run(`{"n":${i},"pad":"${'x'.repeat(400)}"}`);
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
});

afterAll(() => {
  for (const m of mounts.reverse()) spawnSync('umount', [m]);
  rmSync(work, { recursive: true, force: true });
});

/** A copy of the template database in a directory of its own. */
function dataDirWithDatabase(name: string, parent = work): string {
  const dir = join(parent, name);
  mkdirSync(dir, { recursive: true });
  cpSync(join(template, 'emulator.db'), join(dir, 'emulator.db'));
  return dir;
}

const start = (dataDir: string, ...extra: string[]) => startToEnd(dataDir, certsDir, extra);

describe('a damaged or unusable data directory at start', () => {
  it('a read-only data directory: names the directory and says to make it writable', () => {
    let dir: string;
    if (asRoot) {
      dir = join(work, 'ro-mount');
      mkdirSync(dir);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dir]);
      mounts.push(dir);
      cpSync(join(template, 'emulator.db'), join(dir, 'emulator.db'));
      execFileSync('mount', ['-o', 'remount,ro', dir]);
    } else {
      dir = dataDirWithDatabase('ro-chmod');
      chmodSync(dir, 0o555);
    }
    const before = hash(join(dir, 'emulator.db'));
    const res = start(dir);
    expectOneLine(res, `the data directory ${dir} is not writable`, asRoot ? /EROFS.*remount it read-write/ : /EACCES/);
    expect(hash(join(dir, 'emulator.db'))).toBe(before);
    if (!asRoot) chmodSync(dir, 0o755);
  });

  it('an unwritable database file: names the file and says how to give access', () => {
    const dir = dataDirWithDatabase('ro-file');
    const file = join(dir, 'emulator.db');
    if (asRoot) {
      execFileSync('mount', ['--bind', file, file]);
      mounts.push(file);
      execFileSync('mount', ['-o', 'remount,bind,ro', file]);
    } else {
      chmodSync(file, 0o444);
    }
    const before = hash(file);
    const res = start(dir);
    expectOneLine(res, `${file} cannot be read and written`, /(EROFS|EACCES).*chmod u\+rw, chown, or chattr -i/);
    expect(hash(file)).toBe(before);
  });

  it('a data directory that cannot be created: names it', () => {
    const blocker = join(work, 'a-file');
    writeFileSync(blocker, 'not a directory');
    const dir = join(blocker, 'data');
    const res = start(dir);
    expectOneLine(res, `cannot create the data directory ${dir}`, /ENOTDIR.*create it, or give another --data-dir/);
    expect(readFileSync(blocker, 'utf8')).toBe('not a directory');
  });

  it('a missing data directory that can be created is created, as before', async () => {
    const dir = join(work, 'new', 'nested', 'data');
    const serving = await startCli(dir, certsDir);
    expect(await serving.stop()).toBe(0);
    expect(readFileSync(join(dir, 'emulator.db')).subarray(0, 15).toString()).toBe('SQLite format 3');
  });

  it('a garbage header: names the file as not an SQLite database, and leaves it as it was', () => {
    const dir = dataDirWithDatabase('bad-header');
    const file = join(dir, 'emulator.db');
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(100, 0x5a), 0, 100, 0);
    closeSync(fd);
    const before = hash(file);
    const res = start(dir);
    expectOneLine(res, `${file} is not an SQLite database (its header is damaged)`, /restore it from a backup, or move it away/);
    expect(hash(file)).toBe(before);
  });

  it('a garbage page in the middle: the quick check at start finds it, names the page, and leaves the file as it was; --check-database runs the full check', () => {
    const dir = dataDirWithDatabase('bad-page');
    const file = join(dir, 'emulator.db');
    const fd = openSync(file, 'r+');
    // Page 78 (1-based) of 4 KiB pages: inside raw_data, as in the probe.
    writeSync(fd, Buffer.alloc(4096, 0xa5), 0, 4096, 77 * 4096);
    closeSync(fd);
    const before = hash(file);
    const quick = start(dir);
    expectOneLine(quick, `${file} is damaged: PRAGMA quick_check reports "`, /Page 78|page 78|btreeInitPage|Tree \d+ page/);
    expect(quick.stderr).toContain('.recover');
    expect(hash(file)).toBe(before);
    const full = start(dir, '--check-database');
    expectOneLine(full, `${file} is damaged: PRAGMA integrity_check reports "`, /Page 78|page 78|btreeInitPage|Tree \d+ page/);
    expect(hash(file)).toBe(before);
  });
});
