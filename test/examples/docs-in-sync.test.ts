/**
 * The README and docs/testing-api.md show example tests; the copies there must be the ones
 * that run. docs/layout.md names every folder with the role its README.md states.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const test = readFileSync(new URL('./testing-api.test.ts', import.meta.url), 'utf8');

it('the example in docs/testing-api.md is test/examples/testing-api.test.ts, word for word', () => {
  const doc = readFileSync(new URL('../../docs/testing-api.md', import.meta.url), 'utf8');
  const shown = /## Example \(vitest\)[\s\S]*?```ts\n([\s\S]*?)```/.exec(doc)?.[1];
  expect(shown).toBe(test.slice(test.indexOf('import mqtt')));
});

it('the example in the README is test/examples/readme-suite.test.ts, word for word', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const example = readFileSync(new URL('./readme-suite.test.ts', import.meta.url), 'utf8');
  const shown = /## In your test suite[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(shown).toBe(example.slice(example.indexOf('import mqtt')));
});

describe('docs/layout.md', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const layout = readFileSync(join(root, 'docs/layout.md'), 'utf8');
  const folders = (top: string): string[] =>
    readdirSync(join(root, top), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .flatMap((e) => [`${top}/${e.name}`, ...folders(`${top}/${e.name}`)]);

  it.each([...folders('src'), ...folders('test')])('%s states its role in one README.md line, which docs/layout.md repeats', (folder) => {
    const file = join(root, folder, 'README.md');
    expect(existsSync(file), `${folder}/README.md: add one line saying what the folder owns, and a row for it in docs/layout.md`).toBe(true);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines, `${folder}/README.md is one line`).toHaveLength(1);
    expect(layout).toContain(`| \`${folder}/\` | ${lines[0]} |`);
  });

  it('lists every file at the top of src/ and test/', () => {
    for (const top of ['src', 'test']) {
      for (const e of readdirSync(join(root, top), { withFileTypes: true })) {
        if (e.isFile()) expect(layout, `${top}/${e.name}`).toContain(`| \`${top}/${e.name}\` |`);
      }
    }
  });

  it('names only test paths that exist, here and in docs/', () => {
    const texts = [readme, ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => readFileSync(join(root, 'docs', f), 'utf8'))];
    const paths = texts.flatMap((text) => [...text.matchAll(/`(test\/[\w./-]+)`/g)].map((m) => m[1]));
    expect(paths.length).toBeGreaterThan(10);
    for (const path of paths) expect(existsSync(join(root, path)), path).toBe(true);
  });
});
