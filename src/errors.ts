import { mkdirSync, statSync } from 'node:fs';

/**
 * An error a caller caused, with the HTTP status and OCI service code it maps to.
 * Domain code throws these; the REST layer turns them into OCI's error body.
 */
export class OciError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const invalid = (message: string) => new OciError(400, 'InvalidParameter', message);
export const missing = (message: string) => new OciError(400, 'MissingParameter', message);
export const notFound = (what: string, id: string) =>
  new OciError(404, 'NotAuthorizedOrNotFound', `${what} ${id} not found or not authorized`);
export const conflict = (message: string, code = 'Conflict') => new OciError(409, code, message);
export const relatedNotFound = (what: string, id: string) =>
  new OciError(400, 'RelatedResourceNotAuthorizedOrNotFound', `${what} ${id} not found or not authorized`);
/** 409 IncorrectState: the resource exists but is not in a state that allows the operation. */
export const incorrectState = (message: string) => new OciError(409, 'IncorrectState', message);

/**
 * A start that cannot go on for a reason the user can fix (a data directory in use, a
 * damaged or unwritable file): its message is the whole answer, one line, no stack.
 */
export class StartError extends Error {}

/**
 * Makes the directory an option names (`what` at `dir`, e.g. "data directory", --data-dir) if
 * it is missing; a start refusal (`refuse`) if it cannot be made or is not a directory.
 */
export function ensureDirectory(dir: string, what: string, flag: string, refuse: (message: string) => StartError): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw refuse(`cannot create the ${what} ${dir} (${errnoReason(err)}): create it, or give another ${flag}`);
  }
  if (!statSync(dir).isDirectory()) throw refuse(`the ${what} ${dir} is not a directory: give a directory as ${flag}`);
}

/** A file system error as a start refusal says it: `EROFS: read-only file system`, without the path it names itself. */
export function errnoReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}: ${e.message.replace(/^\w+: /, '').replace(/, \w+ '.*'$/, '')}` : String(err);
}

/**
 * A directory the process may not write for want of permission (not a read-only mount), as a
 * start refusal says it: who the process runs as, and the fix for a Docker bind mount, whose
 * host directory the image's user (uid 1000) often does not own. Undefined for other errors.
 */
export function permissionDenied(err: unknown): { who: string; fix: string } | undefined {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== 'EACCES' && code !== 'EPERM') return undefined;
  const uid = process.getuid?.();
  const who = uid === undefined ? 'this user' : `uid ${uid}`;
  return { who, fix: `make it writable for ${who} (a Docker bind mount: chown ${uid ?? '<uid>'} on the host directory, or use a named volume)` };
}
