/**
 * Evaluation (SPEC section 5), one function per measurement: clean and PGD-20 accuracy with per-class
 * rows (`cleanAndPgd`), HAAT accuracy (`haatAccuracy`), AutoAttack (`autoAttackSection`) and the eps
 * sweep (`epsSweep`); `evaluate` checks every option first and runs those asked for. Each attack's
 * output is checked (inside B(x0, eps) and [0,1]) before it is counted, and a point counts as robust
 * only if it is classified correctly both clean and after the attack.
 *
 * @module
 */
import { backendInfo } from "../backend/backend.ts";
import { tf } from "../tfjs.ts";
import { checkBatchSize, checkEps, checkInputs, type Classifier, correctPredictions } from "../core.ts";
import { batches, toTensors } from "../data/batches.ts";
import type { Dataset } from "../data/cifar10.ts";
import { deriveSeed } from "../random.ts";
import { outcomesFromString, outcomesToString } from "./paired.ts";
import { pgd } from "../attacks/pgd.ts";
import { haat, type HaatOptions, resolveHaatOptions } from "../attacks/haat.ts";
import { apgd } from "../attacks/apgd.ts";
import { assertInBall } from "../attacks/project.ts";
import {
  autoAttack,
  type AutoAttackBudgets,
  type AutoAttackProgress,
  autoAttackVersion,
} from "../attacks/autoattack.ts";

/**
 * Accuracy: the share of examples whose highest logit is the label, (1/n) sum_i [argmax_c f(x_i)_c = y_i],
 * computed in batches.
 *
 * @param f Classifier.
 * @param x Images NHWC in [0,1] (at least one).
 * @param y int32 labels, in 0..C-1.
 * @param options `batchSize` (default 256).
 * @returns A number in [0, 1].
 * @throws {Error} If x, y are malformed or empty, or batchSize is not an integer >= 1.
 * @example
 * ```ts
 * import { accuracy } from "./evaluate.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const f = (x: tf.Tensor4D) => tf.reshape(x, [x.shape[0], 2]) as tf.Tensor2D; // logits = the two pixels
 * const x = tf.tensor4d([0.9, 0.1, 0.2, 0.8], [2, 1, 1, 2]), y = tf.tensor1d([0, 0], "int32");
 * console.log(accuracy(f, x, y)); // 0.5
 * tf.dispose([x, y]);
 * ```
 */
export function accuracy(f: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, options: { batchSize?: number } = {}): number {
  checkInputs("accuracy", f, x, y);
  checkBatchSize("accuracy", options.batchSize ?? 256);
  if (x.shape[0] === 0) throw new Error("Cannot compute accuracy of 0 images: it would be 0 / 0");
  return correctPredictions(f, x, y, options.batchSize ?? 256).filter(Boolean).length / x.shape[0];
}

/** An attack as evaluation runs it: images and labels of batch number `batch` -> adversarial images. */
export type BatchAttack = (x: tf.Tensor4D, y: tf.Tensor1D, batch: number) => tf.Tensor4D;

/**
 * Per example, clean-correct and robust (correct clean AND after the attack), with the attack run in
 * batches and each output checked to lie in B(x, eps) and [0,1] before it is counted.
 *
 * @param f Classifier.
 * @param x Images, NHWC in [0,1].
 * @param y int32 labels.
 * @param attack Runs on a batch (its number is the third argument, e.g. for seeds).
 * @param options `name` (for messages), Linf `eps` of the check, `batchSize` (default 128).
 * @returns `{ clean, robust }`, one boolean per example each.
 * @throws {Error} If x, y are malformed, batchSize is not an integer >= 1, or an output leaves the ball or [0,1].
 * @example
 * ```ts
 * import { robustPredictions } from "./evaluate.ts";
 * import { pgd } from "../attacks/pgd.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([4, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7, 1, 0], "int32");
 * const { clean, robust } = robustPredictions(f, x, y, (xb, yb, b) => pgd(f, xb, yb, { seed: b }), {
 *   name: "PGD",
 *   eps: 8 / 255,
 * });
 * console.log(robust.every((r, i) => !r || clean[i])); // true
 * tf.dispose([w, x, y]);
 * ```
 */
