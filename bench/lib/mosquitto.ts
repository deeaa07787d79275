import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from './context.js';
import { spawnWrapped, stopChild, type Spawned } from './proc.js';

const CANDIDATES = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto', '/usr/local/bin/mosquitto'];

function findMosquitto(): string | null {
  for (const path of CANDIDATES) if (existsSync(path)) return path;
  const which = spawnSync('sh', ['-c', 'command -v mosquitto'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() ? which.stdout.trim() : null;
}

/**
 * The Mosquitto binary, installed from Debian's package when missing (apt-get update, then
 * install; as root, or through passwordless sudo). Null when that is not possible: the
 * scenarios then report the Mosquitto columns as n/a.
 */
export function ensureMosquitto(ctx: BenchContext): string | null {
  const found = findMosquitto();
  if (found) return found;
  if (spawnSync('sh', ['-c', 'command -v apt-get']).status !== 0) {
    ctx.log('mosquitto is not installed and apt-get is not available; Mosquitto comparisons are skipped');
    return null;
  }
  const asRoot = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
  const run = (args: string[]) => {
    const [cmd, ...argv] = [...asRoot, ...args];
    ctx.log(`running: ${[cmd, ...argv].join(' ')}`);
    const r = spawnSync(cmd, argv, {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    return r.status === 0;
  };
  if (!run(['apt-get', 'update']) || !run(['apt-get', 'install', '-y', '--no-install-recommends', 'mosquitto'])) {
    ctx.log('could not install mosquitto; Mosquitto comparisons are skipped');
    return null;
  }
  return findMosquitto();
}

export interface MosquittoUser {
  username: string;
  password: string;
}

export interface MosquittoProcess {
  proc: Spawned;
  pid: number;
  port: number;
  stop(): Promise<void>;
}

/**
 * Writes a config with one TLS listener on loopback (the emulator's certificate, TLS 1.2+,
 * a password file, persistence off, a queue limit far above the load so nothing is silently
 * dropped) into a fresh directory. Mosquitto drops root privileges to its own user, so the
 * directory and files are made world-readable; they hold throw-away benchmark secrets only.
 */
export function writeMosquittoConfig(ctx: BenchContext, binary: string, certsDir: string, port: number, users: readonly MosquittoUser[]): string {
  const dir = ctx.tempDir('mosquitto');
  chmodSync(dir, 0o755);
  for (const file of ['ca.pem', 'server.pem', 'server-key.pem']) {
    copyFileSync(join(certsDir, file), join(dir, file));
    chmodSync(join(dir, file), 0o644);
  }
  const passwordFile = join(dir, 'passwords');
  writeFileSync(passwordFile, users.map((u) => `${u.username}:${u.password}\n`).join(''), { mode: 0o644 });
  // mosquitto_passwd -U hashes a plain-text file in place, in one go.
  const passwd = join(binary.replace(/mosquitto$/, ''), 'mosquitto_passwd');
  const hashed = spawnSync(existsSync(passwd) ? passwd : 'mosquitto_passwd', ['-U', passwordFile], { encoding: 'utf8' });
  if (hashed.status !== 0) throw new Error(`mosquitto_passwd -U failed: ${hashed.stderr}`);
  chmodSync(passwordFile, 0o644);
  const config = join(dir, 'mosquitto.conf');
  writeFileSync(
    config,
    [
      'persistence false',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      'max_queued_messages 10000000',
      // The default window of 20 unacknowledged QoS 1 messages per client would make one
      // subscriber, not the broker, the limit of the pub→sub ceiling.
      'max_inflight_messages 1000',
      'allow_anonymous false',
      `password_file ${passwordFile}`,
      `listener ${port} 127.0.0.1`,
      `cafile ${join(dir, 'ca.pem')}`,
      `certfile ${join(dir, 'server.pem')}`,
      `keyfile ${join(dir, 'server-key.pem')}`,
      'tls_version tlsv1.2',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  return config;
}

/** Starts Mosquitto on the server core with a config from writeMosquittoConfig. */
export function spawnMosquitto(ctx: BenchContext, binary: string, config: string, port: number): MosquittoProcess {
  const proc = spawnWrapped(ctx.placement, 'server', binary, ['-c', config]);
  proc.child.stdout?.resume();
  return { proc, pid: proc.pid, port, stop: () => stopChild(proc.child) };
}
