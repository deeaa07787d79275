/** The invokeRawCommand body and device payloads, checked and classified (src/commands/request.ts, payload.ts). */
import { describe, expect, it } from 'vitest';
import { parseCommandRequest } from '../../src/commands/request.js';
import { classifyPayload } from '../../src/commands/payload.js';
import { OciError } from '../../src/errors.js';

const defaults = { requestDuration: 'PT10M', responseDuration: 'PT10M' };

describe('invokeRawCommand body', () => {
  const fails = (body: Record<string, unknown>, status: number, code: string, message: RegExp) => {
    try {
      parseCommandRequest(body, defaults);
    } catch (err) {
      expect(err).toBeInstanceOf(OciError);
      expect(err).toMatchObject({ status, code, message: expect.stringMatching(message) });
      return;
    }
    throw new Error('expected an error');
  };

  it('fills OCI defaults: durations PT10M, content type per format', () => {
    expect(parseCommandRequest({ requestDataFormat: 'TEXT', requestEndpoint: 'a', responseEndpoint: 'b' }, defaults)).toMatchObject({
      requestDuration: 'PT10M',
      responseDuration: 'PT10M',
      contentType: 'text/plain',
      requestData: null,
    });
  });

  it('re-serialises JSON compactly, keeps text, decodes base64', () => {
    expect(parseCommandRequest({ requestDataFormat: 'JSON', requestEndpoint: 'a', requestData: { x: [1, 2] } }, defaults).payload.toString()).toBe('{"x":[1,2]}');
    expect(parseCommandRequest({ requestDataFormat: 'BINARY', requestEndpoint: 'a', requestData: 'AAEC/w==' }, defaults).payload).toEqual(Buffer.from([0, 1, 2, 255]));
  });

  it('refuses each bad field with OCI status and code', () => {
    fails({ requestEndpoint: 'a' }, 400, 'MissingParameter', /requestDataFormat/);
    fails({ requestDataFormat: 'XML', requestEndpoint: 'a' }, 400, 'InvalidParameter', /XML/);
    fails({ requestDataFormat: 'JSON' }, 400, 'MissingParameter', /requestEndpoint/);
    fails({ requestDataFormat: 'JSON', requestEndpoint: 'a', requestData: [1] }, 400, 'InvalidParameter', /JSON object/);
    fails({ requestDataFormat: 'JSON', requestEndpoint: 'a', requestData: 'x' }, 400, 'InvalidParameter', /JSON object/);
    fails({ requestDataFormat: 'TEXT', requestEndpoint: 'a', requestData: 5 }, 400, 'InvalidParameter', /string/);
    fails({ requestDataFormat: 'BINARY', requestEndpoint: 'a', requestData: 'not base64!' }, 400, 'InvalidParameter', /base64/);
    fails({ requestDataFormat: 'TEXT', requestEndpoint: 'a', requestData: 'x'.repeat(256 * 1024 + 1) }, 400, 'InvalidParameter', /256 KiB/);
    fails({ requestDataFormat: 'TEXT', requestEndpoint: 'a/#' }, 400, 'InvalidParameter', /wildcards/);
    fails({ requestDataFormat: 'TEXT', requestEndpoint: 'a', requestDuration: 'PT0S' }, 400, 'InvalidParameter', /requestDuration/);
    fails({ requestDataFormat: 'TEXT', requestEndpoint: 'a', responseDuration: '3 minutes' }, 400, 'InvalidParameter', /responseDuration/);
  });

  it('accepts exactly 256 KiB of data', () => {
    const data = Buffer.alloc(256 * 1024, 7).toString('base64');
    expect(parseCommandRequest({ requestDataFormat: 'BINARY', requestEndpoint: 'a', requestData: data }, defaults).payload.length).toBe(262144);
  });
});

describe('payload classification', () => {
  it('tells JSON, text and binary apart', () => {
    expect(classifyPayload(Buffer.from('{"a":1}')).format).toBe('JSON');
    expect(classifyPayload(Buffer.from('hello')).format).toBe('TEXT');
    expect(classifyPayload(Buffer.from([0xff, 0x00]))).toEqual({ format: 'BINARY', contentType: 'application/octet-stream', text: '/wA=' });
  });
});