export function robustPredictions(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  attack: BatchAttack,
  options: { name: string; eps: number; batchSize?: number },
): { clean: boolean[]; robust: boolean[] } {
  checkInputs(options.name, f, x, y);
  const batchSize = options.batchSize ?? 128;
  checkBatchSize(options.name, batchSize);
  const clean: boolean[] = [], robust: boolean[] = [];
  for (let start = 0, batch = 0; start < x.shape[0]; start += batchSize, batch++) {
    const size = Math.min(batchSize, x.shape[0] - start);
    const xb = tf.slice(x, [start, 0, 0, 0], [size, -1, -1, -1]), yb = tf.slice(y, [start], [size]);
    try {
      const before = correctPredictions(f, xb, yb, batchSize);
      const xAdv = attack(xb, yb, batch);
      try {
        assertInBall(options.name, xAdv, xb, options.eps);
        const after = correctPredictions(f, xAdv, yb, batchSize);
        clean.push(...before);
        robust.push(...before.map((c, j) => c && after[j]));
      } finally {
        xAdv.dispose();
      }
    } finally {
      tf.dispose([xb, yb]);
    }
  }
  return { clean, robust };
}

/**
 * Robust accuracy (1/n) sum_i [f right on x_i and on attack(x_i)]: `robustPredictions`, counted.
 *
 * @param f Classifier.
 * @param x Images (at least one).
 * @param y Labels.
 * @param attack Runs on a batch.
 * @param options As `robustPredictions`.
 * @returns A number in [0, 1], at most the clean accuracy.
 * @throws {Error} As `robustPredictions`, or if there are no images.
 * @example
 * ```ts
 * import { robustAccuracy } from "./evaluate.ts";
 * import { fgsm } from "../attacks/fgsm.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([4, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7, 1, 0], "int32");
 * console.log(robustAccuracy(f, x, y, (xb, yb) => fgsm(f, xb, yb), { name: "FGSM", eps: 8 / 255 }) <= 1); // true
 * tf.dispose([w, x, y]);
 * ```
 */
export function robustAccuracy(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  attack: BatchAttack,
  options: { name: string; eps: number; batchSize?: number },
): number {
  if (x.shape[0] === 0) throw new Error(`Cannot compute ${options.name} accuracy of 0 images: it would be 0 / 0`);
  return robustPredictions(f, x, y, attack, options).robust.filter(Boolean).length / x.shape[0];
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
  /** Seed of the attacks; batch b of an attack draws with `deriveSeed(seed, b)`. @default 0 */
  seed?: number;
  /** Also attack with HAAT (SPEC section 1) with these options (eps is `eps`); omit for PGD only. */
  haat?: Omit<HaatOptions, "eps" | "seed">;
  /**
   * AutoAttack on the first `n` images (SPEC section 5; default 100), or omit. `budgets` shortens the
   * attacks (for quick looks only; a report says so).
   */
  autoattack?: { version?: "standard" | "fast"; n?: number; budgets?: AutoAttackBudgets };
  /**
   * Robust accuracy against each eps (PGD and APGD-CE) on the first `n` images (default: all
   * evaluated); SPEC: eps in {0, 2, 4, 6, 8, 10, 12, 16}/255. Omit for none.
   */
  sweep?: { eps: number[]; n?: number };
  /** Print progress lines. @default false */
  verbose?: boolean;
  /**
   * Called after each section, each batch of HAAT, each AutoAttack attack and each sweep eps with what is
   * finished (to save).
   */
  onProgress?: (progress: EvaluationProgress) => void;
  /**
   * What an interrupted evaluation of the same model and images with the same options finished (its last
   * `onProgress`): those parts are not run again, and the report is the uninterrupted one's (every part's
   * seeds depend only on its own position). Which model and images it came from is the caller's to check.
   */
  resume?: EvaluationProgress;
}

