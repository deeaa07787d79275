/** `oci-iot-emulator start --proxy-port` as users run it (the built CLI), reached by curl with only HTTPS_PROXY and the CA bundle. */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const root = resolve(dirname(new URL(import.meta.url).pathname), '../..');
const cli = join(root, 'dist', 'cli.js');
const run = promisify(execFile);

it('prints the proxy URL at start; curl reaches the IoT API by OCI\'s name through it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'oci-iot-proxy-cli-'));
  const child = spawn(process.execPath, [cli, 'start', '--rest-port', '0', '--mqtt-port', '0', '--https-port', '0', '--proxy-port', '0', '--region', 'eu-frankfurt-1', '--data-dir', join(dir, 'data'), '--certs-dir', join(dir, 'certs')], {
    env: { ...process.env, OCI_IOT_LOG_LEVEL: 'warn' },
  });
  try {
    let out = '';
    await new Promise<void>((res, rej) => {
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('clock')) res();
      });
      child.on('exit', (code) => rej(new Error(`exited ${code}: ${out}`)));
    });
    const proxy = /HTTPS proxy\s+(http:\/\/127\.0\.0\.1:\d+)\s/.exec(out)?.[1];
    expect(proxy).toBeDefined();
    const domainId = /IoT domain\s+(\S+)/.exec(out)![1];
    const { HTTPS_PROXY, https_proxy, NO_PROXY, no_proxy, ...env } = process.env;
    void [HTTPS_PROXY, https_proxy, NO_PROXY, no_proxy];
    const { stdout } = await run('curl', ['-s', '--fail', `https://iot.eu-frankfurt-1.oci.oraclecloud.com/20250531/iotDomains/${domainId}`], {
      env: { ...env, HTTPS_PROXY: proxy, CURL_CA_BUNDLE: join(dir, 'certs', 'ca.pem') },
    });
    const domain = JSON.parse(stdout) as { id: string; deviceHost: string };
    expect(domain.id).toBe(domainId);
    expect(domain.deviceHost).toMatch(/^[a-z2-7]{12}\.device\.iot\.eu-frankfurt-1\.oci\.oraclecloud\.com$/);
  } finally {
    const exit = new Promise((res) => child.once('exit', res));
    child.kill('SIGTERM');
    await exit;
    rmSync(dir, { recursive: true, force: true });
  }
});
