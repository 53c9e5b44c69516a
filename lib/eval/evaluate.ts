/**
 * Evaluation (SPEC section 5): clean accuracy and PGD-20 accuracy (and HAAT accuracy on request), with
 * checks of each attack's own output (inside B(x0, eps) and [0,1]) before anything is reported.
 *
 * @module
 */
import { backendInfo, tf } from "../backend.ts";
import { batches, toTensors } from "../data/batches.ts";
import type { Dataset } from "../data/cifar10.ts";
import type { Classifier } from "../models/resnet18.ts";
import { pgd } from "../attacks/pgd.ts";
import { haat, type HaatOptions } from "../attacks/haat.ts";
import { apgd } from "../attacks/apgd.ts";
import { assertInBall } from "../attacks/project.ts";
import { autoAttack, type AutoAttackOptions } from "../attacks/autoattack.ts";

/**
 * Accuracy: the share of examples whose highest logit is the label, computed in batches.
 *
 * @param f Classifier.
 * @param x Images NHWC in [0,1].
 * @param y int32 labels.
 * @param options `batchSize` (default 256).
 * @returns A number in [0, 1].
 */
export function accuracy(f: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, options: { batchSize?: number } = {}): number {
  return correctCount(f, x, y, options.batchSize ?? 256) / x.shape[0];
}

/** Number of examples whose argmax logit equals the label. */
function correctCount(f: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, batchSize: number): number {
  let correct = 0;
  for (let start = 0; start < x.shape[0]; start += batchSize) {
    const size = Math.min(batchSize, x.shape[0] - start);
    const c = tf.tidy(() => {
      const xb = tf.slice(x, [start, 0, 0, 0], [size, -1, -1, -1]);
      const yb = tf.slice(y, [start], [size]);
      return tf.sum(tf.cast(tf.equal(tf.argMax(f(xb), 1), yb), "int32"));
    });
    correct += c.dataSync()[0];
    c.dispose();
  }
  return correct;
}

/** Options of `evaluate`. */
export interface EvaluateOptions {
  /** Evaluate the first n images. @default all */
  n?: number;
  /** Linf radius of the PGD evaluation. @default 8/255 (the paper) */
  eps?: number;
  /** PGD steps. @default 20 (PGD-20, SPEC section 5) */
  pgdSteps?: number;
  /** PGD step size. @default 2/255 */
  alpha?: number;
  /** Batch size. @default 128 */
  batchSize?: number;
  /** Seed of PGD's random start. @default 0 */
  seed?: number;
  /** Also attack with HAAT (SPEC section 1) with these options (eps is `eps`); omit for PGD only. */
  haat?: Omit<HaatOptions, "eps">;
  /**
   * AutoAttack on the first `n` images (SPEC section 5), or omit. `budgets` shortens the attacks
   * (for quick looks only; a report says so).
   */
  autoattack?: { version?: "standard" | "fast"; n?: number; budgets?: AutoAttackOptions["budgets"] };
  /**
   * Robust accuracy against each eps (PGD-20 and APGD-CE) on the first `n` images; SPEC: eps in
   * {0, 2, 4, 6, 8, 10, 12, 16}/255. Omit for none.
   */
  sweep?: { eps: number[]; n?: number };
  /** Print progress lines. @default false */
  verbose?: boolean;
}

/** One row of the eps sweep. */
export interface SweepRow {
  eps: number;
  pgd: number;
  apgdCe: number;
}

/** Per-class clean and PGD accuracy. */
export interface ClassRow {
  label: number;
  name: string;
  n: number;
  clean: number;
  pgd: number;
}

/** What `evaluate` measured. */
export interface EvaluationReport {
  n: number;
  eps: number;
  pgdSteps: number;
  clean: number;
  pgd: number;
  /** HAAT accuracy and its settings, when `options.haat` was given. */
  haat?: { accuracy: number; steps: number; k: number; xi: number };
  /** Clean and PGD accuracy per class. */
  perClass: ClassRow[];
  /** AutoAttack, when asked for. */
  autoattack?: {
    version: "standard" | "fast";
    n: number;
    clean: number;
    robust: number;
    perAttack: { attack: string; robustAccuracy: number; seconds: number }[];
    budgets?: AutoAttackOptions["budgets"];
  };
  /** The eps sweep, when asked for. */
  sweep?: { n: number; rows: SweepRow[] };
  seconds: number;
  backend: string;
}