/** The parts of an evaluation finished so far (`EvaluateOptions.onProgress`, `resume`). */
export interface EvaluationProgress {
  /** Clean and PGD accuracy, per class and per image. */
  pgd?: { clean: number; pgd: number; perClass: ClassRow[]; perImage: { clean: string; pgd: string } };
  /** HAAT accuracy and its per-image outcomes (`outcomesToString`). */
  haat?: { haat: NonNullable<EvaluationReport["haat"]>; outcomes: string };
  /**
   * HAAT while it runs (its longest part: 40-50 minutes on 10,000 images at width 16, one core): the
   * outcomes of the batches finished, with the settings and batch size they were drawn with.
   */
  haatPartial?: { steps: number; k: number; xi: number; batchSize: number; outcomes: string };
  /** AutoAttack, once all its attacks ran. */
  autoattack?: NonNullable<EvaluationReport["autoattack"]>;
  /** AutoAttack after its first attacks, while it runs. */
  autoattackProgress?: AutoAttackProgress;
  /** The eps sweep's rows finished so far, in the order of the options' eps. */
  sweep?: SweepRow[];
  /** Seconds spent so far, over every resumed run. */
  seconds: number;
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
  /** PGD's step size, seed and batch size (each batch draws its random start from the seed): with eps and
   * pgdSteps, what makes the per-image PGD outcomes. Reports written before 2026-12-06 lack them (they
   * used 2/255, 0 and 128). */
  alpha?: number;
  seed?: number;
  batchSize?: number;
  clean: number;
  /** PGD robust accuracy: correct clean and after PGD. */
  pgd: number;
  /** HAAT robust accuracy and its settings, when `options.haat` was given. */
  haat?: { accuracy: number; steps: number; k: number; xi: number };
  /** Clean and PGD accuracy per class. */
  perClass: ClassRow[];
  /**
   * Per test image (the first `n`, in order), whether the model was right: clean, under PGD and under HAAT
   * (robust: right clean and after the attack), as strings of 0 and 1 (`outcomesFromString`), for paired
   * comparisons between models on the same images (`mcnemar`). Reports written before 2026-11-29 lack it.
   */
  perImage?: { clean: string; pgd: string; haat?: string };
  /** AutoAttack, when asked for. */
  autoattack?: {
    version: "standard" | "fast";
    n: number;
    clean: number;
    robust: number;
    perAttack: { attack: string; robustAccuracy: number; seconds: number }[];
    /**
     * Per image (the first `n`, in order), whether it stayed robust under every attack, as a string of 0 and
     * 1 (`outcomesFromString`), for paired comparisons. Reports written before 2026-12-06 lack it.
     */
    perImage?: string;
    budgets?: AutoAttackBudgets;
    /** Sanity checks that failed (absent when all passed). */
    warnings?: string[];
  };
  /** The eps sweep, when asked for. */
  sweep?: { n: number; rows: SweepRow[] };
  seconds: number;
  backend: string;
}

/** `EvaluateOptions` filled in and checked. */
type Resolved = ReturnType<typeof resolveEvaluateOptions>;

function count(name: string, value: unknown, min: number): number {
  if (value !== Infinity && !(Number.isInteger(value) && (value as number) >= min)) {
    throw new Error(`Cannot evaluate as ${name} must be an integer >= ${min}: current value is ${value}`);
  }
  return value as number;
}

/**
 * `EvaluateOptions` with their defaults, every value checked before anything runs.
 *
 * @param dataset The dataset to evaluate (must not be empty).
 * @param options See `EvaluateOptions`.
 * @returns The options, filled in; `n` is at most the dataset's size.
 * @throws {Error} On an empty dataset or the first bad option, named.
 * @example
 * ```ts
 * import { resolveEvaluateOptions } from "./evaluate.ts";
 * const data = { images: new Uint8Array(3072), labels: new Int32Array(1), size: 1, classNames: ["a", "b"] };
 * try {
 *   resolveEvaluateOptions(data, { sweep: { eps: [2 / 255, 2] } });
 * } catch (e) {
 *   console.log((e as Error).message); // Cannot evaluate as every sweep eps must be in [0, 1]: current value is 2
 * }
 * ```
 */
