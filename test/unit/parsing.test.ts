import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/durations.js';
import { parseCommandRequest } from '../../src/commands/request.js';
import { classifyPayload } from '../../src/commands/payload.js';
import { topicMatches } from '../../src/broker/topics.js';
import { compileOrdsQuery, RAW_COMMAND_DATA } from '../../src/store/ords-query.js';
import { OciError } from '../../src/errors.js';

const defaults = { requestDuration: 'PT10M', responseDuration: 'PT10M' };

describe('ISO 8601 durations', () => {
  it.each([
    ['PT3M', 180_000],
    ['PT10M', 600_000],
    ['PT1H30M', 5_400_000],
    ['P1D', 86_400_000],
    ['P1W', 604_800_000],
    ['PT0.5S', 500],
    ['P1DT2H', 93_600_000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toEqual({ ok: true, ms }));

  it.each(['', '3M', 'PT', 'P', 'PT-1M', '-PT1M', 'PT1X', 'T3M', 'pt3m'])('refuses %j', (text) =>
    expect(parseDuration(text).ok).toBe(false),
  );

  it('refuses zero and calendar units with a reason', () => {
    expect(parseDuration('PT0S')).toEqual({ ok: false, reason: 'must be longer than zero' });
    expect(parseDuration('P1M')).toMatchObject({ ok: false, reason: expect.stringMatching(/months/) });
  });

  it('keeps its exact reasons for years, months, zero and negative durations', () => {
    const calendar = 'years and months are not supported; use weeks, days, hours, minutes or seconds (e.g. P30D)';
    const shape = 'must be an ISO 8601 duration such as PT3M or PT1H30M';
    for (const text of ['P1Y', 'P1M', 'P1Y2M', 'P1MT1H', 'P0Y1D']) expect(parseDuration(text), text).toEqual({ ok: false, reason: calendar });
    for (const text of ['PT0S', 'P0D', 'PT0.0004S']) expect(parseDuration(text), text).toEqual({ ok: false, reason: 'must be longer than zero' });
    for (const text of ['-PT1M', 'PT-1M', 'P1DT', 'PT1.5H', 'PT1,5S', 'xPT3M', 'PT3Mx']) expect(parseDuration(text), text).toEqual({ ok: false, reason: shape });
  });
});

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

describe('MQTT topic filters', () => {
  it.each([
    ['a/+/c', 'a/b/c', true],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['#', '$SYS/x', false],
    ['+/x', '$iot/x', false],
    ['$iot/x', '$iot/x', true],
    ['/endpoints/+', '/endpoints/1234', true],
    ['a/+', 'a/b/c', false],
    ['a/b', 'a/b/', false],
  ])('%s matches %s: %s', (filter, topic, expected) => expect(topicMatches(filter, topic)).toBe(expected));
});

describe('ORDS q filters', () => {
  it('compiles $and, equality, date ranges and $orderby into parameters', () => {
    const q = compileOrdsQuery(
      RAW_COMMAND_DATA,
      JSON.stringify({
        $and: [{ delivery_status: 'COMPLETED' }, { time_created: { $gte: { $date: '2030-01-01T00:00:00Z' } } }],
        $orderby: { time_created: 'desc' },
      }),
    );
    expect(q.where).toBe('(delivery_status = ? AND time_created >= ?)');
    expect(q.params).toEqual(['COMPLETED', '2030-01-01T00:00:00.000Z']);
    expect(q.orderBy).toBe('time_created DESC, id ASC');
  });

  it('refuses unknown columns, operators and bad JSON with InvalidParameter', () => {
    for (const q of ['{', '{"nope":1}', '{"id":{"$regex":"x"}}', '[1]', '{"id; drop table x":1}']) {
      expect(() => compileOrdsQuery(RAW_COMMAND_DATA, q)).toThrow(OciError);
    }
  });
});
