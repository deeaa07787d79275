/**
 * `npx tsx bench/profile-summary.ts <file.cpuprofile> [top] [--last=S]`: the functions and the
 * packages with the most self time in a V8 CPU profile (from `npm run bench -- --profile`,
 * which writes bench/results/profiles/<scenario>.cpuprofile), as markdown tables. `--last=S`
 * counts only the samples of the last S seconds before the process stopped (the measured
 * window of a bench/compare.ts run, without start-up and provisioning); busy time excludes idle.
 */
import { readFileSync } from 'node:fs';
import { markdownTable } from './lib/format.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** node_modules/<pkg> (scoped too), src/..., node:internal, or the V8 pseudo-frames. */
function packageOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  if (url.startsWith('node:')) return 'node core';
  const local = /\/(dist|src|bench)\/(.*)$/.exec(url);
  return local ? `${local[1]}/${local[2].split('/')[0]}` : url;
}

export function summarize(profile: CpuProfile, top: number, lastSeconds = Infinity): string {
  // Self time per node: the sum of the time deltas of the samples that landed on it.
  const self = new Map<number, number>();
  const span = profile.timeDeltas.reduce((a, b) => a + b, 0);
  const from = span - lastSeconds * 1e6;
  let at = 0;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (at >= from) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').reduce((n, node) => n + (self.get(node.id) ?? 0), 0);
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  for (const node of profile.nodes) {
    const us = self.get(node.id) ?? 0;
    if (!us) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${url.replace(/^.*\/(node_modules|dist|src)\//, '$1/')}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const pkg = packageOf(url, functionName);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  }
  // Inclusive time of the project's own functions (dist/ or src/): self time of the
  // subtree, each function counted once per stack so recursion is not double-counted.
  const inclusive = new Map<string, number>();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const keyOf = (n: ProfileNode) => {
    const { functionName, url, lineNumber } = n.callFrame;
    return `${functionName || '(anonymous)'} ${url.replace(/^.*\/(dist|src)\//, '$1/')}:${lineNumber + 1}`;
  };
  const walk = (id: number, onStack: Set<string>): number => {
    const node = byId.get(id)!;
    let sum = self.get(id) ?? 0;
    const own = /\/(dist|src)\//.test(node.callFrame.url) && !node.callFrame.url.includes('node_modules') ? keyOf(node) : null;
    const added = own !== null && !onStack.has(own);
    if (added) onStack.add(own);
    for (const child of node.children ?? []) sum += walk(child, onStack);
    if (added) {
      onStack.delete(own);
      inclusive.set(own, (inclusive.get(own) ?? 0) + sum);
    }
    return sum;
  };
  walk(profile.nodes[0].id, new Set());
  const rows = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => [k, `${(us / 1000).toFixed(0)} ms`, `${((100 * us) / total).toFixed(1)} %`]);
  return [
    `Sampled ${(total / 1e6).toFixed(1)} s of ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s${Number.isFinite(lastSeconds) ? ` (the last ${lastSeconds} s)` : ''}; ${((total - idle) / 1e6).toFixed(1)} s busy.`,
    '',
    markdownTable(['package / area', 'self time', 'share'], rows(byPackage)),
    '',
    markdownTable(['function', 'self time', 'share'], rows(byFunction)),
    '',
    markdownTable(['project function (inclusive)', 'total time', 'share'], rows(inclusive)),
  ].join('\n');
}

const args = process.argv.slice(2);
const last = Number(args.find((a) => a.startsWith('--last='))?.slice('--last='.length) ?? Infinity);
const [file, top = '25'] = args.filter((a) => !a.startsWith('--'));
if (!file) {
  process.stderr.write('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]\n');
  process.exit(2);
}
process.stdout.write(summarize(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, Number(top), last) + '\n');