export function resolveEvaluateOptions(dataset: Dataset, options: EvaluateOptions = {}) {
  if (!(dataset.size > 0)) throw new Error("Cannot evaluate an empty dataset: it has 0 images");
  const labels = dataset.labels?.length ?? 0, images = Math.floor((dataset.images?.length ?? 0) / 3072);
  if (!Number.isSafeInteger(dataset.size) || dataset.size > labels || dataset.size > images) {
    throw new Error(
      `Cannot evaluate as the dataset's size must be an integer at most its labels (${labels}) and images ` +
        `(${images} of 3,072 bytes): current value is ${dataset.size}`,
    );
  }
  const classes = dataset.classNames?.length ?? 0;
  const bad = dataset.labels.subarray(0, dataset.size).findIndex((label) => !(label >= 0 && label < classes));
  if (bad >= 0) {
    throw new Error(
      `Cannot evaluate as the dataset's labels must be in 0..${classes - 1} (one per class name): ` +
        `current value is ${dataset.labels[bad]} (image ${bad})`,
    );
  }
  const n = Math.min(count("n", options.n ?? Infinity, 1), dataset.size);
  const eps = options.eps ?? 8 / 255, alpha = options.alpha ?? 2 / 255;
  checkEps("PGD", eps);
  if (!(typeof alpha === "number" && alpha > 0 && alpha < Infinity)) {
    throw new Error(`Cannot evaluate as alpha must be > 0: current value is ${alpha}`);
  }
  const pgdSteps = count("pgdSteps", options.pgdSteps ?? 20, 1);
  const batchSize = count("batchSize", options.batchSize ?? 128, 1);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw new Error(`Cannot evaluate as seed must be an integer: current value is ${seed}`);
  const haat = options.haat ? resolveHaatOptions({ ...options.haat, eps }) : undefined;
  let autoattack: { version: "standard" | "fast"; n: number; budgets?: AutoAttackBudgets } | undefined;
  if (options.autoattack) {
    const version = options.autoattack.version ?? "standard";
    autoAttackVersion(version, options.autoattack.budgets); // throws on an unknown version
    const m = Math.min(count("autoattack n", options.autoattack.n ?? 100, 1), dataset.size);
    autoattack = { version, n: m, budgets: options.autoattack.budgets };
  }
  let sweep: { eps: number[]; n: number } | undefined;
  if (options.sweep) {
    if (!Array.isArray(options.sweep.eps) || options.sweep.eps.length === 0) {
      throw new Error(
        `Cannot evaluate as sweep.eps must list at least one eps: current value is ${
          JSON.stringify(options.sweep.eps)
        }`,
      );
    }
    for (const e of options.sweep.eps) {
      if (!(typeof e === "number" && e >= 0 && e <= 1)) {
        throw new Error(`Cannot evaluate as every sweep eps must be in [0, 1]: current value is ${e}`);
      }
    }
    sweep = { eps: options.sweep.eps, n: Math.min(count("sweep n", options.sweep.n ?? n, 1), dataset.size) };
  }
  return { n, eps, alpha, pgdSteps, batchSize, seed, haat, autoattack, sweep, verbose: options.verbose ?? false };
}

/**
 * Clean and PGD robust accuracy of the first `n` images, in total and per class.
 *
 * @returns `{ clean, pgd, perClass }`.
 */
function cleanAndPgd(
  f: Classifier,
  dataset: Dataset,
  o: Resolved,
): { clean: number; pgd: number; perClass: ClassRow[]; perImage: NonNullable<EvaluationReport["perImage"]> } {
  const rows = dataset.classNames.map((name, label) => ({ label, name, n: 0, clean: 0, pgd: 0 }));
  const cleanOutcomes: boolean[] = new Array(o.n).fill(false), pgdOutcomes: boolean[] = new Array(o.n).fill(false);
  let clean = 0, robust = 0, seen = 0, batch = 0;
  for (const { x, y, indices } of batches({ ...dataset, size: o.n }, { batchSize: o.batchSize })) {
    const seed = deriveSeed(o.seed, batch++);
    try {
      const r = robustPredictions(
        f,
        x,
        y,
        (xb, yb) => pgd(f, xb, yb, { eps: o.eps, alpha: o.alpha, steps: o.pgdSteps, seed }),
        {
          name: "PGD",
          eps: o.eps,
          batchSize: o.batchSize,
        },
      );
      indices.forEach((index, j) => {
        const row = rows[dataset.labels[index]];
        row.n++;
        row.clean += Number(r.clean[j]);
        row.pgd += Number(r.robust[j]);
        cleanOutcomes[index] = r.clean[j];
        pgdOutcomes[index] = r.robust[j];
      });
      clean += r.clean.filter(Boolean).length;
      robust += r.robust.filter(Boolean).length;
    } finally {
      tf.dispose([x, y]);
    }
    seen += indices.length;
    if (o.verbose) {
      const pct = (v: number) => `${(100 * v / seen).toFixed(1)}%`;
      console.log(`  evaluate ${seen}/${o.n}: clean ${pct(clean)}  PGD-${o.pgdSteps} ${pct(robust)}`);
    }
  }
  const perClass = rows.map((row) => ({
    ...row,
    clean: row.n > 0 ? row.clean / row.n : 0,
    pgd: row.n > 0 ? row.pgd / row.n : 0,
  }));
  return {
    clean: clean / o.n,
    pgd: robust / o.n,
    perClass,
    perImage: { clean: outcomesToString(cleanOutcomes), pgd: outcomesToString(pgdOutcomes) },
  };
}

