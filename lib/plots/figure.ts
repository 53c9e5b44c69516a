/**
 * Observable Plot, rendered to SVG text without a browser: Plot draws into a `document` made by
 * linkedom. A `Figure` holds the SVG; `show()` (in `display.ts`) sends it to a Deno Jupyter notebook
 * as SVG and as PNG, and scripts write `figure.svg` or `svgToPng(figure.svg)` to a file.
 *
 * @module
 */
import { parseHTML, Plot } from "./npm.ts";
import { svgToPng, toBase64 } from "./png.ts";

export { Plot };

/** An SVG figure. */
export interface Figure {
  /** The SVG document text. */
  svg: string;
  /** Width in SVG units (CSS pixels). */
  width: number;
  /** Height in SVG units (CSS pixels). */
  height: number;
  /** The title, also drawn inside the SVG. */
  title: string;
  /**
   * Jupyter display hook (the kernel calls it on a cell's last value): the SVG as `image/svg+xml`
   * and a PNG of it at scale 1 as `image/png`, for views that drop SVG (untrusted notebooks).
   */
  [key: symbol]: () => Promise<Record<string, string>>;
}

/** Escapes text for an SVG text node or attribute. */
function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");
}

/**
 * Tick labels for a log axis in plain numbers: 0.1, 1, 10 between 1e-3 and 1e4, and 1e-9 style
 * outside (Plot's default SI prefixes print 100m and 1n).
 *
 * @example
 * ```ts
 * import { logTick } from "./figure.ts";
 * if (logTick(0.1) !== "0.1" || logTick(1e-9) !== "1e-9" || logTick(2.5e-7) !== "2.5e-7") throw new Error();
 * ```
 * @param value The tick value.
 * @returns Its label.
 */
export function logTick(value: number): string {
  if (value === 0 || !Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 1e-3 && magnitude < 1e4) return String(Number(value.toPrecision(3)));
  return value.toExponential().replace(/\.?0+e/, "e").replace("e+", "e");
}

/**
 * Renders Observable Plot options to a `Figure`. A `title` option is drawn inside the SVG, bold, above
 * the plot; a legend's swatches, which Plot writes as HTML around the chart, are dropped (label the
 * series in the plot instead).
 *
 * @example
 * ```ts
 * import { Plot, render } from "./figure.ts";
 * const figure = render({ title: "t", marks: [Plot.dot([{ x: 1, y: 2 }], { x: "x", y: "y" })] });
 * if (!figure.svg.startsWith("<svg")) throw new Error("no SVG");
 * ```
 * @param options `Plot.plot` options (without `document`), plus `title`.
 * @returns The figure.
 */
export function render(options: Plot.PlotOptions): Figure {
  const { title, ...rest } = options as Plot.PlotOptions & { title?: string };
  const { document } = parseHTML("<!doctype html><html><body></body></html>") as unknown as { document: unknown };
  const node = Plot.plot({ ...rest, document } as Plot.PlotOptions) as unknown as { outerHTML: string };
  let svg = node.outerHTML;
  if (svg.startsWith("<figure")) {
    // A legend makes Plot wrap the chart in <figure>; keep the chart's own <svg> elements.
    svg = (svg.match(/<svg[\s\S]*?<\/svg>/g) ?? []).join("\n");
  }
  const width = Number(svg.match(/width="(\d+)"/)?.[1] ?? 640);
  const height = Number(svg.match(/height="(\d+)"/)?.[1] ?? 400);
  // The title goes into the SVG itself (Plot would put it in an HTML <figure> around it).
  const top = title ? 28 : 0;
  svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height + top}" ` +
    `viewBox="0 0 ${width} ${height + top}" font-family="system-ui, sans-serif">` +
    `<rect width="${width}" height="${height + top}" fill="white"/>` +
    (title ? `<text x="4" y="18" font-size="14" font-weight="bold" fill="black">${escapeXml(title)}</text>` : "") +
    `<g transform="translate(0, ${top})">${svg}</g></svg>`;
  return fromSvg(svg, title ?? "");
}

/**
 * Wraps finished SVG text (with `width` and `height` attributes on its root) as a `Figure`.
 *
 * @example
 * ```ts
 * import { fromSvg } from "./figure.ts";
 * const f = fromSvg('<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"></svg>', "t");
 * if (f.width !== 20 || f.height !== 10) throw new Error();
 * ```
 * @param svg The SVG document.
 * @param title The figure's title.
 * @returns The figure.
 * @throws {Error} If the root element has no numeric width and height.
 */
export function fromSvg(svg: string, title: string): Figure {
  const root = svg.match(/^<svg[^>]*>/)?.[0] ?? "";
  const width = Number(root.match(/ width="([\d.]+)"/)?.[1]);
  const height = Number(root.match(/ height="([\d.]+)"/)?.[1]);
  if (!(width > 0 && height > 0)) {
    throw new Error(
      `Cannot make a figure as the SVG root needs a width and a height: current root is ${root.slice(0, 80)}`,
    );
  }
  return {
    svg,
    width,
    height,
    title,
    [Symbol.for("Jupyter.display")]: async () => ({
      "image/svg+xml": svg,
      "image/png": toBase64(await svgToPng(svg, { scale: 1 })),
    }),
  };
}

/**
 * Sets figures side by side, left to right, in one figure (tops aligned, `gap` pixels apart): a cost
 * figure beside an accuracy figure, say. Each keeps its own scales and title.
 *
 * @example
 * ```ts
 * import { beside, fromSvg } from "./figure.ts";
 * const a = fromSvg('<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"></svg>', "a");
 * const b = fromSvg('<svg xmlns="http://www.w3.org/2000/svg" width="30" height="40"></svg>', "b");
 * const both = beside([a, b], { gap: 5 });
 * if (both.width !== 55 || both.height !== 40 || both.title !== "a | b") throw new Error();
 * ```
 * @param figures The figures, at least one.
 * @param options `gap` between figures in pixels (default 24); `title` of the whole (default: the titles joined
 *   by " | "; it is not drawn, each figure draws its own).
 * @returns One figure as wide as the figures and the gaps, as tall as the tallest.
 * @throws {Error} If no figure is given.
 */
export function beside(figures: Figure[], options: { gap?: number; title?: string } = {}): Figure {
  if (figures.length === 0) throw new Error("Cannot set figures side by side as none was given");
  const gap = options.gap ?? 24;
  const height = Math.max(...figures.map((f) => f.height));
  let x = 0;
  const parts = figures.map((f) => {
    const part = `<g transform="translate(${x}, 0)">${f.svg}</g>`;
    x += f.width + gap;
    return part;
  });
  const width = x - gap;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif">` +
    `<rect width="${width}" height="${height}" fill="white"/>${parts.join("")}</svg>`;
  return fromSvg(svg, options.title ?? figures.map((f) => f.title).join(" | "));
}
