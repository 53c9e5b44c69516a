/**
 * What an evaluation (SPEC section 5) takes and gives: its options (`EvaluateOptions`), checked and filled
 * in before anything runs (`resolveEvaluateOptions`), its report (`EvaluationReport`) and the parts of it
 * finished so far (`EvaluationProgress`).
 *
 * @module
 */
import { checkEps } from "../core.ts";
import type { Dataset } from "../data/cifar10.ts";
import { type HaatOptions, type HaatSettings, resolveHaatOptions } from "../attacks/haat.ts";
import { type AutoAttackBudgets, type AutoAttackProgress, autoAttackVersion } from "../attacks/autoattack.ts";

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
  haatPartial?: { haat: HaatSettings; batchSize: number; outcomes: string };
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
  /**
   * HAAT robust accuracy and every HAAT option it ran with (`resolveHaatOptions`), when `options.haat` was
   * given: eps is the report's, seed the evaluation's (batch b draws with `deriveSeed(seed, b)`). Reports
   * written before 2026-12-06 hold steps, k and xi only (the other options were `HAAT_DEFAULTS`').
   */
  haat?: { accuracy: number } & HaatSettings;
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

export type ResolvedEvaluateOptions = ReturnType<typeof resolveEvaluateOptions>;

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
 * import assert from "node:assert";
 * import { resolveEvaluateOptions } from "./options.ts";
 * const data = { images: new Uint8Array(3072), labels: new Int32Array(1), size: 1, classNames: ["a", "b"] };
 * assert.throws(() => resolveEvaluateOptions(data, { sweep: { eps: [2 / 255, 2] } }), {
 *   message: "Cannot evaluate as every sweep eps must be in [0, 1]: current value is 2",
 * });
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
  const haat = options.haat ? resolveHaatOptions({ ...options.haat, eps, seed }) : undefined;
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
