/**
 * The folder-level import graph of a source tree, from its `import … from` / `export … from`
 * lines and dynamic `import()`s, type imports included. A folder directly under the root is
 * one node; a file directly under the root (config.ts, errors.ts, …) is a node of its own.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

export type FolderGraph = Map<string, Map<string, string[]>>;

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

function sourceFiles(dir: string, into: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'public') sourceFiles(p, into);
    } else if (/\.(ts|mts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) into.push(p);
  }
  return into;
}

/** Which node a file is: its top folder, or the root file itself (as `name.ts`). */
function nodeOf(root: string, file: string): string {
  const parts = relative(root, file).split(sep);
  return parts.length > 1 ? parts[0] : parts[0].replace(/\.(ts|js|mts|mjs)$/, '.ts');
}

/** node -> node it imports -> the files (relative to root) that do. */
export function folderGraph(rootDir: string): FolderGraph {
  const root = resolve(rootDir);
  const graph: FolderGraph = new Map();
  for (const file of sourceFiles(root)) {
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = resolve(dirname(file), m[1] ?? m[2]);
      if (!target.startsWith(root + sep)) continue;
      const from = nodeOf(root, file);
      const to = nodeOf(root, target);
      if (from === to) continue;
      if (!graph.has(from)) graph.set(from, new Map());
      const out = graph.get(from)!;
      if (!out.has(to)) out.set(to, []);
      out.get(to)!.push(relative(root, file));
    }
  }
  return graph;
}

/** Every set of two or more nodes that import each other, directly or round about (Tarjan). */
export function cycles(graph: FolderGraph): string[][] {
  const nodes = new Set([...graph.keys(), ...[...graph.values()].flatMap((m) => [...m.keys()])]);
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of nodes) if (!index.has(v)) visit(v);
  return found;
}

/** The folders `folder` imports (root files, the shared primitives, left out), with a file that does. */
export function folderImports(graph: FolderGraph, folder: string): Array<{ folder: string; file: string }> {
  return [...(graph.get(folder) ?? new Map<string, string[]>()).entries()]
    .filter(([to]) => !to.endsWith('.ts'))
    .map(([to, files]) => ({ folder: to, file: files[0] }));
}
