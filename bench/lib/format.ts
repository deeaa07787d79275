import type { Percentiles } from './stats.js';

const group = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export const na = 'n/a';

export function int(n: number): string {
  return Number.isFinite(n) ? group.format(n) : na;
}

export function fixed(n: number, digits = 1): string {
  return Number.isFinite(n) ? n.toFixed(digits) : na;
}

export function ms(n: number): string {
  if (!Number.isFinite(n)) return na;
  return n < 10 ? `${n.toFixed(2)} ms` : `${n.toFixed(0)} ms`;
}

export function rate(perSecond: number, unit = '/s'): string {
  return Number.isFinite(perSecond) ? `${int(perSecond)}${unit}` : na;
}

export function ratioText(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}×` : na;
}

export function mib(kib: number): string {
  return Number.isFinite(kib) ? `${(kib / 1024).toFixed(1)} MiB` : na;
}

/** "p50 / p95 / p99" in ms, the form every latency cell uses. */
export function pct(p: Percentiles): string {
  if (p.count === 0) return na;
  const f = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(0));
  return `${f(p.p50)} / ${f(p.p95)} / ${f(p.p99)} ms`;
}

/** A GitHub-flavoured markdown table; pipes inside cells are escaped. */
export function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const line = (cells: readonly string[]) => `| ${cells.map(esc).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
