/** REST limits, one by one: each refusal is an OCI error, and a well-formed request next to it still works. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_LIMITS, DEFAULT_BODY_LIMIT, MAX_JSON_DEPTH } from '../../src/api/limits.js';
import { startTestEmulator, type TestEmulator } from '../support/harness.js';

let t: TestEmulator;
beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(async () => {
  await t.close();
});

const count = (table: string) => (t.emu.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
const nested = (depth: number) => '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);

describe('body size per route', () => {
  it('a body over the default limit gets 413 RequestEntityTooLarge and nothing is stored', async () => {
    const before = count('vault_secrets');
    const big = { secretContent: { content: 'QUFB'.repeat(DEFAULT_BODY_LIMIT / 4 + 1) } };
    const res = await t.rest('POST', '/20180608/secrets', big);
    expect(res).toMatchObject({ status: 413, body: { code: 'RequestEntityTooLarge' } });
    expect(count('vault_secrets')).toBe(before);
    const ok = await t.rest('POST', '/20180608/secrets', { secretContent: { content: 'QUFB'.repeat(1000) } });
    expect(ok.status).toBe(200);
  });

  it('the emulator’s own small operations take small bodies only', async () => {
    const limit = BODY_LIMITS['POST /emulator/clock'];
    const res = await t.rest('POST', '/emulator/clock', { advance: 'PT1S', pad: 'x'.repeat(limit) });
    expect(res).toMatchObject({ status: 413, body: { code: 'RequestEntityTooLarge' } });
    const cert = await t.rest('POST', '/emulator/certificates', { commonName: 'x'.repeat(5000) });
    expect(cert).toMatchObject({ status: 413, body: { code: 'RequestEntityTooLarge' } });
    expect((await t.rest('POST', '/emulator/clock', { advance: 'PT1S' })).status).toBe(200);
  });

  it('invokeRawCommand still takes 256 KiB of BINARY data (base64 in a JSON body)', async () => {
    const device = await t.createDevice();
    const res = await t.rest('POST', `/20250531/digitalTwinInstances/${device.instanceId}/actions/invokeRawCommand`, {
      requestDataFormat: 'BINARY',
      requestEndpoint: 'cmd',
      requestData: Buffer.alloc(256 * 1024, 7).toString('base64'),
    });
    expect(res.status).toBe(202);
  });
});

describe('JSON depth', () => {
  it(`a body nested deeper than ${MAX_JSON_DEPTH} levels is refused with 400 before it is parsed; ${MAX_JSON_DEPTH} levels work`, async () => {
    const device = await t.createDevice();
    const path = `/20250531/digitalTwinInstances/${device.instanceId}/actions/invokeRawCommand`;
    const before = count('commands');
    const body = (depth: number) => `{"requestDataFormat":"JSON","requestEndpoint":"cmd","requestData":${nested(depth - 1)}}`;
    const deep = await t.rest('POST', path, body(MAX_JSON_DEPTH + 1));
    expect(deep).toMatchObject({ status: 400, body: { code: 'InvalidParameter', message: expect.stringMatching(/deeper than 64/) } });
    // 100k levels: no stack overflow, the same clear refusal.
    const hostile = await t.rest('POST', path, '['.repeat(100_000) + ']'.repeat(100_000));
    expect(hostile).toMatchObject({ status: 400, body: { code: 'InvalidParameter' } });
    expect(count('commands')).toBe(before);
    expect((await t.rest('POST', path, body(MAX_JSON_DEPTH))).status).toBe(202);
  });

  it('brackets inside strings do not count', async () => {
    const res = await t.rest('POST', '/20180608/secrets', `{"description":"${'['.repeat(500)}","secretContent":{"content":"YQ=="}}`);
    expect(res.status).toBe(200);
  });
});
