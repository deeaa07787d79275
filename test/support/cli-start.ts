/**
 * `oci-iot-emulator start` (the built CLI) run to its end, for the tests of what it refuses
 * at start, and the shape every such refusal has; or run until it serves.
 */
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { expect } from 'vitest';

const root = resolve(dirname(new URL(import.meta.url).pathname), '../..');
export const cli = join(root, 'dist', 'cli.js');

export type StartRun = { status: number | null; stdout: string; stderr: string };

/** Starts on any free ports and waits for the process to end (a refusal ends it). */
export function startToEnd(dataDir: string, certsDir: string, extra: string[] = [], options: SpawnSyncOptions = {}): StartRun {
  const res = spawnSync(
    process.execPath,
    [cli, 'start', '--rest-port', '0', '--mqtt-port', '0', '--https-port', '0', '--data-dir', dataDir, '--certs-dir', certsDir, '--log-level', 'warn', ...extra],
    { timeout: 60_000, ...options, encoding: 'utf8' },
  );
  return { status: res.status, stdout: String(res.stdout), stderr: String(res.stderr) };
}

export const hash = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** What every refusal has in common: exit 1, nothing served, one line naming `names`. */
export function expectOneLine(res: StartRun, names: string, says: RegExp): void {
  expect(res.stdout, 'nothing served').not.toContain('is ready');
  expect(res.status, res.stderr).toBe(1);
  const lines = res.stderr.trimEnd().split('\n');
  expect(lines, res.stderr).toHaveLength(1);
  expect(lines[0]).not.toMatch(/^\s+at /m);
  expect(lines[0].startsWith(`oci-iot-emulator: `)).toBe(true);
  expect(lines[0]).toContain(names);
  expect(lines[0]).toMatch(says);
}

export interface Serving {
  /** What it printed at start (the URLs). */
  out: string;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Runs `argv` (the built CLI, or a shell that execs it) until it prints that it serves; rejects if it exits first. */
export async function startServing(command: string, argv: string[]): Promise<Serving> {
  const child = spawn(command, argv);
  let out = '';
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exit = new Promise<number | null>((res) => child.on('exit', res));
  await new Promise<void>((res, rej) => {
    child.stdout.on('data', (b: Buffer) => ((out += b.toString()), out.includes('clock') && res()));
    void exit.then((code) => rej(new Error(`exited ${code}: ${err}`)));
  });
  return {
    out,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exit;
    },
  };
}

/** `start` on any free ports until it serves. */
export const startCli = (dataDir: string, certsDir: string, extra: string[] = []) =>
  startServing(process.execPath, [cli, 'start', '--rest-port', '0', '--mqtt-port', '0', '--https-port', '0', '--data-dir', dataDir, '--certs-dir', certsDir, '--log-level', 'warn', ...extra]);
