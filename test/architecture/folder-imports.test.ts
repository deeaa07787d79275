/**
 * The house rules of src/ a newcomer relies on (README "Layout"): no import cycle between
 * folders, type imports included, and store/ imports only the shared primitives (the files
 * directly under src/), never a feature folder.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cycles, folderGraph, folderImports } from './folder-graph.js';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

describe('src/ folder imports', () => {
  const graph = folderGraph(SRC);

  it('has no cycle between folders, type imports included', () => {
    const found = cycles(graph).map((c) => `{${c.join(', ')}}`);
    expect(found).toEqual([]);
  });

  it('store/ imports no feature folder', () => {
    expect(folderImports(graph, 'store')).toEqual([]);
  });
});

describe('the check itself', () => {
  function tree(files: Record<string, string>): string {
    const root = mkdtempSync(join(tmpdir(), 'folder-graph-'));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return root;
  }

  it('finds a cycle made only of type imports, across three folders, and store/ reaching up', () => {
    const root = tree({
      'a/x.ts': "import type { B } from '../b/y.js';\n",
      'b/y.ts': "export type { C } from '../c/z.js';\n",
      'c/z.ts': "import { a } from '../a/x.js';\nimport { e } from '../errors.js';\n",
      'store/s.ts': "import { errors } from '../errors.js';\nimport type { A } from '../a/x.js';\n",
      'errors.ts': 'export const e = 1;\n',
    });
    try {
      const graph = folderGraph(root);
      expect(cycles(graph)).toEqual([['a', 'b', 'c']]);
      expect(folderImports(graph, 'store')).toEqual([{ folder: 'a', file: join('store', 's.ts') }]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
