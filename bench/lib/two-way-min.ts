import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import type { BenchContext } from './context.js';
import { REPO_ROOT } from './context.js';
import type { DeviceCred } from '../load/protocol.js';
import { freePort, pool, requestJson } from './net.js';
import { spawnWrapped, stopChild } from './proc.js';

/**
 * two-way-min (bench/servers/two-way-min.mjs, copied from shared/anchors): the least a server
 * on the emulator's own stack must do to run the same two-way command with the same
 * durability. The ceiling the command figures are judged against.
 */
export interface TwoWayMin {
  pid: number;
  restUrl: string;
  mqttPort: number;
  caFile: string;
  devices: DeviceCred[];
  databaseFile: string;
  stop(): Promise<void>;
}

/** A P-256 self-signed certificate for 127.0.0.1 (as the emulator's own), made once per temp dir. */
function certificate(dir: string): { key: string; cert: string } {
  mkdirSync(dir, { recursive: true });
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  if (!existsSync(cert)) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
      '-days', '30', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  }
  return { key, cert };
}

/** Starts two-way-min on the server core and provisions `devices` instances on it. */
export async function startTwoWayMin(ctx: BenchContext, devices: number, profileName?: string): Promise<TwoWayMin> {
  const dir = ctx.tempDir('two-way-min');
  const { key, cert } = certificate(join(dir, 'certs'));
  const [restPort, mqttPort] = [await freePort(), await freePort()];
  const prof = ctx.profileDir && profileName ? ['--cpu-prof', `--cpu-prof-dir=${ctx.profileDir}`, `--cpu-prof-name=${profileName}.cpuprofile`] : [];
  const proc = spawnWrapped(ctx.placement, 'server', process.execPath, [
    ...prof, join(REPO_ROOT, 'bench', 'servers', 'two-way-min.mjs'), 'serve',
    '--rest-port', String(restPort), '--mqtt-port', String(mqttPort), '--data-dir', join(dir, 'data'), '--key', key, '--cert', cert,
  ], { cwd: REPO_ROOT });
  await new Promise<void>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`two-way-min did not start\n${proc.stderrTail()}`)), 30_000);
    proc.child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (/^READY/m.test(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`two-way-min exited with ${code}\n${proc.stderrTail()}`));
    });
  });
  const restUrl = `http://127.0.0.1:${restPort}`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  try {
    const creds = await pool(devices, 32, async (i) => {
      const password = `bench-password-${i}`;
      const r = await requestJson(agent, 'POST', `${restUrl}/20250531/digitalTwinInstances`, { displayName: `bench-device-${i}`, password });
      const body = r.body as { id?: string; externalKey?: string } | null;
      if (r.status !== 200 || !body?.id || !body.externalKey) throw new Error(`two-way-min: create instance: HTTP ${r.status} ${JSON.stringify(r.body)}`);
      return { instanceId: body.id, externalKey: body.externalKey, password };
    });
    return { pid: proc.pid, restUrl, mqttPort, caFile: cert, devices: creds, databaseFile: join(dir, 'data', 'min.db'), stop: () => stopChild(proc.child) };
  } catch (err) {
    await stopChild(proc.child);
    throw err;
  } finally {
    agent.destroy();
  }
}
