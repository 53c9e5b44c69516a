/**
 * What the figures share: the colours, the dash patterns, and the legend drawn inside the SVG above the plot.
 *
 * @module
 */
import { type Figure, fromSvg, Plot, render } from "./figure.ts";

/**
 * Plot's default categorical colours ("observable10"), here by index so that legends can repeat them.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { PALETTE } from "./_legend.ts";
 * assert.strictEqual(PALETTE.length, 10);
 * assert.strictEqual(PALETTE[0], "#4269d0");
 * ```
 */
export const PALETTE = [
  "#4269d0",
  "#efb118",
  "#ff725c",
  "#6cc5b0",
  "#3ca951",
  "#ff8ab7",
  "#a463f2",
  "#97bbf5",
  "#9c6b4e",
  "#9498a0",
];

/** Dash patterns for a second grouping of lines (solid, dashed, dotted, dash-dot). */
export const DASHES = ["", "6 3", "2 3", "8 3 2 3"];

/** One legend entry: a colour, optionally a dash pattern, and its label. */
export interface LegendEntry {
  label: string;
  color: string;
  dash?: string;
  /** Colour "none" draws the label alone. Draw a square swatch (bars, cells) instead of a line with a dot. */
  square?: boolean;
}

/**
 * Draws legend entries in rows as SVG, wrapping at `width`; returns the SVG and its height.
 * Widths are estimated at 7 px per character (12 px DejaVu Sans, close for other sans fonts).
 */
function legendSvg(entries: LegendEntry[], width: number): { svg: string; height: number } {
  const rowHeight = 18;
  let x = 0, y = 0;
  const parts: string[] = [];
  for (const e of entries) {
    const w = 30 + 7 * e.label.length + 16;
    if (x > 0 && x + w > width) {
      x = 0;
      y += rowHeight;
    }
    const cy = y + 9;
    if (e.color !== "none") {
      parts.push(
        e.square
          ? `<rect x="${x + 4}" y="${cy - 6}" width="16" height="12" fill="${e.color}"/>`
          : `<line x1="${x}" x2="${x + 24}" y1="${cy}" y2="${cy}" stroke="${e.color}" stroke-width="2"` +
            (e.dash ? ` stroke-dasharray="${e.dash}"` : "") +
            `/><circle cx="${x + 12}" cy="${cy}" r="3" fill="${e.color}"/>`,
      );
    }
    const tx = e.color === "none" ? x : x + 30;
    const label = e.label.replace(/&/g, "&amp;").replace(/</g, "&lt;");
    parts.push(`<text x="${tx}" y="${cy + 4}" font-size="12" fill="black">${label}</text>`);
    x += e.color === "none" ? w - 30 : w;
  }
  return { svg: parts.join(""), height: y + rowHeight + 6 };
}

/**
 * Renders plot options with a legend above the plot (below the title).
 *
 * @param options Plot options with `title`.
 * @param entries Legend entries (none: no legend).
 * @returns The figure.
 */
export function withLegend(options: Plot.PlotOptions & { title?: string }, entries: LegendEntry[]): Figure {
  if (entries.length === 0) return render(options);
  const width = (options.width as number | undefined) ?? 640;
  const legend = legendSvg(entries, width - 10);
  const figure = render({ ...options, title: undefined } as Plot.PlotOptions);
  const title = options.title ?? "";
  const top = (title ? 28 : 0) + legend.height;
  const inner = figure.svg.replace(/^<svg[^>]*>/, "").replace(/<\/svg>$/, "");
  const escaped = title.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${figure.width}" height="${figure.height + top}" ` +
    `viewBox="0 0 ${figure.width} ${figure.height + top}" font-family="system-ui, sans-serif">` +
    `<rect width="${figure.width}" height="${figure.height + top}" fill="white"/>` +
    (title ? `<text x="4" y="18" font-size="14" font-weight="bold" fill="black">${escaped}</text>` : "") +
    `<g transform="translate(5, ${title ? 28 : 0})">${legend.svg}</g>` +
    `<g transform="translate(0, ${top})">${inner}</g></svg>`;
  return fromSvg(svg, title);
}

/** Names in order of first appearance. */
export function distinct(values: string[]): string[] {
  return [...new Set(values)];
}