/**
 * HAAT robust accuracy of the first `n` images (SPEC section 1's attack, options `o.haat`), going on after
 * the batches whose outcomes are `done` (batch b draws with `deriveSeed(o.seed, b)` wherever it starts).
 */
function haatAccuracy(
  f: Classifier,
  dataset: Dataset,
  o: Resolved,
  done: boolean[],
  onBatch: (outcomes: boolean[]) => void,
): { haat: NonNullable<EvaluationReport["haat"]>; outcomes: boolean[] } {
  const h = o.haat!;
  let batch = done.length / o.batchSize;
  const outcomes: boolean[] = [...done];
  for (const { x, y } of batches({ ...dataset, size: o.n }, { batchSize: o.batchSize, startBatch: batch })) {
    const seed = deriveSeed(o.seed, batch++);
    try {
      const r = robustPredictions(f, x, y, (xb, yb) => haat(f, xb, yb, { ...h, seed }), {
        name: "HAAT",
        eps: o.eps,
        batchSize: o.batchSize,
      });
      outcomes.push(...r.robust);
    } finally {
      tf.dispose([x, y]);
    }
    if (o.verbose) {
      const share = (100 * outcomes.filter(Boolean).length / outcomes.length).toFixed(1);
      console.log(`  HAAT-${h.steps} ${outcomes.length}/${o.n}: ${share}%`);
    }
    if (outcomes.length < o.n) onBatch(outcomes);
  }
  const robust = outcomes.filter(Boolean).length;
  if (o.verbose) console.log(`  HAAT-${h.steps} (k = ${h.k}, xi = ${h.xi}): ${(100 * robust / o.n).toFixed(1)}%`);
  return { haat: { accuracy: robust / o.n, steps: h.steps, k: h.k, xi: h.xi }, outcomes };
}

/** AutoAttack on the first `o.autoattack.n` images. */
function autoAttackSection(
  f: Classifier,
  dataset: Dataset,
  o: Resolved,
  resume: AutoAttackProgress | undefined,
  onAttack: (progress: AutoAttackProgress) => void,
): NonNullable<EvaluationReport["autoattack"]> {
  const { version, n: m, budgets } = o.autoattack!;
  const { x, y } = toTensors(dataset, Array.from({ length: m }, (_, i) => i));
  if (o.verbose) console.log(`  AutoAttack (${version}) on ${m} images, eps ${(o.eps * 255).toFixed(1)}/255`);
  try {
    const result = autoAttack(f, x, y, {
      version,
      eps: o.eps,
      seed: o.seed,
      batchSize: o.batchSize,
      verbose: o.verbose,
      budgets,
      resume,
      onAttack,
    });
    result.x.dispose();
    return {
      version,
      n: m,
      clean: result.cleanAccuracy,
      robust: result.robustAccuracy,
      perAttack: result.perAttack,
      perImage: outcomesToString(result.robust),
      ...(budgets ? { budgets } : {}),
      ...(result.warnings.length > 0 ? { warnings: result.warnings } : {}),
    };
  } finally {
    tf.dispose([x, y]);
  }
}

/**
 * Robust accuracy against each eps of `o.sweep` (PGD with alpha = eps / 4, and APGD-CE), after the rows
 * already `done`, calling `onRow` with the rows so far after each.
 */
function epsSweep(
  f: Classifier,
  dataset: Dataset,
  o: Resolved,
  done: SweepRow[],
  onRow: (rows: SweepRow[]) => void,
): NonNullable<EvaluationReport["sweep"]> {
  const m = o.sweep!.n;
  const { x, y } = toTensors(dataset, Array.from({ length: m }, (_, i) => i));
  const rows: SweepRow[] = [...done];
  try {
    for (const e of o.sweep!.eps.slice(done.length)) {
      if (e === 0) {
        const acc = accuracy(f, x, y, { batchSize: o.batchSize });
        rows.push({ eps: 0, pgd: acc, apgdCe: acc });
        onRow([...rows]);
        continue;
      }
      const options = { eps: e, batchSize: o.batchSize };
      const pgdAcc = robustAccuracy(
        f,
        x,
        y,
        (xb, yb, b) => pgd(f, xb, yb, { eps: e, alpha: e / 4, steps: o.pgdSteps, seed: deriveSeed(o.seed, b) }),
        { ...options, name: "PGD" },
      );
      const apgdAcc = robustAccuracy(
        f,
        x,
        y,
        (xb, yb, b) => apgd(f, xb, yb, { eps: e, loss: "ce", seed: deriveSeed(o.seed, b) }),
        { ...options, name: "APGD-CE" },
      );
      rows.push({ eps: e, pgd: pgdAcc, apgdCe: apgdAcc });
      onRow([...rows]);
      if (o.verbose) {
        console.log(
          `  sweep eps ${(e * 255).toFixed(1)}/255: PGD-${o.pgdSteps} ${(100 * pgdAcc).toFixed(1)}%  ` +
            `APGD-CE ${(100 * apgdAcc).toFixed(1)}%`,
        );
      }
    }
  } finally {
    tf.dispose([x, y]);
  }
  return { n: m, rows };
}

