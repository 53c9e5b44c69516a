/**
 * The project's figures (SPEC section 6), each a function from plain data (metrics lines, HAAT
 * diagnostics, measured errors) to an SVG `Figure`. Series are named in a legend drawn inside the
 * SVG, above the plot (labels at the lines' ends collide where lines end close together); a series
 * keeps its colour across figures when it keeps its name, because colours follow the order of first
 * appearance and the figures of one notebook list their series in one order.
 *
 * @module
 */
import { type Figure, fromSvg, logTick, Plot, render } from "./figure.ts";

/** Plot's default categorical colours ("observable10"), here by index so that legends can repeat them. */
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
const DASHES = ["", "6 3", "2 3", "8 3 2 3"];

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
function withLegend(options: Plot.PlotOptions & { title?: string }, entries: LegendEntry[]): Figure {
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
function distinct(values: string[]): string[] {
  return [...new Set(values)];
}

/** Options of `lines`. */
export interface LinesOptions {
  /** Title, drawn in the figure. */
  title: string;
  /** x-axis label. */
  x: string;
  /** y-axis label. */
  y: string;
  /** Log x axis (ticks as 0.1, 1e-9). @default {false} */
  logX?: boolean;
  /** Log y axis (ticks as 0.1, 1e-9). @default {false} */
  logY?: boolean;
  /** Integer x ticks. @default {false} */
  integerX?: boolean;
  /** A dashed gray horizontal reference line, with its legend label. */
  reference?: { y: number; label: string };
  /** One more legend line, e.g. to say what is not drawn. */
  note?: string;
}

/**
 * A line chart of y against x: one colour per `series`, one dash pattern per `style` (e.g. colour =
 * run, dash = metric), each point marked, with a legend above.
 *
 * @example
 * ```ts
 * import { lines } from "./figures.ts";
 * const f = lines([{ x: 1, y: 2, series: "a" }, { x: 2, y: 3, series: "a" }], { title: "t", x: "x", y: "y" });
 * if (!f.svg.includes("<path")) throw new Error("no line");
 * ```
 * @param rows `{ x, y, series, style? }`.
 * @param options Title, axis labels, log scales, a reference line.
 * @returns The figure.
 */
export function lines(rows: { x: number; y: number; series: string; style?: string }[], options: LinesOptions): Figure {
  const series = distinct(rows.map((r) => r.series));
  const styles = distinct(rows.map((r) => r.style ?? ""));
  const color = (s: string) => PALETTE[series.indexOf(s) % PALETTE.length];
  const marks: Plot.Markish[] = [];
  if (options.reference) {
    marks.push(Plot.ruleY([options.reference.y], { stroke: "gray", strokeDasharray: "4 3" }));
  }
  for (const [i, style] of styles.entries()) {
    const own = rows.filter((r) => (r.style ?? "") === style);
    const dash = DASHES[i % DASHES.length];
    marks.push(
      Plot.lineY(own, {
        x: "x",
        y: "y",
        z: "series",
        stroke: (d: { series: string }) => color(d.series),
        strokeWidth: 2,
        ...(dash ? { strokeDasharray: dash } : {}),
      }),
      Plot.dot(own, { x: "x", y: "y", fill: (d: { series: string }) => color(d.series), r: 3 }),
    );
  }
  // One unstyled series needs no legend: the title and the axes name it.
  const legend: LegendEntry[] = series.length > 1 || styles.length > 1
    ? series.map((s) => ({ label: s, color: color(s) }))
    : [];
  if (styles.length > 1) {
    styles.forEach((s, i) => legend.push({ label: s, color: "#555", dash: DASHES[i % DASHES.length] }));
  }
  if (options.reference) legend.push({ label: options.reference.label, color: "gray", dash: "4 3" });
  if (options.note) legend.push({ label: options.note, color: "none" });
  const axis = (label: string, log?: boolean, integer?: boolean) => ({
    label,
    ...(log ? { type: "log" as const, tickFormat: logTick } : {}),
    ...(integer ? { tickFormat: "d" } : {}),
  });
  return withLegend({
    title: options.title,
    marginRight: 30,
    marginLeft: 55,
    x: axis(options.x, options.logX, options.integerX),
    y: { ...axis(options.y, options.logY), grid: true },
    marks,
  }, legend);
}

/** A named series of epoch metrics, e.g. the lines of one run's metrics.jsonl. */
export interface RunMetrics {
  name: string;
  epochs: { epoch: number; valClean: number; valPgd: number; loss?: number }[];
}

/**
 * Fig. 1 / Fig. 3 of the paper: validation clean and PGD accuracy (in %) against epoch; colour = run,
 * solid = clean, dashed = PGD.
 *
 * @example
 * ```ts
 * import { accuracyCurves } from "./figures.ts";
 * accuracyCurves([{ name: "r", epochs: [{ epoch: 1, valClean: 0.2, valPgd: 0.1 }] }]);
 * ```
 * @param runs Runs to compare.
 * @param title Figure title.
 * @param pgdLabel The name of the robust metric.
 * @returns The figure.
 */
export function accuracyCurves(
  runs: RunMetrics[],
  title = "Accuracy against epoch",
  pgdLabel = "PGD",
): Figure {
  const rows = runs.flatMap((run) =>
    run.epochs.flatMap((e) => [
      { x: e.epoch, y: 100 * e.valClean, series: run.name, style: "clean" },
      { x: e.epoch, y: 100 * e.valPgd, series: run.name, style: pgdLabel },
    ])
  );
  return lines(rows, { title, x: "epoch", y: "validation accuracy (%)", integerX: true });
}

/** Options of `xiKGrid`. */
export interface GridOptions {
  /** Title. */
  title: string;
  /** What the value is (colour legend). */
  label: string;
  /** Text in each cell. @default {(v) => v.toPrecision(3)} */
  format?: (value: number) => string;
  /** A diverging colour scheme centred on 0 (for differences). @default {false} */
  diverging?: boolean;
}

/**
 * Fig. 2 of the paper: a grid of a score over ξ and k, as a heatmap with the value written in each cell.
 *
 * @example
 * ```ts
 * import { xiKGrid } from "./figures.ts";
 * xiKGrid([{ xi: 1e-6, k: 1, value: 0.3 }], { title: "t", label: "accuracy" });
 * ```
 * @param cells `{ xi, k, value }` rows.
 * @param options Title, label, cell text, colour scheme.
 * @returns The figure.
 */
export function xiKGrid(cells: { xi: number; k: number; value: number }[], options: GridOptions): Figure {
  const format = options.format ?? ((v: number) => v.toPrecision(3));
  const rows = cells.map((c) => ({ xi: logTick(c.xi), k: String(c.k), value: c.value }));
  const ks = distinct(rows.map((r) => r.k));
  const extent = Math.max(...cells.map((c) => Math.abs(c.value))) || 1;
  return withLegend({
    title: options.title,
    height: 70 + 50 * ks.length,
    marginLeft: 60,
    marginBottom: 40,
    x: { label: "ξ (finite-difference step)", domain: distinct(rows.map((r) => r.xi)) },
    y: { label: "k (power steps)", domain: ks },
    color: options.diverging
      ? { type: "linear", scheme: "rdbu", domain: [extent, -extent], label: options.label }
      : { scheme: "blues", label: options.label },
    marks: [
      Plot.cell(rows, { x: "xi", y: "k", fill: "value", inset: 1 }),
      Plot.text(rows, {
        x: "xi",
        y: "k",
        text: (d: { value: number }) => format(d.value),
        fill: "black",
        stroke: "white",
        strokeWidth: 3,
        paintOrder: "stroke",
        fontSize: 12,
      }),
    ],
  }, [{ label: `cell: ${options.label}`, color: "none" }]);
}

/**
 * Fig. 5 of the paper: |u_j − u_(j−1)|₂ at the power steps of the last attack step, one panel per k
 * (the lines coincide where they overlap: the same start vector gives the same first steps).
 *
 * @example
 * ```ts
 * import { powerStepDifferences } from "./figures.ts";
 * powerStepDifferences([{ k: 1, diffs: [1.4] }, { k: 5, diffs: [1.4, 0.5, 0.1, 0.05, 0.01] }], "fig5");
 * ```
 * @param series `{ k, diffs }`, diffs[j] for power step j + 1.
 * @param title Title.
 * @returns The figure.
 */
export function powerStepDifferences(series: { k: number; diffs: number[] }[], title: string): Figure {
  const rows = series.flatMap((s) => s.diffs.map((d, j) => ({ step: j + 1, diff: d, panel: `k = ${s.k}` })));
  const panels = series.map((s) => `k = ${s.k}`);
  const steps = Math.max(...series.map((s) => s.diffs.length));
  return render({
    title,
    marginLeft: 50,
    marginTop: 40,
    fx: { label: null, domain: panels, padding: 0.15 },
    x: {
      label: "power step j",
      domain: [0.5, steps + 0.5],
      ticks: steps > 5 ? [1, 5, 10] : undefined,
      tickFormat: "d",
    },
    y: {
      label: "|u_j − u_(j−1)|₂ (mean over images)",
      grid: true,
      domain: [0, Math.max(1.5, ...rows.map((r) => r.diff))],
    },
    marks: [
      Plot.frame({ stroke: "#ddd" }),
      Plot.lineY(rows, { fx: "panel", x: "step", y: "diff", stroke: PALETTE[0], strokeWidth: 2 }),
      Plot.dot(rows, { fx: "panel", x: "step", y: "diff", fill: PALETTE[0], r: 3 }),
    ],
  });
}

/**
 * The float32 limit of finite differences: relative error of the Hessian-vector product against the
 * closed form, over ξ, log-log, one line per method. The exact product's own error is a dashed
 * reference line when it is above 0; an error of exactly 0 cannot sit on a log axis and is said in
 * the legend instead.
 *
 * @example
 * ```ts
 * import { fdErrorAgainstXi } from "./figures.ts";
 * fdErrorAgainstXi([{ xi: 1e-6, method: "forward", error: 100 }, { xi: 1e-2, method: "forward", error: 0.1 }], 0, "t");
 * ```
 * @param rows `{ xi, method, error }`.
 * @param exactError Relative error of the exact HVP (its float32 floor).
 * @param title Title.
 * @returns The figure.
 */
export function fdErrorAgainstXi(
  rows: { xi: number; method: string; error: number }[],
  exactError: number,
  title: string,
): Figure {
  return lines(rows.map((r) => ({ x: r.xi, y: r.error, series: r.method })), {
    title,
    x: "ξ",
    y: "relative error of Hv",
    logX: true,
    logY: true,
    ...(exactError > 0
      ? { reference: { y: exactError, label: `exact (double backprop): ${exactError.toExponential(1)}` } }
      : { note: "exact (double backprop): error 0, off the log axis" }),
  });
}

/**
 * Power-iteration convergence: the measured sin θ_k against the bound tan θ₀ (λ₂/λ₁)^k, on a log axis.
 * Where the bound holds, the measured line stays below it and, once the other eigenvectors have
 * died out, runs parallel to it.
 *
 * @example
 * ```ts
 * import { convergenceAgainstRate } from "./figures.ts";
 * convergenceAgainstRate([{ k: 1, value: 0.5 }, { k: 2, value: 0.4 }], 0.8, 1, "t", "sin θ_k");
 * ```
 * @param measured `{ k, value }` measured values.
 * @param ratio λ₂/λ₁.
 * @param start The bound's value at k = 0 (tan θ₀).
 * @param title Title.
 * @param label What `value` is.
 * @returns The figure.
 */
export function convergenceAgainstRate(
  measured: { k: number; value: number }[],
  ratio: number,
  start: number,
  title: string,
  label: string,
): Figure {
  return lines([
    ...measured.map((m) => ({ x: m.k, y: m.value, series: `measured ${label}` })),
    ...measured.map((m) => ({
      x: m.k,
      y: start * ratio ** m.k,
      series: `bound tan θ₀ (λ₂/λ₁)^k, λ₂/λ₁ = ${ratio}`,
    })),
  ], { title, x: "power step k", y: label, logY: true, integerX: true });
}

/**
 * Bars of the top eigenvalues of an input Hessian, one group per example.
 *
 * @example
 * ```ts
 * import { eigenvalueBars } from "./figures.ts";
 * eigenvalueBars([{ example: "a", index: 1, value: 2 }], "t");
 * ```
 * @param rows `{ example, index, value }`.
 * @param title Title.
 * @returns The figure.
 */
export function eigenvalueBars(rows: { example: string; index: number; value: number }[], title: string): Figure {
  return render({
    title,
    marginLeft: 60,
    marginTop: 40,
    x: { label: "eigenvalue index (1 = largest)" },
    y: { label: "eigenvalue λ_i", grid: true },
    fx: { label: null },
    marks: [Plot.barY(rows, { fx: "example", x: "index", y: "value", fill: PALETTE[0] }), Plot.ruleY([0])],
  });
}

/**
 * Horizontal bars, one per row, grouped by colour, each with its value written beside it; a row with an
 * `error` gets an error bar from value - error to value + error (for example 1.96 standard errors).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { bars } from "./figures.ts";
 * const figure = bars([{ group: "m", label: "clean", value: 50, error: 2 }], { title: "t", x: "accuracy (%)" });
 * assert.strictEqual(figure.title, "t");
 * ```
 * @param rows `{ group, label, value, error? }`.
 * @param options Title, x-axis label, the text of a value.
 * @returns The figure.
 */
export function bars(
  rows: { group: string; label: string; value: number; error?: number }[],
  options: { title: string; x: string; format?: (value: number) => string },
): Figure {
  const format = options.format ?? ((v: number) => v.toFixed(1));
  const groups = distinct(rows.map((r) => r.group));
  const data = rows.map((r) => ({ ...r, key: `${r.group} · ${r.label}`, error: r.error ?? 0 }));
  const color = (g: string) => PALETTE[groups.indexOf(g) % PALETTE.length];
  const low = Math.min(0, ...data.map((r) => r.value - r.error));
  const high = Math.max(0, ...data.map((r) => r.value + r.error));
  const pad = 0.14 * (high - low || 1);
  // The value is written beyond the bar and its error bar.
  const tip = (d: { value: number; error: number }) => (d.value >= 0 ? d.value + d.error : d.value - d.error);
  return withLegend({
    title: options.title,
    height: 50 + 24 * data.length,
    marginLeft: 8 + 6.5 * Math.max(...data.map((d) => d.label.length)),
    marginRight: 20,
    x: { label: options.x, grid: true, domain: [low < 0 ? low - pad : 0, high > 0 ? high + pad : 0] },
    y: { label: null, domain: data.map((d) => d.key), tickFormat: (k: string) => k.split(" · ").slice(1).join(" · ") },
    marks: [
      Plot.barX(data, { y: "key", x: "value", fill: (d: { group: string }) => color(d.group) }),
      Plot.ruleY(data.filter((d) => d.error > 0), {
        y: "key",
        x1: (d: { value: number; error: number }) => d.value - d.error,
        x2: (d: { value: number; error: number }) => d.value + d.error,
        stroke: "black",
      }),
      Plot.text(data.filter((d) => d.value >= 0), {
        y: "key",
        x: tip,
        text: (d: { value: number }) => format(d.value),
        dx: 4,
        textAnchor: "start",
      }),
      Plot.text(data.filter((d) => d.value < 0), {
        y: "key",
        x: tip,
        text: (d: { value: number }) => format(d.value),
        dx: -4,
        textAnchor: "end",
      }),
      Plot.ruleX([0]),
    ],
  }, groups.length > 1 ? groups.map((g) => ({ label: g, color: color(g), square: true })) : []);
}

/**
 * Robust accuracy (in %) against ε (in 1/255), colour = model, dash = attack.
 *
 * @example
 * ```ts
 * import { accuracyAgainstEps } from "./figures.ts";
 * accuracyAgainstEps([{ eps: 0, accuracy: 0.5, model: "m", attack: "PGD-20" }], "t");
 * ```
 * @param rows `{ eps, accuracy, model, attack }` (eps in [0,1], accuracy in [0,1]).
 * @param title Title.
 * @returns The figure.
 */
export function accuracyAgainstEps(
  rows: { eps: number; accuracy: number; model: string; attack: string }[],
  title: string,
): Figure {
  return lines(
    rows.map((r) => ({ x: r.eps * 255, y: 100 * r.accuracy, series: r.model, style: r.attack })),
    { title, x: "ε (× 1/255)", y: "robust accuracy (%)", integerX: true },
  );
}