/**
 * Clean and PGD accuracy of a classifier on a dataset; checks that every PGD image lies in the
 * eps-ball and in [0,1] before it reports.
 *
 * @param f Classifier (put a model in eval mode first).
 * @param dataset Test images.
 * @param options See `EvaluateOptions`.
 * @returns The report.
 * @throws {Error} If an attack output leaves the eps-ball or [0,1].
 */
export function evaluate(f: Classifier, dataset: Dataset, options: EvaluateOptions = {}): EvaluationReport {
  const n = Math.min(options.n ?? dataset.size, dataset.size);
  const eps = options.eps ?? 8 / 255, steps = options.pgdSteps ?? 20, alpha = options.alpha ?? 2 / 255;
  const batchSize = options.batchSize ?? 128;
  const data = n === dataset.size ? dataset : { ...dataset, size: n };
  const haatOptions = options.haat ? { steps: 10, k: 5, xi: 1e-6, ...options.haat, eps } : undefined;
  const t0 = performance.now();
  let clean = 0, robust = 0, robustHaat = 0, seen = 0;
  const classes = dataset.classNames.length;
  const perClassCounts = Array.from({ length: classes }, () => ({ n: 0, clean: 0, pgd: 0 }));
  for (const { x, y, indices } of batches(data, { batchSize })) {
    const cleanHits = hits(f, x, y);
    clean += cleanHits.filter(Boolean).length;
    const seed = (options.seed ?? 0) + seen;
    const xAdv = pgd(f, x, y, { eps, alpha, steps, seed });
    assertInBall("PGD", xAdv, x, eps);
    const pgdHits = hits(f, xAdv, y);
    robust += pgdHits.filter(Boolean).length;
    indices.forEach((index, j) => {
      const row = perClassCounts[dataset.labels[index]];
      row.n++;
      if (cleanHits[j]) row.clean++;
      if (pgdHits[j]) row.pgd++;
    });
    xAdv.dispose();
    if (haatOptions) {
      const xHaat = haat(f, x, y, { ...haatOptions, seed });
      assertInBall("HAAT", xHaat, x, eps);
      robustHaat += correctCount(f, xHaat, y, batchSize);
      xHaat.dispose();
    }
    seen += x.shape[0];
    tf.dispose([x, y]);
    if (options.verbose) {
      const pct = (v: number) => `${(100 * v / seen).toFixed(1)}%`;
      const haatText = haatOptions ? `  HAAT-${haatOptions.steps} ${pct(robustHaat)}` : "";
      console.log(`  evaluate ${seen}/${n}: clean ${pct(clean)}  PGD-${steps} ${pct(robust)}${haatText}`);
    }
  }
  const perClass = perClassCounts.map((row, label) => ({
    label,
    name: dataset.classNames[label],
    n: row.n,
    clean: row.n > 0 ? row.clean / row.n : 0,
    pgd: row.n > 0 ? row.pgd / row.n : 0,
  }));
  const report: EvaluationReport = {
    n,
    eps,
    pgdSteps: steps,
    clean: clean / n,
    pgd: robust / n,
    ...(haatOptions
      ? { haat: { accuracy: robustHaat / n, steps: haatOptions.steps, k: haatOptions.k, xi: haatOptions.xi } }
      : {}),
    perClass,
    seconds: 0,
    backend: backendInfo().name,
  };
  if (options.autoattack) {
    const m = Math.min(options.autoattack.n ?? 100, dataset.size);
    const version = options.autoattack.version ?? "standard";
    const { x, y } = toTensors(dataset, Array.from({ length: m }, (_, i) => i));
    if (options.verbose) console.log(`  AutoAttack (${version}) on ${m} images, eps ${(eps * 255).toFixed(1)}/255`);
    const result = autoAttack(f, x, y, {
      version,
      eps,
      seed: options.seed ?? 0,
      batchSize,
      verbose: options.verbose,
      budgets: options.autoattack.budgets,
    });
    report.autoattack = {
      version,
      n: m,
      clean: result.cleanAccuracy,
      robust: result.robustAccuracy,
      perAttack: result.perAttack,
      ...(options.autoattack.budgets ? { budgets: options.autoattack.budgets } : {}),
    };
    tf.dispose([x, y, result.x]);
  }
  if (options.sweep) {
    const m = Math.min(options.sweep.n ?? n, dataset.size);
    const { x, y } = toTensors(dataset, Array.from({ length: m }, (_, i) => i));
    const rows: SweepRow[] = [];
    for (const e of options.sweep.eps) {
      if (e === 0) {
        const acc = accuracy(f, x, y, { batchSize });
        rows.push({ eps: 0, pgd: acc, apgdCe: acc });
        continue;
      }
      let pgdHits = 0, apgdHits = 0;
      for (let s0 = 0; s0 < m; s0 += batchSize) {
        const size = Math.min(batchSize, m - s0);
        const xb = tf.slice(x, [s0, 0, 0, 0], [size, -1, -1, -1]), yb = tf.slice(y, [s0], [size]);
        const xPgd = pgd(f, xb, yb, { eps: e, alpha: e / 4, steps, seed: (options.seed ?? 0) + s0 });
        const xApgd = apgd(f, xb, yb, { eps: e, loss: "ce", seed: (options.seed ?? 0) + s0 });
        assertInBall("PGD", xPgd, xb, e);
        assertInBall("APGD-CE", xApgd, xb, e);
        pgdHits += correctCount(f, xPgd, yb, batchSize);
        apgdHits += correctCount(f, xApgd, yb, batchSize);
        tf.dispose([xb, yb, xPgd, xApgd]);
      }
      rows.push({ eps: e, pgd: pgdHits / m, apgdCe: apgdHits / m });
      if (options.verbose) {
        console.log(
          `  sweep eps ${(e * 255).toFixed(1)}/255: PGD-${steps} ${(100 * pgdHits / m).toFixed(1)}%  ` +
            `APGD-CE ${(100 * apgdHits / m).toFixed(1)}%`,
        );
      }
    }
    report.sweep = { n: m, rows };
    tf.dispose([x, y]);
  }
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}