/**
 * The evaluation of SPEC section 5: clean and PGD accuracy (per class too), and on request HAAT
 * accuracy, AutoAttack and the eps sweep. Every option is checked before anything runs; robust means
 * correct clean and after the attack. With `onProgress` and `resume`, an interrupted evaluation goes on
 * where it stopped (after its last finished section, AutoAttack attack or sweep eps).
 *
 * @param f Classifier (put a model in eval mode first).
 * @param dataset Test images (at least one).
 * @param options See `EvaluateOptions`.
 * @returns The report.
 * @throws {Error} On an empty dataset or a bad option (before anything runs), or if an attack's
 *   output leaves the eps-ball or [0,1].
 * @example
 * ```ts
 * import { evaluate } from "./evaluate.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const images = Uint8Array.from({ length: 4 * 3072 }, (_, i) => (i * 37) % 256);
 * const data = { images, labels: Int32Array.from([0, 1, 2, 3]), size: 4, classNames: "abcdefghij".split("") };
 * const report = evaluate(f, data, { pgdSteps: 2 });
 * console.log(report.pgd <= report.clean); // true
 * w.dispose();
 * ```
 */
export function evaluate(f: Classifier, dataset: Dataset, options: EvaluateOptions = {}): EvaluationReport {
  const o = resolveEvaluateOptions(dataset, options);
  if (options.resume) {
    try {
      checkProgress(options.resume, o, dataset);
    } catch (e) {
      throw e instanceof ProgressProblem ? new Error(`Cannot resume the evaluation as ${e.message}`) : e;
    }
  }
  const t0 = performance.now(), before = options.resume?.seconds ?? 0;
  const p: EvaluationProgress = { ...options.resume, seconds: before };
  const saved = () => {
    p.seconds = before + (performance.now() - t0) / 1000;
    options.onProgress?.({ ...p });
  };
  if (!p.pgd) {
    p.pgd = cleanAndPgd(f, dataset, o);
    saved();
  }
  if (o.haat && !p.haat) {
    const { steps, k, xi } = o.haat, batchSize = o.batchSize;
    const done = p.haatPartial ? outcomesFromString(p.haatPartial.outcomes) : [];
    const { haat, outcomes } = haatAccuracy(f, dataset, o, done, (sofar) => {
      p.haatPartial = { steps, k, xi, batchSize, outcomes: outcomesToString(sofar) };
      saved();
    });
    delete p.haatPartial;
    p.haat = { haat, outcomes: outcomesToString(outcomes) };
    saved();
  }
  if (o.autoattack && !p.autoattack) {
    p.autoattack = autoAttackSection(f, dataset, o, p.autoattackProgress, (progress) => {
      p.autoattackProgress = progress;
      saved();
    });
    delete p.autoattackProgress;
    saved();
  }
  if (o.sweep && (p.sweep?.length ?? 0) < o.sweep.eps.length) {
    p.sweep = epsSweep(f, dataset, o, p.sweep ?? [], (rows) => {
      p.sweep = rows;
      saved();
    }).rows;
  }
  const { clean, pgd, perClass, perImage } = p.pgd;
  return {
    n: o.n,
    eps: o.eps,
    pgdSteps: o.pgdSteps,
    alpha: o.alpha,
    seed: o.seed,
    batchSize: o.batchSize,
    clean,
    pgd,
    ...(p.haat ? { haat: p.haat.haat } : {}),
    perClass,
    perImage: { ...perImage, ...(p.haat ? { haat: p.haat.outcomes } : {}) },
    ...(p.autoattack ? { autoattack: p.autoattack } : {}),
    ...(o.sweep ? { sweep: { n: o.sweep.n, rows: p.sweep! } } : {}),
    seconds: before + (performance.now() - t0) / 1000,
    backend: backendInfo().name,
  };
}

