/**
 * A small SVG writer for the benchmark's picture (bench/results.svg):
 * horizontal bar charts with labels, values, an axis and a title, stacked
 * into one document. Pure functions from numbers to SVG text; no
 * dependencies, no browser.
 *
 * @module
 */

/** One bar. */
export interface Bar {
  /** Label left of the bar. */
  readonly label: string;
  /** Its length, in the chart's unit; bars whose value is not a finite number ≥ 0 are left out. */
  readonly value: number;
}

/** Bars drawn together under a heading, in one colour. */
export interface BarGroup {
  /** Heading above the bars. */
  readonly heading: string;
  /** The bars, top to bottom. */
  readonly bars: readonly Bar[];
  /** Fill colour (CSS colour); a default by position otherwise. */
  readonly color?: string;
}

/** A horizontal bar chart: groups of bars on one axis. */
export interface BarChart {
  /** Title above the chart. */
  readonly title: string;
  /** Unit of the values, printed under the axis. */
  readonly unit: string;
  /** The groups, top to bottom; empty groups are left out. */
  readonly groups: readonly BarGroup[];
  /** Decimals of the values printed at the bar ends (default 1). */
  readonly digits?: number;
  /**
   * Where the axis may end at most: longer bars are cut at the axis end and
   * marked with a break (their value is still printed), so that one very
   * long bar does not squash the others. Default: no limit.
   */
  readonly limit?: number;
}

/** Layout of a chart, in SVG user units (pixels). */
export interface Layout {
  /** Width of the whole document. */
  readonly width: number;
  /** Width of the label column left of the bars. */
  readonly labelWidth: number;
  /** Height of one bar. */
  readonly barHeight: number;
}

/** The layout used unless one is given. */
export const DEFAULT_LAYOUT: Layout = { width: 900, labelWidth: 330, barHeight: 16 };

const COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1", "#9c755f"];
const GAP = 4;
const HEADING = 20;
const TITLE = 28;
const AXIS = 34;
const VALUE_ROOM = 70;

/** `text` with the five XML special characters escaped, for text and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!,
  );
}

/** A coordinate as text: finite, at most two decimals (0 for anything not finite). */
function num(value: number): string {
  return Number.isFinite(value) ? String(Math.round(value * 100) / 100) : "0";
}

/** Two white slashes across a bar cut at the axis end, ending at x + 10. */
function breakMark(x: number, y: number, height: number): string {
  const d = [0, 5].map((dx) => `M${num(x + dx)} ${num(y + height)} L${num(x + dx + 5)} ${num(y)}`)
    .join(" ");
  return `<path d="${d}" class="break"/>`;
}

/** Whether a value can be drawn as a bar. */
function drawable(value: number): boolean {
  return Number.isFinite(value) && value >= 0;
}

/**
 * The axis end and tick step for values up to `max`: a step of 1, 2 or 5
 * times a power of ten giving at most 8 ticks, and the first multiple of it
 * ≥ `max` (1 and 0.2 when there is nothing above 0).
 */
export function niceAxis(max: number): { end: number; step: number } {
  if (!(max > 0) || !Number.isFinite(max)) return { end: 1, step: 0.2 };
  const raw = max / 8;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  return { end: Math.ceil(max / step - 1e-9) * step, step };
}

/** The groups of `chart` with only drawable bars, and no empty groups. */
function visibleGroups(chart: BarChart): BarGroup[] {
  return chart.groups
    .map((g) => ({ ...g, bars: g.bars.filter((b) => drawable(b.value)) }))
    .filter((g) => g.bars.length > 0);
}

/** Height a chart takes in `layout`. */
export function chartHeight(chart: BarChart, layout: Layout = DEFAULT_LAYOUT): number {
  const groups = visibleGroups(chart);
  const bars = groups.reduce((a, g) => a + g.bars.length, 0);
  return TITLE + groups.length * HEADING + bars * (layout.barHeight + GAP) + AXIS;
}

/**
 * One chart as an SVG group (`<g>`) whose top edge is at `top`: title,
 * group headings, labelled bars with their values, gridlines and an axis
 * with ticks and the unit. Bar length is value × (plot width / axis end).
 */
