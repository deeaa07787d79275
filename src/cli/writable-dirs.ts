import { accessSync, constants, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { CliError } from './args.js';

export interface WritableDir {
  dir: string;
  /** What the directory is for, as the message names it. */
  role: string;
  flag: string;
  env: string;
}

/**
 * The directories `start` writes (the database, the CA), checked before anything starts: a
 * volume or bind mount the process cannot write is one line that names the fix, not an
 * EACCES stack trace from deep inside SQLite or the CA.
 */
export function ensureWritable(dirs: readonly WritableDir[]): void {
  for (const { dir, role, flag, env } of dirs) {
    if (dir === ':memory:') continue;
    try {
      mkdirSync(dir, { recursive: true });
      accessSync(dir, constants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      const uid = process.getuid?.();
      const who = uid === undefined ? 'this user' : `uid ${uid}`;
      throw new CliError(
        `the ${role} directory ${resolve(dir)} is not writable by ${who} (${code}): make it writable for ${who} ` +
          `(a Docker bind mount: chown ${uid ?? '<uid>'} on the host directory, or use a named volume), or choose another with ${flag} / ${env}`,
      );
    }
  }
}
