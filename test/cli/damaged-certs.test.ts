/**
 * A certs directory the emulator cannot use, at start, as users meet it: `oci-iot-emulator
 * start` (the built CLI) on a read-only directory with no CA yet, an unreadable CA key, a
 * garbage CA certificate or key, a CA without its key, and a read-only directory whose server
 * certificate must be issued again. Each answer is one line naming the file or directory and
 * what to do, exit code 1, no stack trace, the certs as they were and the data directory not
 * even created. A read-only directory holding a complete set of certs (a mounted secret) starts.
 *
 * As root (CI), mode bits stop nothing: read-only is a tmpfs remounted read-only, and an
 * unreadable file is one the emulator, run as nobody, has no permission for.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config.js';
import { deviceHostWildcard, ociServiceNames } from '../../src/control/hosts.js';
import { ensureCertificates } from '../../src/pki/certificates.js';
import { cli, expectOneLine, hash, startCli, startToEnd } from '../support/cli-start.js';

const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;
const work = mkdtempSync(join(tmpdir(), 'oci-iot-badcerts-'));
const mounts: string[] = [];
/** Directories made read-only by chmod (not as root), made writable again before they are removed. */
const chmodded: string[] = [];
/** A complete, valid set for the default host names, copied into each case. */
const template = join(work, 'template');
const FILES = ['ca.pem', 'ca-key.pem', 'server.pem', 'server-key.pem'];

beforeAll(async () => {
  await ensureCertificates(template, [DEFAULTS.deviceHost, deviceHostWildcard(DEFAULTS.domainHostSuffix), ...ociServiceNames(DEFAULTS.region, DEFAULTS.domainHostSuffix)]);
});
afterAll(() => {
  for (const m of mounts.reverse()) spawnSync('umount', [m]);
  for (const d of chmodded) chmodSync(d, 0o755);
  rmSync(work, { recursive: true, force: true });
});

/** A certs directory of its own, with the template's files (all, or those named). */
function certsDirWith(name: string, files = FILES): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  for (const f of files) cpSync(join(template, f), join(dir, f));
  return dir;
}

