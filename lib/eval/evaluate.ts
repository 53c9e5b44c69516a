/**
 * Evaluation (SPEC section 5): clean accuracy and PGD-20 accuracy (and HAAT accuracy on request), with
 * checks of each attack's own output (inside B(x0, eps) and [0,1]) before anything is reported.
 *
 * @module
 */
import { backendInfo, tf } from "../backend.ts";
import { batches } from "../data/batches.ts";
import type { Dataset } from "../data/cifar10.ts";
import type { Classifier } from "../models/resnet18.ts";
import { pgd } from "../attacks/pgd.ts";
import { haat, type HaatOptions } from "../attacks/haat.ts";

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
  /** Print progress lines. @default false */
  verbose?: boolean;
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
  for (const { x, y } of batches(data, { batchSize })) {
    clean += correctCount(f, x, y, batchSize);
    const seed = (options.seed ?? 0) + seen;
    const xAdv = pgd(f, x, y, { eps, alpha, steps, seed });
    checkInBall("PGD", xAdv, x, eps);
    robust += correctCount(f, xAdv, y, batchSize);
    xAdv.dispose();
    if (haatOptions) {
      const xHaat = haat(f, x, y, { ...haatOptions, seed });
      checkInBall("HAAT", xHaat, x, eps);
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
  return {
    n,
    eps,
    pgdSteps: steps,
    clean: clean / n,
    pgd: robust / n,
    ...(haatOptions
      ? { haat: { accuracy: robustHaat / n, steps: haatOptions.steps, k: haatOptions.k, xi: haatOptions.xi } }
      : {}),
    seconds: (performance.now() - t0) / 1000,
    backend: backendInfo().name,
  };
}

/** Throws if an attack's output left B(x0, eps) in Linf or [0,1]. */
function checkInBall(attack: string, xAdv: tf.Tensor4D, x0: tf.Tensor4D, eps: number): void {
  const [linf, lo, hi] = tf.tidy(() => [tf.max(tf.abs(tf.sub(xAdv, x0))), tf.min(xAdv), tf.max(xAdv)]).map((t) => {
    const v = t.dataSync()[0];
    t.dispose();
    return v;
  });
  if (linf > eps + 1e-6 || lo < 0 || hi > 1) {
    throw new Error(`${attack} output left B(x0, eps) or [0,1]: |delta|_inf = ${linf}, range [${lo}, ${hi}]`);
  }
}

/**
 * A Markdown table of a report.
 *
 * @param report From `evaluate`.
 * @returns Markdown text.
 */
export function reportTable(report: EvaluationReport): string {
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  return [
    "| metric | accuracy |",
    "| --- | --- |",
    `| clean (n = ${report.n}) | ${pct(report.clean)} |`,
    `| PGD-${report.pgdSteps}, Linf eps = ${(report.eps * 255).toFixed(0)}/255 | ${pct(report.pgd)} |`,
    ...(report.haat
      ? [
        `| HAAT-${report.haat.steps} (k = ${report.haat.k}, xi = ${report.haat.xi}), Linf eps = ${
          (report.eps * 255).toFixed(0)
        }/255 | ${pct(report.haat.accuracy)} |`,
      ]
      : []),
  ].join("\n");
}