/** Per example: is the argmax logit the label? */
function hits(f: Classifier, x: tf.Tensor4D, y: tf.Tensor1D): boolean[] {
  const t = tf.tidy(() => tf.equal(tf.argMax(f(x), 1), y));
  const out = Array.from(t.dataSync(), Boolean);
  t.dispose();
  return out;
}

/**
 * A Markdown table of a report.
 *
 * @param report From `evaluate`.
 * @returns Markdown text.
 */
export function reportTable(report: EvaluationReport): string {
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  const e255 = (e: number) => `${(e * 255).toFixed(0)}/255`;
  const lines = [
    "| metric | accuracy |",
    "| --- | --- |",
    `| clean (n = ${report.n}) | ${pct(report.clean)} |`,
    `| PGD-${report.pgdSteps}, Linf eps = ${e255(report.eps)} | ${pct(report.pgd)} |`,
  ];
  if (report.haat) {
    lines.push(
      `| HAAT-${report.haat.steps} (k = ${report.haat.k}, xi = ${report.haat.xi}), Linf eps = ${e255(report.eps)} | ${
        pct(report.haat.accuracy)
      } |`,
    );
  }
  if (report.autoattack) {
    const a = report.autoattack;
    const shortened = a.budgets ? `, shortened budgets ${JSON.stringify(a.budgets)}` : "";
    lines.push(
      `| AutoAttack ${a.version} (n = ${a.n}${shortened}), Linf eps = ${e255(report.eps)} | ${pct(a.robust)} |`,
    );
    for (const p of a.perAttack) {
      lines.push(`| &nbsp;&nbsp;after ${p.attack} (${p.seconds.toFixed(0)} s) | ${pct(p.robustAccuracy)} |`);
    }
  }
  if (report.sweep) {
    lines.push(
      "",
      `Robust accuracy against eps (n = ${report.sweep.n}):`,
      "",
      "| eps | PGD | APGD-CE |",
      "| --- | --- | --- |",
    );
    for (const r of report.sweep.rows) lines.push(`| ${e255(r.eps)} | ${pct(r.pgd)} | ${pct(r.apgdCe)} |`);
  }
  if (report.perClass.some((c) => c.n > 0)) {
    lines.push("", "Per class:", "", "| class | n | clean | PGD |", "| --- | --- | --- | --- |");
    for (const c of report.perClass) lines.push(`| ${c.name} | ${c.n} | ${pct(c.clean)} | ${pct(c.pgd)} |`);
  }
  return lines.join("\n");
}
