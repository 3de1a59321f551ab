/**
 * Charts drawn as SVG by the daemon (no script, no CDN): they print with the page. Text is escaped;
 * sizes are fixed so the page lays out the same on screen and on paper.
 */

export const esc = (s: string | number): string => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export interface Bar {
  label: string;
  /** Stacked parts, drawn left to right in the series' colours. */
  values: number[];
  /** Shown at the end of the bar (defaults to the sum). */
  text?: string;
}

export interface BarChart {
  id: string;
  title: string;
  series: string[];
  bars: Bar[];
  /** A vertical line (a target) at this value, with its label. */
  target?: { value: number; label: string };
  /** The axis starts here (availability charts start near the target, not at 0). */
  min?: number;
  max?: number;
}

const COLOURS = ['#1f6feb', '#d29922', '#8250df', '#2da44e', '#cf222e'];

/** A horizontal bar chart, one row per bar. */
export function barChart(c: BarChart): string {
  const rowH = 22;
  const labelW = 150;
  const plotW = 440;
  const top = c.series.length > 1 ? 40 : 28;
  const h = top + Math.max(1, c.bars.length) * rowH + 24;
  const total = (b: Bar) => b.values.reduce((a, v) => a + v, 0);
  const min = c.min ?? 0;
  const max = Math.max(c.max ?? 0, ...c.bars.map(total), c.target?.value ?? 0, min + 1e-9);
  const x = (v: number) => labelW + ((Math.max(min, Math.min(max, v)) - min) / (max - min)) * plotW;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="${esc(c.id)}" role="img" aria-label="${esc(c.title)}" width="${labelW + plotW + 90}" height="${h}" viewBox="0 0 ${labelW + plotW + 90} ${h}">`,
    `<title>${esc(c.title)}</title>`,
    `<text x="0" y="16" class="chart-title">${esc(c.title)}</text>`,
  ];
  if (c.series.length > 1) {
    c.series.forEach((s, i) => parts.push(`<rect x="${labelW + i * 130}" y="24" width="10" height="10" fill="${COLOURS[i % COLOURS.length]}"/><text x="${labelW + i * 130 + 14}" y="33" class="legend">${esc(s)}</text>`));
  }
  c.bars.forEach((b, i) => {
    const y = top + i * rowH;
    parts.push(`<text x="${labelW - 6}" y="${y + 15}" text-anchor="end" class="label">${esc(b.label)}</text>`);
    let at = 0;
    b.values.forEach((v, k) => {
      if (v <= 0 && min === 0) return;
      const x0 = x(at);
      at += v;
      parts.push(`<rect class="bar" x="${x0.toFixed(1)}" y="${y + 3}" width="${Math.max(0.5, x(at) - x0).toFixed(1)}" height="${rowH - 6}" fill="${COLOURS[k % COLOURS.length]}"/>`);
    });
    parts.push(`<text x="${(x(total(b)) + 4).toFixed(1)}" y="${y + 15}" class="value">${esc(b.text ?? String(total(b)))}</text>`);
  });
  if (c.bars.length === 0) parts.push(`<text x="${labelW}" y="${top + 15}" class="value">nothing in this period</text>`);
  if (c.target) {
    const tx = x(c.target.value).toFixed(1);
    parts.push(`<line class="target" x1="${tx}" x2="${tx}" y1="${top - 4}" y2="${h - 18}" stroke="#cf222e" stroke-dasharray="4 3"/>`,
      `<text x="${tx}" y="${h - 4}" text-anchor="middle" class="target-label">${esc(c.target.label)}</text>`);
  }
  parts.push('</svg>');
  return parts.join('');
}
