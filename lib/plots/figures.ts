/**
 * The project's figures (SPEC section 6), each a function from plain data (metrics lines, HAAT
 * diagnostics, measured errors) to an SVG `Figure`. Series are labelled at their ends instead of
 * with a legend, so that each figure is one self-contained SVG.
 *
 * @module
 */
import { type Figure, Plot, render } from "./figure.ts";

/** A named series of epoch metrics, e.g. the lines of one run's metrics.jsonl. */
export interface RunMetrics {
  name: string;
  epochs: { epoch: number; valClean: number; valPgd: number; loss?: number }[];
}

/**
 * Text marks naming each series at its last point. Labels whose lines end within a label's height of
 * each other are pushed apart vertically (in pixels, for a plot of the default 400 px height), so
 * that they stay legible.
 */
function endLabels<T extends Record<string, unknown>>(rows: T[], x: keyof T, y: keyof T, z: keyof T, logY = false) {
  const names = [...new Set(rows.map((r) => String(r[z])))];
  const value = (v: unknown) => (logY ? Math.log10(Number(v)) : Number(v));
  const ys = rows.map((r) => value(r[y])).filter(Number.isFinite);
  const span = Math.max(...ys) - Math.min(...ys) || 1;
  const pixelsPerUnit = 350 / span; // the default plot area, top to bottom
  const ends = names.map((name) => {
    const own = rows.filter((r) => String(r[z]) === name);
    return { name, rows: own, pixel: -value(own[own.length - 1][y]) * pixelsPerUnit };
  }).sort((a, b) => a.pixel - b.pixel);
  const gap = 11;
  const placed: number[] = [];
  for (const [i, end] of ends.entries()) placed.push(i === 0 ? end.pixel : Math.max(end.pixel, placed[i - 1] + gap));
  return ends.map((end, i) =>
    Plot.text(
      end.rows,
      Plot.selectLast({
        x: x as string,
        y: y as string,
        text: z as string,
        dx: 4,
        dy: placed[i] - end.pixel,
        textAnchor: "start",
      }),
    )
  );
}

/**
 * Fig. 1 / Fig. 3 of the paper: validation clean and PGD accuracy against epoch, one line per run and
 * metric.
 *
 * @param runs Runs to compare.
 * @param title Figure title.
 * @returns The figure.
 */
export function accuracyCurves(runs: RunMetrics[], title = "Accuracy against epoch"): Figure {
  const rows = runs.flatMap((run) =>
    run.epochs.flatMap((e) => [
      { epoch: e.epoch, accuracy: 100 * e.valClean, series: `${run.name} clean` },
      { epoch: e.epoch, accuracy: 100 * e.valPgd, series: `${run.name} PGD` },
    ])
  );
  return render({
    title,
    marginRight: 110,
    x: { label: "epoch", tickFormat: "d" },
    y: { label: "validation accuracy (%)", grid: true },
    color: { type: "categorical" },
    marks: [
      Plot.lineY(rows, { x: "epoch", y: "accuracy", stroke: "series", marker: "dot" }),
      endLabels(rows, "epoch", "accuracy", "series"),
    ],
  });
}

/**
 * Fig. 2 of the paper: a grid of robust accuracy (or any score) over xi and k, as a heatmap with the
 * value in each cell.
 *
 * @param cells `{ xi, k, value }` rows; value in [0, 1].
 * @param title Title.
 * @param label What the value is.
 * @returns The figure.
 */
export function xiKGrid(cells: { xi: number; k: number; value: number }[], title: string, label: string): Figure {
  const rows = cells.map((c) => ({ xi: c.xi.toExponential(0), k: String(c.k), value: 100 * c.value }));
  const ks = [...new Set(rows.map((r) => r.k))];
  return render({
    title,
    height: 60 + 50 * ks.length,
    marginLeft: 60,
    x: { label: "xi (finite-difference step)", domain: [...new Set(rows.map((r) => r.xi))] },
    y: { label: "k (power-iteration steps)", domain: ks },
    color: { scheme: "blues", label },
    marks: [
      Plot.cell(rows, { x: "xi", y: "k", fill: "value", inset: 1 }),
      Plot.text(rows, { x: "xi", y: "k", text: (d: { value: number }) => `${d.value.toFixed(1)}%`, fill: "black" }),
    ],
  });
}

/**
 * Fig. 5 of the paper: |u_j - u_{j-1}|_2 at the power steps of the last attack step, one line per k
 * (averaged over examples).
 *
 * @param series `{ k, diffs }`, diffs[j] for power step j + 1.
 * @param title Title.
 * @returns The figure.
 */
export function powerStepDifferences(series: { k: number; diffs: number[] }[], title: string): Figure {
  const rows = series.flatMap((s) => s.diffs.map((d, j) => ({ step: j + 1, diff: d, series: `k = ${s.k}` })));
  return render({
    title,
    marginRight: 60,
    x: { label: "power-iteration step j", tickFormat: "d" },
    y: { label: "|u_j - u_(j-1)|_2", grid: true },
    marks: [
      Plot.lineY(rows, { x: "step", y: "diff", stroke: "series", marker: "dot" }),
      endLabels(rows, "step", "diff", "series"),
    ],
  });
}

