/**
 * Line charts as a standalone SVG file: stacked panels sharing one x axis, each with its
 * own y axis from zero (so a flat line looks flat and a drift is not magnified).
 */

export interface Series {
  name: string;
  color: string;
  points: ReadonlyArray<readonly [number, number]>;
}

export interface Panel {
  title: string;
  unit: string;
  series: Series[];
}

const WIDTH = 900;
const PANEL_HEIGHT = 200;
const LEFT = 70;
const RIGHT = 150;
const TOP = 70;
const GAP = 45;
const BOTTOM = 45;

/** About five round tick values from 0 up to at least `max`. */
export function niceTicks(max: number): number[] {
  if (!(max > 0)) return [0, 1];
  const rough = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough)!;
  const ticks: number[] = [];
  for (let v = 0; v < max + step - 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const label = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : String(Number(v.toPrecision(3))));

export function linePanelsSvg(opts: { title: string; subtitle?: string; xLabel: string; panels: Panel[] }): string {
  const plotWidth = WIDTH - LEFT - RIGHT;
  const height = TOP + opts.panels.length * (PANEL_HEIGHT + GAP) - GAP + BOTTOM;
  const allX = opts.panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([x]) => x)));
  const xTicks = niceTicks(Math.max(...allX, 0));
  const xMax = xTicks[xTicks.length - 1];
  const xAt = (x: number) => LEFT + (x / xMax) * plotWidth;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${LEFT}" y="20" font-size="15" font-weight="bold">${esc(opts.title)}</text>`,
  ];
  if (opts.subtitle) out.push(`<text x="${LEFT}" y="37" fill="#555">${esc(opts.subtitle)}</text>`);

  opts.panels.forEach((panel, i) => {
    const top = TOP + i * (PANEL_HEIGHT + GAP);
    const values = panel.series.flatMap((s) => s.points.map(([, y]) => y)).filter(Number.isFinite);
    const yTicks = niceTicks(Math.max(...values, 0));
    const yMax = yTicks[yTicks.length - 1];
    const yAt = (y: number) => top + PANEL_HEIGHT - (y / yMax) * PANEL_HEIGHT;
    out.push(`<text x="${LEFT}" y="${top - 8}" font-weight="bold">${esc(panel.title)} (${esc(panel.unit)})</text>`);
    for (const t of yTicks) {
      out.push(`<line x1="${LEFT}" x2="${LEFT + plotWidth}" y1="${yAt(t)}" y2="${yAt(t)}" stroke="#e4e4e4"/>`);
      out.push(`<text x="${LEFT - 6}" y="${yAt(t) + 4}" text-anchor="end" fill="#444">${label(t)}</text>`);
    }
    for (const t of xTicks) {
      out.push(`<line x1="${xAt(t)}" x2="${xAt(t)}" y1="${top}" y2="${top + PANEL_HEIGHT}" stroke="#f0f0f0"/>`);
      out.push(`<text x="${xAt(t)}" y="${top + PANEL_HEIGHT + 15}" text-anchor="middle" fill="#444">${label(t)}</text>`);
    }
    out.push(`<rect x="${LEFT}" y="${top}" width="${plotWidth}" height="${PANEL_HEIGHT}" fill="none" stroke="#999"/>`);
    panel.series.forEach((s, k) => {
      const pts = s.points.filter(([, y]) => Number.isFinite(y));
      if (pts.length > 0) {
        const d = pts.map(([x, y], j) => `${j ? 'L' : 'M'}${xAt(x).toFixed(1)},${yAt(y).toFixed(1)}`).join(' ');
        out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
        for (const [x, y] of pts) out.push(`<circle cx="${xAt(x).toFixed(1)}" cy="${yAt(y).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
      }
      const ly = top + 14 + k * 18;
      out.push(`<line x1="${LEFT + plotWidth + 12}" x2="${LEFT + plotWidth + 32}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"/>`);
      out.push(`<text x="${LEFT + plotWidth + 38}" y="${ly}">${esc(s.name)}</text>`);
    });
  });
  out.push(`<text x="${LEFT + plotWidth / 2}" y="${height - 10}" text-anchor="middle" fill="#444">${esc(opts.xLabel)}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
