/**
 * The project's figures (SPEC section 6) of training and evaluation, each a function from plain data
 * (metrics lines, accuracies) to an SVG `Figure`; the Hessian and HAAT diagnostics are in
 * hessian_figures.ts. Series are named in a legend drawn inside the SVG, above the plot (labels at the
 * lines' ends collide where lines end close together); a series keeps its colour across figures when it
 * keeps its name, because colours follow the order of first appearance and the figures of one notebook
 * list their series in one order.
 *
 * @module
 */
import { type Figure, logTick, Plot } from "./figure.ts";
import { DASHES, distinct, type LegendEntry, PALETTE, withLegend } from "./_legend.ts";

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
  // Integer ticks only (epochs, steps): about ten of them, never a fraction formatted as an integer.
  const xs = rows.map((r) => r.x);
  const [lo, hi] = [Math.ceil(Math.min(...xs)), Math.floor(Math.max(...xs))];
  const every = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000].find((step) => (hi - lo) / step <= 10) ??
    Math.ceil((hi - lo) / 10);
  const first = Math.ceil(lo / every) * every;
  const integerTicks = Array.from({ length: Math.floor((hi - first) / every) + 1 }, (_, i) => first + i * every);
  const axis = (label: string, log?: boolean, integer?: boolean) => ({
    label,
    ...(log ? { type: "log" as const, tickFormat: logTick } : {}),
    ...(integer ? { ticks: integerTicks, tickFormat: "d" } : {}),
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
 * import assert from "node:assert";
 * import { accuracyCurves } from "./figures.ts";
 * const figure = accuracyCurves([{ name: "r", epochs: [{ epoch: 1, valClean: 0.2, valPgd: 0.1 }] }]);
 * assert.strictEqual(figure.title, "Accuracy against epoch");
 * assert.ok(figure.svg.includes(">clean</text>") && figure.svg.includes(">PGD</text>")); // the legend
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
 * import assert from "node:assert";
 * import { accuracyAgainstEps } from "./figures.ts";
 * const figure = accuracyAgainstEps([{ eps: 0, accuracy: 0.5, model: "m", attack: "PGD-20" }], "t");
 * assert.strictEqual(figure.title, "t");
 * assert.ok(figure.svg.includes("robust accuracy (%)"));
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
