/** docs/testing-api.md shows the example test; the copy there must be the one that runs. */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

it('the example in docs/testing-api.md is test/examples/testing-api.test.ts, word for word', () => {
  const doc = readFileSync(new URL('../../docs/testing-api.md', import.meta.url), 'utf8');
  const test = readFileSync(new URL('./testing-api.test.ts', import.meta.url), 'utf8');
  const shown = /## Example \(vitest\)[\s\S]*?```ts\n([\s\S]*?)```/.exec(doc)?.[1];
  expect(shown).toBe(test.slice(test.indexOf('import mqtt')));
});