/**
 * What is wrong with `progress` as the finished parts of an evaluation of `dataset` with `options`, if
 * anything: parts of another form, outcomes of another number of images, HAAT or AutoAttack of other
 * settings, sweep rows at other eps (another evaluation's progress), and numbers that do not agree with
 * the per-image outcomes they were counted from (a damaged file): clean and PGD accuracy are the shares
 * of 1s in their outcomes, per class too, a point robust under PGD or HAAT is right clean, and every
 * accuracy lies in [0, 1].
 *
 * @param dataset The dataset the evaluation runs on.
 * @param options Its options (as given to `evaluate`).
 * @param progress What an interrupted evaluation saved (`onProgress`).
 * @returns The first problem, as a clause ("its clean accuracy 1.5 is not ..."), or undefined if none.
 * @example
 * ```ts
 * import { evaluationProgressProblem } from "./evaluate.ts";
 * const data = { images: new Uint8Array(2 * 3072), labels: Int32Array.from([0, 1]), size: 2, classNames: ["a", "b"] };
 * const pgd = { clean: 1.5, pgd: 0, perClass: [], perImage: { clean: "11", pgd: "00" } };
 * console.log(evaluationProgressProblem(data, {}, { pgd, seconds: 1 }));
 * // its clean accuracy 1.5 is not the share of 1s in its 2 per-image outcomes (1)
 * ```
 */
export function evaluationProgressProblem(
  dataset: Dataset,
  options: EvaluateOptions,
  progress: EvaluationProgress,
): string | undefined {
  try {
    checkProgress(progress, resolveEvaluateOptions(dataset, options), dataset);
    return undefined;
  } catch (e) {
    if (e instanceof ProgressProblem) return e.message;
    throw e;
  }
}

/** A problem of a progress, as the clause `evaluationProgressProblem` returns. */
class ProgressProblem extends Error {}