/**
 * The float32 limit of finite differences: relative error of the Hessian-vector product against
 * the exact one, over xi, log-log, one line per method, with the exact product's own error as a
 * reference line.
 *
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
  return render({
    title,
    marginRight: 70,
    x: { type: "log", label: "xi" },
    y: { type: "log", label: "relative error of Hv", grid: true },
    marks: [
      Plot.ruleY([Math.max(exactError, 1e-9)], { stroke: "gray", strokeDasharray: "4 3" }),
      Plot.text([{ y: Math.max(exactError, 1e-9) }], {
        x: Math.min(...rows.map((r) => r.xi)),
        y: "y",
        text: () => exactError < 1e-9 ? "exact (double backprop): error 0, drawn at 1e-9" : "exact (double backprop)",
        dy: -6,
        textAnchor: "start",
        fill: "gray",
      }),
      Plot.lineY(rows, { x: "xi", y: "error", stroke: "method", marker: "dot" }),
      endLabels(rows, "xi", "error", "method", true),
    ],
  });
}

/**
 * Power-iteration convergence: the measured |cos(u_k, v_1)| error (1 - |cos|) or step difference
 * against k, with the rate (lambda2 / lambda1)^k that the spectral gap predicts.
 *
 * @param measured `{ k, value }` measured values.
 * @param ratio lambda2 / lambda1.
 * @param title Title.
 * @param label What `value` is.
 * @returns The figure.
 */
export function convergenceAgainstRate(
  measured: { k: number; value: number }[],
  ratio: number,
  title: string,
  label: string,
): Figure {
  const scale = measured[0].value / ratio ** measured[0].k;
  const predicted = measured.map((m) => ({ k: m.k, value: scale * ratio ** m.k }));
  const rows = [
    ...measured.map((m) => ({ ...m, series: "measured" })),
    ...predicted.map((m) => ({ ...m, series: `C (lambda2/lambda1)^k, ratio ${ratio.toFixed(3)}` })),
  ];
  return render({
    title,
    marginRight: 200,
    x: { label: "power-iteration step k", tickFormat: "d" },
    y: { type: "log", label, grid: true },
    marks: [
      Plot.lineY(rows, { x: "k", y: "value", stroke: "series", marker: "dot" }),
      endLabels(rows, "k", "value", "series", true),
    ],
  });
}

/**
 * Bars of the top eigenvalues of an input Hessian, one group per example.
 *
 * @param rows `{ example, index, value }`.
 * @param title Title.
 * @returns The figure.
 */
export function eigenvalueBars(rows: { example: string; index: number; value: number }[], title: string): Figure {
  return render({
    title,
    x: { label: "eigenvalue index (1 = largest)" },
    y: { label: "eigenvalue", grid: true },
    fx: { label: "example" },
    marks: [Plot.barY(rows, { fx: "example", x: "index", y: "value", fill: "steelblue" }), Plot.ruleY([0])],
  });
}

/**
 * Grouped bars of accuracies, e.g. clean / PGD-20 / HAAT / AutoAttack per model.
 *
 * @param rows `{ model, metric, accuracy }` (accuracy in [0, 1]).
 * @param title Title.
 * @returns The figure.
 */
export function accuracyBars(rows: { model: string; metric: string; accuracy: number }[], title: string): Figure {
  const data = rows.map((r) => ({ label: `${r.model} · ${r.metric}`, model: r.model, percent: 100 * r.accuracy }));
  return render({
    title,
    height: 40 + 24 * data.length,
    marginLeft: 260,
    marginRight: 50,
    x: { label: "accuracy (%)", grid: true },
    y: { label: null, domain: data.map((d) => d.label) },
    color: { type: "categorical" },
    marks: [
      Plot.barX(data, { y: "label", x: "percent", fill: "model" }),
      Plot.text(data, {
        y: "label",
        x: "percent",
        text: (d: { percent: number }) => d.percent.toFixed(1),
        dx: 4,
        textAnchor: "start",
      }),
      Plot.ruleX([0]),
    ],
  });
}

/**
 * Robust accuracy against eps, one line per model and attack.
 *
 * @param rows `{ eps, accuracy, series }` (eps in [0,1], accuracy in [0,1]).
 * @param title Title.
 * @returns The figure.
 */
export function accuracyAgainstEps(rows: { eps: number; accuracy: number; series: string }[], title: string): Figure {
  const data = rows.map((r) => ({ eps255: r.eps * 255, percent: 100 * r.accuracy, series: r.series }));
  return render({
    title,
    marginRight: 130,
    x: { label: "eps (x 1/255)" },
    y: { label: "robust accuracy (%)", grid: true },
    marks: [
      Plot.lineY(data, { x: "eps255", y: "percent", stroke: "series", marker: "dot" }),
      endLabels(data, "eps255", "percent", "series"),
    ],
  });
}

/**
 * A generic line chart of y against x, one line per series.
 *
 * @param rows `{ x, y, series }`.
 * @param options Title, axis labels, log scales.
 * @returns The figure.
 */
export function lines(
  rows: { x: number; y: number; series: string }[],
  options: { title: string; x: string; y: string; logX?: boolean; logY?: boolean },
): Figure {
  return render({
    title: options.title,
    marginRight: 110,
    x: { label: options.x, ...(options.logX ? { type: "log" } : {}) },
    y: { label: options.y, grid: true, ...(options.logY ? { type: "log" } : {}) },
    marks: [
      Plot.lineY(rows, { x: "x", y: "y", stroke: "series", marker: "dot" }),
      endLabels(rows, "x", "y", "series", options.logY),
    ],
  });
}