/** The directory made read-only: a read-only tmpfs as root (with `files` of the template in it), chmod otherwise. */
function readOnlyCertsDir(name: string, files: string[]): string {
  if (!asRoot) {
    const dir = certsDirWith(name, files);
    chmodSync(dir, 0o555);
    chmodded.push(dir);
    return dir;
  }
  const dir = join(work, name);
  mkdirSync(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
  mounts.push(dir);
  for (const f of files) cpSync(join(template, f), join(dir, f));
  execFileSync('mount', ['-o', 'remount,ro', dir]);
  return dir;
}

/** Every file of the directory and its hash, to show nothing changed. */
const contents = (dir: string) => Object.fromEntries(readdirSync(dir).map((f) => [f, hash(join(dir, f))]));

const dataDir = (name: string) => join(work, `${name}-data`);

/** A refusal that touched nothing: the certs as they were, and no data directory made. */
function expectRefused(name: string, certs: string, names: string, says: RegExp, options = {}): void {
  const before = contents(certs);
  const res = startToEnd(dataDir(name), certs, [], options);
  expectOneLine(res, names, says);
  expect(contents(certs)).toEqual(before);
  expect(existsSync(dataDir(name)), 'the data directory is not even created').toBe(false);
}

describe('a certs directory the emulator cannot use at start', () => {
  it('not writable, with no CA yet: names the directory and says to make it writable or fill it', () => {
    const dir = readOnlyCertsDir('ro-empty', []);
    expectRefused('ro-empty', dir, `the certs directory ${dir} is not writable`, asRoot ? /EROFS.*has no CA yet: make it writable.*remount it read-write.*put ca\.pem, ca-key\.pem/ : /EACCES.*has no CA yet/);
  });

  it('a CA key the emulator may not read: names the file and says how to give access', () => {
    const dir = certsDirWith('unreadable-key');
    const key = join(dir, 'ca-key.pem');
    const before = contents(dir);
    chmodSync(key, 0o000);
    // As root, the emulator runs as nobody, which may use everything but that key.
    const options = asRoot ? { uid: NOBODY, gid: NOBODY } : {};
    if (asRoot) {
      chmodSync(work, 0o755);
      chmodSync(dir, 0o755);
      mkdirSync(dataDir('unreadable-key-parent'));
      chownSync(dataDir('unreadable-key-parent'), NOBODY, NOBODY);
    }
    // The data directory's parent is the one nobody may write to.
    const data = join(asRoot ? dataDir('unreadable-key-parent') : work, 'data');
    const res = startToEnd(data, dir, [], options);
    expectOneLine(res, `${key} cannot be read`, /EACCES.*give the emulator's user read access to it \(chmod u\+r or chown\)/);
    chmodSync(key, 0o600);
    expect(contents(dir)).toEqual(before);
    expect(existsSync(data)).toBe(false);
  });

  it('a garbage CA certificate: names it, says to restore it or make a new CA, and leaves it as it was', () => {
    const dir = certsDirWith('garbage-ca');
    writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n');
    expectRefused('garbage-ca', dir, `${join(dir, 'ca.pem')} is not a PEM certificate`, /restore it from a backup, or move ca\.pem and ca-key\.pem away so that a new CA is made \(devices must then trust the new ca\.pem\)/);
  });

  it('a garbage CA key, or the key of another CA: names the key file', () => {
    const garbage = certsDirWith('garbage-key');
    writeFileSync(join(garbage, 'ca-key.pem'), 'not a key at all\n');
    expectRefused('garbage-key', garbage, `${join(garbage, 'ca-key.pem')} is not a PEM private key`, /restore it from a backup, or move ca\.pem and ca-key\.pem away/);
    const other = certsDirWith('other-key');
    cpSync(join(template, 'server-key.pem'), join(other, 'ca-key.pem'));
    expectRefused('other-key', other, `${join(other, 'ca-key.pem')} is not the key of ${join(other, 'ca.pem')}`, /put the CA's own key there/);
  });

  it('a CA certificate without its key is refused, not replaced by a new CA devices do not trust', () => {
    const dir = certsDirWith('no-key', ['ca.pem', 'server.pem', 'server-key.pem']);
    expectRefused('no-key', dir, `${join(dir, 'ca.pem')} has no key beside it (ca-key.pem is missing)`, /put the CA's key back as .*ca-key\.pem, or move ca\.pem and ca-key\.pem away/);
  });

  it('read-only, with a server certificate that must be issued again (damaged here): names the directory', () => {
    const dir = readOnlyCertsDir('ro-bad-server', ['ca.pem', 'ca-key.pem', 'server-key.pem']);
    if (asRoot) expect(existsSync(join(dir, 'server.pem'))).toBe(false);
    expectRefused('ro-bad-server', dir, `the certs directory ${dir} is not writable`, /has no usable server certificate.*make it writable/);
  });
});

describe('certs directories the emulator can use', () => {
  it('read-only with a complete set (a mounted secret): starts and serves', async () => {
    const dir = readOnlyCertsDir('ro-complete', FILES);
    const before = contents(dir);
    const serving = await startCli(dataDir('ro-complete'), dir);
    expect(await serving.stop()).toBe(0);
    expect(contents(dir)).toEqual(before);
  });

  it('a damaged server certificate in a writable directory is issued again from the same CA', () => {
    const dir = certsDirWith('bad-server');
    writeFileSync(join(dir, 'server.pem'), 'garbage\n');
    const ca = hash(join(dir, 'ca.pem'));
    const res = spawnSync(process.execPath, [cli, 'cert', 'issue', '--cn', 'probe-device', '--data-dir', dataDir('bad-server'), '--certs-dir', dir, '--out', join(work, 'bad-server-out')], { encoding: 'utf8' });
    expect(res.status, res.stderr).toBe(0);
    expect(hash(join(dir, 'ca.pem'))).toBe(ca);
    expect(execFileSync('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, 'server.pem')], { encoding: 'utf8' })).toContain(': OK');
  });
});