/** See `evaluationProgressProblem`; throws a `ProgressProblem`. */
function checkProgress(resume: EvaluationProgress, o: Resolved, dataset: Dataset): void {
  const fail = (what: string): never => {
    throw new ProgressProblem(what);
  };
  const other = (what: string) => fail(`${what}: was it made with other options?`);
  const object = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
  const unit = (v: unknown) => typeof v === "number" && v >= 0 && v <= 1;
  const outcomes = (name: string, v: unknown, length: number): string => {
    if (typeof v !== "string" || !/^[01]*$/.test(v)) fail(`its ${name} outcomes are not a string of 0 and 1`);
    if ((v as string).length !== length) {
      other(`it holds ${name} outcomes of ${(v as string).length} images, not ${length}`);
    }
    return v as string;
  };
  const ones = (v: string) => [...v].filter((c) => c === "1").length;
  const share = (name: string, value: unknown, of: string) => {
    if (value !== ones(of) / of.length) {
      fail(
        `its ${name} accuracy ${JSON.stringify(value)} is not the share of 1s in its ${of.length} per-image ` +
          `outcomes (${ones(of) / of.length})`,
      );
    }
  };
  const within = (name: string, robust: string, clean: string) => {
    const j = [...robust].findIndex((c, i) => c === "1" && clean[i] !== "1");
    if (j >= 0) fail(`its ${name} outcome of image ${j} is robust although the image is wrong clean`);
  };
  if (!object(resume)) fail("it is not an object of finished parts");
  if (!(typeof resume.seconds === "number" && Number.isFinite(resume.seconds) && resume.seconds >= 0)) {
    fail(`its seconds are ${resume.seconds}`);
  }
  let clean: string | undefined;
  if (resume.pgd !== undefined) {
    const p = resume.pgd;
    if (!object(p) || !object(p.perImage) || !Array.isArray(p.perClass)) {
      fail(`its clean and PGD part is not { clean, pgd, perClass, perImage }: ${JSON.stringify(p).slice(0, 80)}`);
    }
    clean = outcomes("clean", p.perImage.clean, o.n);
    const robust = outcomes("PGD", p.perImage.pgd, o.n);
    share("clean", p.clean, clean);
    share("PGD", p.pgd, robust);
    within("PGD", robust, clean);
    // Per class: counted from the labels and the same outcomes, as cleanAndPgd counts them.
    const rows = dataset.classNames.map((name, label) => ({ label, name, n: 0, clean: 0, pgd: 0 }));
    for (let i = 0; i < o.n; i++) {
      const row = rows[dataset.labels[i]];
      row.n++;
      row.clean += Number(clean[i] === "1");
      row.pgd += Number(robust[i] === "1");
    }
    const expected = rows.map((r) => ({ ...r, clean: r.n > 0 ? r.clean / r.n : 0, pgd: r.n > 0 ? r.pgd / r.n : 0 }));
    if (JSON.stringify(p.perClass) !== JSON.stringify(expected)) {
      fail("its per-class rows are not those of its per-image outcomes and the images' labels");
    }
  }
  if (resume.haat !== undefined) {
    if (!object(resume.haat) || !object(resume.haat.haat)) fail("its HAAT part is not { haat, outcomes }");
    const h = resume.haat.haat;
    if (!o.haat || h.steps !== o.haat.steps || h.k !== o.haat.k || h.xi !== o.haat.xi) {
      other(`its HAAT (steps ${h.steps}, k ${h.k}, xi ${h.xi}) is not this evaluation's`);
    }
    const robust = outcomes("HAAT", resume.haat.outcomes, o.n);
    share("HAAT", h.accuracy, robust);
    if (clean !== undefined) within("HAAT", robust, clean);
  }
  if (resume.haatPartial !== undefined) {
    if (!object(resume.haatPartial)) fail("its unfinished HAAT part is not an object");
    const { steps, k, xi, batchSize, outcomes: done } = resume.haatPartial;
    if (!o.haat || steps !== o.haat.steps || k !== o.haat.k || xi !== o.haat.xi) {
      other(`its unfinished HAAT (steps ${steps}, k ${k}, xi ${xi}) is not this evaluation's`);
    }
    if (batchSize !== o.batchSize) other(`its unfinished HAAT ran in batches of ${batchSize}, not ${o.batchSize}`);
    if (typeof done !== "string" || !/^[01]*$/.test(done)) fail("its unfinished HAAT outcomes are not 0 and 1");
    if (!(done.length % batchSize === 0 && done.length < o.n)) {
      other(`its unfinished HAAT holds outcomes of ${done.length} images, not whole batches of fewer than ${o.n}`);
    }
    if (clean !== undefined) within("unfinished HAAT", done, clean.slice(0, done.length));
  }
  const aa = resume.autoattack, aaProgress = resume.autoattackProgress;
  if (aa !== undefined && !(object(aa) && Array.isArray(aa.perAttack))) fail("its AutoAttack part is not an object");
  if (aaProgress !== undefined && !(object(aaProgress) && Array.isArray(aaProgress.robust))) {
    fail("its unfinished AutoAttack part holds no per-point outcomes");
  }
  const aaN = aa?.n ?? aaProgress?.robust.length;
  if (aaN !== undefined && aaN !== o.autoattack?.n) other(`its AutoAttack ran on ${aaN} images`);
  if (aa) {
    if (aa.version !== o.autoattack?.version) other(`its AutoAttack is version ${aa.version}`);
    const accuracies = aa.perAttack.map((a) => a?.robustAccuracy);
    const ordered = accuracies.every((r, i) => unit(r) && (i === 0 || r <= accuracies[i - 1]));
    if (!(unit(aa.clean) && unit(aa.robust) && aa.robust <= aa.clean && ordered && accuracies.at(-1) === aa.robust)) {
      fail(
        `its AutoAttack accuracies are not 0 <= robust <= clean <= 1, falling attack by attack to the robust one: ` +
          `clean ${aa.clean}, robust ${aa.robust}, per attack ${accuracies.join(", ")}`,
      );
    }
  }
  if (resume.sweep !== undefined) {
    if (!Array.isArray(resume.sweep)) fail("its sweep is not a list of rows");
    resume.sweep.forEach((row, i) => {
      if (!object(row) || row.eps !== o.sweep?.eps[i]) other(`its sweep row ${i} is at eps ${row?.eps}`);
      if (!(unit(row.pgd) && unit(row.apgdCe))) {
        fail(`its sweep row at eps ${row.eps} has accuracies outside [0, 1]: PGD ${row.pgd}, APGD-CE ${row.apgdCe}`);
      }
    });
  }
}
