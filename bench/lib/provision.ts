import http from 'node:http';
import type { DeviceCred } from '../load/protocol.js';
import { pool, requestJson } from './net.js';

function field(body: unknown, name: string): string {
  const value = (body as Record<string, unknown> | null)?.[name];
  if (typeof value !== 'string') throw new Error(`reply lacks ${name}: ${JSON.stringify(body).slice(0, 300)}`);
  return value;
}

/**
 * Creates `count` devices the way a back-end would: a Vault secret holding the password,
 * then a digital twin instance whose authId names it. Calls run `concurrency` at a time.
 */
export async function provisionDevices(
  restUrl: string,
  domainId: string,
  count: number,
  concurrency = 32,
  /** More fields for every instance, e.g. `digitalTwinAdapterId`. */
  fields: Record<string, unknown> = {},
): Promise<{ devices: DeviceCred[]; elapsedMs: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const t0 = performance.now();
  try {
    const devices = await pool(count, concurrency, async (i) => {
      const password = `bench-password-${i}`;
      const secret = await requestJson(agent, 'POST', `${restUrl}/20180608/secrets`, {
        secretContent: { contentType: 'BASE64', content: Buffer.from(password).toString('base64') },
      });
      if (secret.status !== 200) throw new Error(`create secret: HTTP ${secret.status} ${JSON.stringify(secret.body)}`);
      const instance = await requestJson(agent, 'POST', `${restUrl}/20250531/digitalTwinInstances`, {
        iotDomainId: domainId,
        authId: field(secret.body, 'id'),
        displayName: `bench-device-${i}`,
        ...fields,
      });
      if (instance.status !== 200) throw new Error(`create instance: HTTP ${instance.status} ${JSON.stringify(instance.body)}`);
      return { instanceId: field(instance.body, 'id'), externalKey: field(instance.body, 'externalKey'), password };
    });
    return { devices, elapsedMs: performance.now() - t0 };
  } finally {
    agent.destroy();
  }
}
