/** The README and docs/testing-api.md show the example test; the copies there must be the one that runs. */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

const test = readFileSync(new URL('./testing-api.test.ts', import.meta.url), 'utf8');

it('the example in docs/testing-api.md is test/examples/testing-api.test.ts, word for word', () => {
  const doc = readFileSync(new URL('../../docs/testing-api.md', import.meta.url), 'utf8');
  const shown = /## Example \(vitest\)[\s\S]*?```ts\n([\s\S]*?)```/.exec(doc)?.[1];
  expect(shown).toBe(test.slice(test.indexOf('import mqtt')));
});

it('the example in the README is test/examples/testing-api.test.ts, word for word', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const shown = /## In your test suite[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(shown).toBe(test.slice(test.indexOf('import mqtt')));
});
