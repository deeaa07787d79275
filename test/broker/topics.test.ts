/** MQTT 3.1.1 topic filter matching (src/broker/topics.ts). */
import { describe, expect, it } from 'vitest';
import { topicMatches } from '../../src/broker/topics.js';

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
