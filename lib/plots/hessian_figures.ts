/**
 * The figures of the Hessian diagnostics and of HAAT's own steps (SPEC section 6): the ξ-k grid (Fig. 2), the
 * power-step differences (Fig. 5), the finite-difference error against ξ, power-iteration convergence and the
 * top eigenvalues. The training and evaluation curves are in figures.ts.
 *
 * @module
 */
import { type Figure, logTick, Plot, render } from "./figure.ts";
import { distinct, PALETTE, withLegend } from "./_legend.ts";
import { lines } from "./figures.ts";

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
 * import assert from "node:assert";
 * import { xiKGrid } from "./hessian_figures.ts";
 * const figure = xiKGrid([{ xi: 1e-6, k: 1, value: 0.3 }], { title: "t", label: "accuracy" });
 * assert.ok(figure.svg.includes(">0.300</text>")); // the value, written in its cell
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
 * import assert from "node:assert";
 * import { powerStepDifferences } from "./hessian_figures.ts";
 * const figure = powerStepDifferences([{ k: 1, diffs: [1.4] }, { k: 5, diffs: [1.4, 0.5, 0.1, 0.05, 0.01] }], "fig5");
 * assert.ok(figure.svg.includes("k = 1") && figure.svg.includes("k = 5")); // one panel per k
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
 * import assert from "node:assert";
 * import { fdErrorAgainstXi } from "./hessian_figures.ts";
 * const rows = [{ xi: 1e-6, method: "forward", error: 100 }, { xi: 1e-2, method: "forward", error: 0.1 }];
 * // An exact error of 0 cannot sit on the log axis: the legend says it instead.
 * assert.ok(fdErrorAgainstXi(rows, 0, "t").svg.includes("exact (double backprop): error 0, off the log axis"));
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
 * import assert from "node:assert";
 * import { convergenceAgainstRate } from "./hessian_figures.ts";
 * const figure = convergenceAgainstRate([{ k: 1, value: 0.5 }, { k: 2, value: 0.4 }], 0.8, 1, "t", "sin θ_k");
 * assert.ok(figure.svg.includes("measured sin θ_k") && figure.svg.includes("λ₂/λ₁ = 0.8"));
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
 * import assert from "node:assert";
 * import { eigenvalueBars } from "./hessian_figures.ts";
 * const figure = eigenvalueBars([{ example: "a", index: 1, value: 2 }], "t");
 * assert.strictEqual(figure.title, "t");
 * assert.ok(figure.svg.includes("eigenvalue λ_i"));
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