export function barChart(chart: BarChart, top = 0, layout: Layout = DEFAULT_LAYOUT): string {
  const groups = visibleGroups(chart);
  const digits = chart.digits ?? 1;
  const left = layout.labelWidth;
  const plot = layout.width - left - VALUE_ROOM;
  const max = Math.max(0, ...groups.flatMap((g) => g.bars.map((b) => b.value)));
  const limit = chart.limit !== undefined && chart.limit > 0 ? chart.limit : Infinity;
  const axis = niceAxis(Math.min(max, limit));
  const scale = plot / axis.end;
  const head = [
    `<g class="chart">`,
    `<text x="${num(8)}" y="${num(top + 18)}" class="title">${escapeXml(chart.title)}</text>`,
  ];
  const out: string[] = [];
  let y = top + TITLE;
  const plotTop = y;
  groups.forEach((group, g) => {
    const color = escapeXml(group.color ?? COLORS[g % COLORS.length]);
    out.push(
      `<text x="${num(8)}" y="${num(y + 14)}" class="heading">${escapeXml(group.heading)}</text>`,
    );
    y += HEADING;
    for (const bar of group.bars) {
      const middle = y + layout.barHeight / 2 + 4;
      const clipped = bar.value > axis.end;
      const length = Math.min(bar.value, axis.end) * scale;
      out.push(
        `<text x="${num(left - 6)}" y="${num(middle)}" class="label">${
          escapeXml(bar.label)
        }</text>`,
        `<rect x="${num(left)}" y="${num(y)}" width="${num(length)}" height="${
          num(layout.barHeight)
        }" fill="${color}"><title>${escapeXml(`${bar.label}: ${bar.value.toFixed(digits)}`)}` +
          `</title></rect>`,
        ...(clipped ? [breakMark(left + length - 14, y, layout.barHeight)] : []),
        `<text x="${num(left + length + 4)}" y="${num(middle)}" class="value">${
          escapeXml(bar.value.toFixed(digits))
        }</text>`,
      );
      y += layout.barHeight + GAP;
    }
  });
  // Gridlines and ticks go first, so that bars and values are drawn over them.
  const ticks = Math.round(axis.end / axis.step);
  for (let i = 0; i <= ticks; i++) {
    const x = left + i * axis.step * scale;
    const label = Number((i * axis.step).toPrecision(6));
    head.push(
      `<line x1="${num(x)}" y1="${num(plotTop)}" x2="${num(x)}" y2="${num(y)}" class="${
        i === 0 ? "axis" : "grid"
      }"/>`,
      `<text x="${num(x)}" y="${num(y + 14)}" class="tick">${escapeXml(String(label))}</text>`,
    );
  }
  out.push(
    `<line x1="${num(left)}" y1="${num(y)}" x2="${num(left + plot)}" y2="${num(y)}" class="axis"/>`,
    `<text x="${num(left + plot / 2)}" y="${num(y + 29)}" class="unit">${
      escapeXml(chart.unit)
    }</text>`,
    "</g>",
  );
  return [...head, ...out].join("\n");
}

/**
 * A whole SVG document: `title` on top, then each chart with at least one
 * drawable bar, one under the other, and `footer` lines at the bottom.
 */
export function svgDocument(
  title: string,
  charts: readonly BarChart[],
  footer: readonly string[] = [],
  layout: Layout = DEFAULT_LAYOUT,
): string {
  const shown = charts.filter((c) => visibleGroups(c).length > 0);
  const parts: string[] = [];
  let y = 36;
  for (const chart of shown) {
    parts.push(barChart(chart, y, layout));
    y += chartHeight(chart, layout) + 12;
  }
  footer.forEach((line, i) => {
    parts.push(
      `<text x="${num(8)}" y="${num(y + 14 + 16 * i)}" class="footer">${escapeXml(line)}</text>`,
    );
  });
  const height = y + 16 * footer.length + 12;
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(layout.width)}" height="${
      num(height)
    }" viewBox="0 0 ${num(layout.width)} ${num(height)}" font-family="sans-serif" font-size="12">`,
    `<style>` +
    `.title{font-size:15px;font-weight:bold}.heading{font-weight:bold;fill:#333}` +
    `.label{text-anchor:end}.value{fill:#222}.tick{text-anchor:middle;fill:#555;font-size:10px}` +
    `.unit{text-anchor:middle;fill:#555}.grid{stroke:#ddd}.axis{stroke:#333}` +
    `.footer{fill:#555;font-size:11px}.break{stroke:#fff;stroke-width:2.5;fill:none}.doc{font-size:17px;font-weight:bold}` +
    `</style>`,
    `<rect x="0" y="0" width="${num(layout.width)}" height="${num(height)}" fill="#fff"/>`,
    `<text x="8" y="22" class="doc">${escapeXml(title)}</text>`,
    ...parts,
    `</svg>`,
    "",
  ].join("\n");
}
