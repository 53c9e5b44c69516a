/**
 * Observable Plot, rendered to SVG text without a browser: Plot draws into a `document` made by
 * linkedom. A `Figure` holds the SVG and shows itself inline in a Deno Jupyter notebook (the kernel
 * calls `Symbol.for("Jupyter.display")` on a cell's last value); scripts write `figure.svg` to a file.
 *
 * @module
 */
import { parseHTML, Plot } from "./npm.ts";

export { Plot };

/** An SVG figure. */
export interface Figure {
  /** The SVG document text. */
  svg: string;
  /** Jupyter display hook: the SVG as `image/svg+xml`. */
  [key: symbol]: () => Record<string, string>;
}

/**
 * Renders Observable Plot options to a `Figure`.
 *
 * @param options `Plot.plot` options (without `document`).
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
  const escaped = (title ?? "").replace(/&/g, "&amp;").replace(/</g, "&lt;");
  svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height + top}" ` +
    `viewBox="0 0 ${width} ${height + top}" font-family="system-ui, sans-serif">` +
    (title ? `<text x="0" y="18" font-size="14" font-weight="bold" fill="black">${escaped}</text>` : "") +
    `<g transform="translate(0, ${top})">${svg}</g></svg>`;
  return {
    svg,
    [Symbol.for("Jupyter.display")]: () => ({ "image/svg+xml": svg }),
  };
}

/**
 * Shows a figure in a Deno Jupyter notebook and waits until the kernel has sent it (returning a
 * figure as a cell's last value also shows it, but the kernel may then publish it after the cell
 * ends, which a headless run can miss). Outside Jupyter it does nothing.
 *
 * @param figure The figure.
 */
export async function show(figure: Figure): Promise<void> {
  let jupyter: { display(data: unknown, options: { raw: boolean }): Promise<void> } | undefined;
  try {
    jupyter = (Deno as unknown as { jupyter: typeof jupyter }).jupyter; // a getter that throws outside the kernel
  } catch {
    return;
  }
  if (jupyter) await jupyter.display({ "image/svg+xml": figure.svg }, { raw: true });
}
