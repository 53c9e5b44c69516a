/**
 * AutoAttack (Croce and Hein, ICML 2020), Linf, as its reference runs it. A version is a list of
 * attacks `{ name, run }`: `"standard"` is APGD-CE, APGD-T (9 targets), FAB-T (9 targets), Square
 * (5000 queries), in that order; `"fast"` (SPEC section 1) is APGD-CE and APGD-T. Each attack runs only
 * on the points that are still robust (correct clean and under every attack before it). A point counts
 * as robust only if it is classified correctly clean and after every attack.
 *
 * Before it starts, AutoAttack runs the reference's sanity checks on the first batch and reports each
 * failure as a warning (it still evaluates): the model is deterministic (logits normalised to unit L2
 * norm agree within 1e-4 over three passes, and so do the correct counts); its outputs are logits, not
 * probabilities (rows in [0,1] summing to 1); no input gradient is exactly zero; the model has more
 * classes than targets. When it ends, it checks that every returned image lies in B(x, eps) and [0,1],
 * and throws if one does not.
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import { checkEps, checkInputsReading, type Classifier, correctPredictionsReading, lossAndGradient } from "../core.ts";
import { deriveSeed } from "../random.ts";
import { read, type Reading, runAsync, runSync, settle, type Values } from "../reading.ts";
import { apgdReading, apgdTargetedReading } from "./apgd.ts";
import { fabTargetedReading } from "./fab.ts";
import { assertInBallReading } from "./project.ts";
import { attackRemainingReading } from "./remaining.ts";
import { squareReading } from "./square.ts";

/**
 * One attack of an AutoAttack version: its name in reports, and how to run it on a batch: the images
 * (a `tf.Tensor4D`), a promise of them (only `autoAttackAsync` can wait for it), or a `Reading` of them
 * (as the versions' attacks are, so that both `autoAttack` and `autoAttackAsync` run them).
 */
export interface AutoAttackComponent {
  /** Name in reports, e.g. "apgd-ce". */
  name: string;
  /** Runs the attack; returns images in B(x, eps) and [0,1] that the caller disposes. */
  run: (
    f: Classifier,
    x: tf.Tensor4D,
    y: tf.Tensor1D,
    options: { eps: number; seed: number },
  ) => tf.Tensor4D | Promise<tf.Tensor4D> | Reading<tf.Tensor4D>;
}

/** Shorter budgets, for tests and quick looks only (a report says when they were used). */
export interface AutoAttackBudgets {
  /** APGD-CE and APGD-T iterations. @default 100 */
  apgdSteps?: number;
  /** FAB-T iterations per target. @default 100 */
  fabSteps?: number;
  /** Square queries. @default 5000 */
  squareSteps?: number;
}

/** Target classes of APGD-T and FAB-T in the standard version. */
const TARGET_CLASSES = 9;

/**
 * The attacks of an AutoAttack version, in order, with the reference's budgets unless `budgets`
 * shortens them.
 *
 * @param version "standard" (APGD-CE, APGD-T, FAB-T, Square) or "fast" (APGD-CE, APGD-T).
 * @param budgets Optional shorter budgets.
 * @returns The list of `{ name, run }`.
 * @throws {Error} If the version is unknown, or a budget is not an integer >= 1 (0 steps would be no attack).
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { autoAttackVersion } from "./autoattack.ts";
 * assert.deepStrictEqual(autoAttackVersion("standard").map((a) => a.name), ["apgd-ce", "apgd-t", "fab-t", "square"]);
 * ```
 */
export function autoAttackVersion(
  version: "standard" | "fast",
  budgets: AutoAttackBudgets = {},
): AutoAttackComponent[] {
  for (const [name, value] of Object.entries(budgets)) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 1)) {
      throw new Error(`Cannot run AutoAttack as budgets.${name} must be an integer >= 1: current value is ${value}`);
    }
  }
  const apgdSteps = budgets.apgdSteps ?? 100;
  const attacks: AutoAttackComponent[] = [
    { name: "apgd-ce", run: (f, x, y, o) => apgdReading(f, x, y, { ...o, loss: "ce", steps: apgdSteps }) },
    {
      name: "apgd-t",
      run: (f, x, y, o) => apgdTargetedReading(f, x, y, { ...o, steps: apgdSteps, nTargetClasses: TARGET_CLASSES }),
    },
    {
      name: "fab-t",
      // FAB-T has no random start in AutoAttack, so it takes no seed.
      run: (f, x, y, o) =>
        fabTargetedReading(f, x, y, { eps: o.eps, steps: budgets.fabSteps ?? 100, nTargetClasses: TARGET_CLASSES }),
    },
    { name: "square", run: (f, x, y, o) => squareReading(f, x, y, { ...o, steps: budgets.squareSteps ?? 5000 }) },
  ];
  if (version === "standard") return attacks;
  if (version === "fast") return attacks.slice(0, 2);
  throw new Error(`Cannot run AutoAttack as version must be standard or fast: current value is ${version}`);
}

/** Options of `autoAttack`. */
export interface AutoAttackOptions {
  /** "standard" (4 attacks) or "fast" (APGD-CE, APGD-T). @default "standard" */
  version?: "standard" | "fast";
  /** Run this list of attacks instead of a version's. */
  attacks?: AutoAttackComponent[];
  /** Linf radius. @default 8/255 */
  eps?: number;
  /** Seed; attack a runs chunk c with `deriveSeed(deriveSeed(seed, a), c)`. @default 0 */
  seed?: number;
  /** Images per attack call. @default 128 */
  batchSize?: number;
  /** Print a line after each attack. @default false */
  verbose?: boolean;
  /** Shorter budgets (tests, quick looks). */
  budgets?: AutoAttackBudgets;
  /** Called after each attack with where the run stands (to save, and pass back as `resume`). */
  onAttack?: (progress: AutoAttackProgress) => void;
  /**
   * Where an interrupted run on the same model, images and options stood (its last `onAttack`): the
   * attacks it names are not run again, and neither are the points they fooled. The result is the
   * uninterrupted run's (each attack's seeds depend only on its position and the points left), except
   * that `x` holds the clean image where an attack before the resume succeeded.
   */
  resume?: AutoAttackProgress;
}

/** Where an AutoAttack run stands after its first attacks (`onAttack`, `resume`). */
export interface AutoAttackProgress {
  /** Per example: correct clean and after every attack run so far. */
  robust: boolean[];
  /** The attacks run so far, in order: robust accuracy after each and its time. */
  perAttack: { attack: string; robustAccuracy: number; seconds: number }[];
}

/** What `autoAttack` found. */
export interface AutoAttackResult {
  /** Adversarial images where an attack succeeded, the clean image elsewhere. */
  x: tf.Tensor4D;
  /** Per example: correctly classified clean and after every attack. */
  robust: boolean[];
  cleanAccuracy: number;
  robustAccuracy: number;
  /** Robust accuracy after each attack, with its time. */
  perAttack: { attack: string; robustAccuracy: number; seconds: number }[];
  /** The sanity checks that failed (also printed with console.warn). */
  warnings: string[];
}

/**
 * The reference AutoAttack's sanity checks on a batch, as warnings (an empty list when all pass):
 * randomness (three passes; logits normalised to unit L2 norm differ by more than `tolerance`, or the
 * correct counts differ), probability outputs (every row in [0,1] and summing to 1 within 1e-5), zero
 * input gradients of the cross-entropy, and fewer than `targetClasses` + 1 classes.
 *
 * @param f Classifier.
 * @param x Images (a batch).
 * @param y Labels.
 * @param options `tolerance` (default 1e-4, the reference's), `targetClasses` (default 9).
 * @returns One message per failed check.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { autoAttackChecks } from "./autoattack.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const probabilities = (x: tf.Tensor4D) => tf.softmax(tf.matMul(tf.reshape(x, [x.shape[0], -1]), w)) as tf.Tensor2D;
 * const x = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7], "int32");
 * const warnings = autoAttackChecks(probabilities, x, y);
 * assert.strictEqual(warnings.length, 1);
 * assert.match(warnings[0], /probabilit/);
 * tf.dispose([w, x, y]);
 * ```
 */
export function autoAttackChecks(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  options: { tolerance?: number; targetClasses?: number } = {},
): string[] {
  return runSync("autoAttackChecks", autoAttackChecksReading(f, x, y, options));
}

/**
 * `autoAttackChecks` as a reading: every measure is computed on the device and read back in one read.
 *
 * @param f Classifier.
 * @param x Images (a batch).
 * @param y Labels.
 * @param options `tolerance` (default 1e-4), `targetClasses` (default 9).
 * @returns A reading of one message per failed check.
 */
export function* autoAttackChecksReading(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  options: { tolerance?: number; targetClasses?: number } = {},
): Reading<string[]> {
  const tolerance = options.tolerance ?? 1e-4, targetClasses = options.targetClasses ?? TARGET_CLASSES;
  const warnings: string[] = [];
  let classes = 0;
  // [drift, correct counts of the three passes, in [0,1], sums to 1, rows with a zero input gradient]
  const measures = tf.tidy(() => {
    const passes = [0, 1, 2].map(() => {
      const z = f(x);
      return { z, unit: tf.div(z, tf.add(tf.norm(z, 2, 1, true), 1e-10)) };
    });
    let d = tf.scalar(0);
    for (let a = 0; a < passes.length; a++) {
      for (let b = a + 1; b < passes.length; b++) {
        d = tf.maximum(d, tf.max(tf.norm(tf.sub(passes[a].unit, passes[b].unit), 2, 1)));
      }
    }
    const z = passes[0].z;
    classes = z.shape[1];
    const { loss, grad } = lossAndGradient(f, x, y);
    loss.dispose();
    const zeroRows = tf.sum(tf.cast(tf.equal(tf.sum(tf.abs(tf.reshape(grad, [x.shape[0], -1])), 1), 0), "int32"));
    return tf.stack([
      d,
      ...passes.map((p) => tf.sum(tf.cast(tf.equal(tf.argMax(p.z, 1), y), "float32"))),
      tf.cast(tf.logicalAnd(tf.all(tf.lessEqual(z, 1)), tf.all(tf.greaterEqual(z, 0))), "float32"),
      tf.cast(tf.all(tf.less(tf.abs(tf.sub(tf.sum(z, 1), 1)), 1e-5)), "float32"),
      tf.cast(zeroRows, "float32"),
    ]);
  });
  let values: Values;
  try {
    [values] = yield* read(measures);
  } finally {
    measures.dispose();
  }
  const drift = values[0], correctCounts = Array.from(values.subarray(1, 4));
  const inInterval = values[4] === 1, sumsToOne = values[5] === 1, zeroRows = values[6];
  if (!(drift <= tolerance) || new Set(correctCounts).size > 1) {
    warnings.push(
      `the model may be randomised: three passes differ by ${drift} (normalised logits, tolerance ${tolerance}) ` +
        `and give ${correctCounts.join(", ")} correct; AutoAttack's standard version assumes a deterministic model`,
    );
  }
  if (inInterval && sumsToOne) {
    warnings.push("the outputs look like probabilities (rows in [0,1] summing to 1): give AutoAttack the logits");
  }
  if (zeroRows > 0) {
    warnings.push(
      `${zeroRows} of ${x.shape[0]} points have a zero input gradient: gradient-based attacks may be unreliable`,
    );
  }
  if (classes - 1 < targetClasses) {
    warnings.push(
      `the model has ${classes} classes, so APGD-T and FAB-T run ${classes - 1} target classes, not ${targetClasses}`,
    );
  }
  return warnings;
}

/**
 * Checks that `resume` can continue a run of `attacks` on images whose clean correctness is `clean`:
 * the attacks it names are the first ones, in order, and its robust points are correct clean and as
 * many as its last robust accuracy says.
 *
 * @throws {Error} Naming the mismatch.
 */
function checkResume(resume: AutoAttackProgress, attacks: AutoAttackComponent[], clean: boolean[]): void {
  const names = resume.perAttack.map((p) => p.attack), expected = attacks.slice(0, names.length).map((a) => a.name);
  if (names.length > attacks.length || names.join(",") !== expected.join(",")) {
    throw new Error(
      `Cannot resume AutoAttack as the attacks already run (${names.join(", ")}) are not the first of this ` +
        `version's (${attacks.map((a) => a.name).join(", ")})`,
    );
  }
  const n = clean.length;
  if (!Array.isArray(resume.robust) || resume.robust.length !== n || resume.robust.some((r, j) => r && !clean[j])) {
    throw new Error(
      `Cannot resume AutoAttack as its robust points do not fit these images: ${resume.robust?.length} points ` +
        `for ${n} images, or a robust point that is wrong clean (another model or other images?)`,
    );
  }
  const left = resume.robust.filter(Boolean).length;
  const said = names.length > 0 ? resume.perAttack[names.length - 1].robustAccuracy * n : left;
  if (Math.abs(said - left) > 1e-6 * n) {
    throw new Error(
      `Cannot resume AutoAttack as its ${left} robust points disagree with its last robust accuracy ` +
        `(${said / n} of ${n} images)`,
    );
  }
}

/**
 * Runs AutoAttack: the sanity checks, then each attack of the version on the still-robust points
 * (each output checked to lie in B(x, eps) and [0,1] before it counts), then the check that every
 * output lies in B(x, eps) and [0,1].
 *
 * @param f Classifier (a model in eval mode).
 * @param x Clean images, NHWC in [0,1] (at least one).
 * @param y int32 labels, in 0..C-1.
 * @param options See `AutoAttackOptions`.
 * @returns See `AutoAttackResult`; the caller disposes `x`.
 * @throws {Error} If an option or input is bad, there are no images, or an output leaves B(x, eps)
 *   or [0,1].
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { autoAttack } from "./autoattack.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([4, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7, 1, 0], "int32");
 * const result = autoAttack(f, x, y, { version: "fast", budgets: { apgdSteps: 5 } });
 * assert.ok(result.robustAccuracy <= result.cleanAccuracy);
 * tf.dispose([w, x, y, result.x]);
 * ```
 */
export function autoAttack(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  options: AutoAttackOptions = {},
): AutoAttackResult {
  return runSync("autoAttack", autoAttackReading(f, x, y, options));
}

/**
 * `autoAttack`, reading asynchronously: the way to run AutoAttack on the webgpu backend. Its
 * attacks read once or twice per iteration (APGD's step-size rule, FAB-T's projection, Square's
 * choice of the points still to query); a component of `attacks` may return a promise.
 *
 * @param f Classifier (a model in eval mode).
 * @param x Clean images, NHWC in [0,1] (at least one).
 * @param y int32 labels, in 0..C-1.
 * @param options See `AutoAttackOptions`.
 * @returns As `autoAttack`; the caller disposes `x`.
 * @throws {Error} As `autoAttack`.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { autoAttack, autoAttackAsync } from "./autoattack.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([4, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7, 1, 0], "int32");
 * const options = { version: "fast" as const, budgets: { apgdSteps: 5 } };
 * const a = autoAttack(f, x, y, options), b = await autoAttackAsync(f, x, y, options);
 * assert.deepStrictEqual(b.robust, a.robust);
 * tf.dispose([w, x, y, a.x, b.x]);
 * ```
 */
export function autoAttackAsync(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  options: AutoAttackOptions = {},
): Promise<AutoAttackResult> {
  return runAsync(autoAttackReading(f, x, y, options));
}

/**
 * AutoAttack as a reading (`autoAttack` and `autoAttackAsync` run it).
 *
 * @param f Classifier.
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels.
 * @param options See `AutoAttackOptions`.
 * @returns A reading of the `AutoAttackResult`.
 */
export function* autoAttackReading(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  options: AutoAttackOptions = {},
): Reading<AutoAttackResult> {
  const o = { version: "standard" as const, eps: 8 / 255, seed: 0, batchSize: 128, verbose: false, ...options };
  checkEps("AutoAttack", o.eps);
  if (!Number.isInteger(o.seed)) {
    throw new Error(`Cannot run AutoAttack as seed must be an integer: current value is ${o.seed}`);
  }
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) {
    throw new Error(`Cannot run AutoAttack as batchSize must be an integer >= 1: current value is ${o.batchSize}`);
  }
  const attacks = o.attacks ?? autoAttackVersion(o.version, o.budgets);
  if (!Array.isArray(attacks) || attacks.length === 0) {
    throw new Error("Cannot run AutoAttack as attacks must hold at least one attack: current value is []");
  }
  yield* checkInputsReading("AutoAttack", f, x, y);
  const n = x.shape[0];
  if (n === 0) throw new Error("Cannot run AutoAttack on 0 images: its accuracies would be 0 / 0");
  const probe = tf.slice(x, [0, 0, 0, 0], [Math.min(n, o.batchSize), -1, -1, -1]);
  const probeLabels = tf.slice(y, [0], [probe.shape[0]]);
  let warnings: string[];
  try {
    warnings = yield* autoAttackChecksReading(f, probe, probeLabels);
  } finally {
    tf.dispose([probe, probeLabels]);
  }
  for (const w of warnings) console.warn(`AutoAttack warning: ${w}`);
  const clean = yield* correctPredictionsReading(f, x, y, o.batchSize);
  if (o.resume) checkResume(o.resume, attacks, clean);
  const done = o.resume ? o.resume.robust.map((r) => !r) : clean.map((c) => !c);
  let xAdv = tf.clone(x);
  const perAttack: AutoAttackResult["perAttack"] = o.resume ? o.resume.perAttack.map((p) => ({ ...p })) : [];
  for (const [a, attack] of attacks.entries()) {
    if (a < perAttack.length) continue;
    const t0 = performance.now();
    const attacked = done.filter((d) => !d).length;
    // attackRemainingReading disposes xAdv on a throw.
    xAdv = yield* attackRemainingReading(x, y, xAdv, done, function* (xs, ys, _rows, chunk) {
      const found = yield* settle(attack.run(f, xs, ys, {
        eps: o.eps,
        seed: deriveSeed(deriveSeed(o.seed, a), chunk),
      }));
      try {
        yield* assertInBallReading(`AutoAttack's ${attack.name}`, found, xs, o.eps);
        return { x: found, fooled: (yield* correctPredictionsReading(f, found, ys, o.batchSize)).map((c) => !c) };
      } catch (e) {
        found.dispose();
        throw e;
      }
    }, o.batchSize);
    const line = {
      attack: attack.name,
      robustAccuracy: done.filter((d) => !d).length / n,
      seconds: (performance.now() - t0) / 1000,
    };
    perAttack.push(line);
    try {
      o.onAttack?.({ robust: done.map((d) => !d), perAttack: perAttack.map((p) => ({ ...p })) });
    } catch (e) {
      xAdv.dispose();
      throw e;
    }
    if (o.verbose) {
      console.log(
        `  autoattack ${attack.name}: robust accuracy ${(100 * line.robustAccuracy).toFixed(2)}% ` +
          `(${attacked} points attacked, ${line.seconds.toFixed(1)} s)`,
      );
    }
  }
  // The reference's final check.
  try {
    yield* assertInBallReading("AutoAttack", xAdv, x, o.eps);
  } catch (e) {
    xAdv.dispose();
    throw e;
  }
  const robust = done.map((d) => !d);
  return {
    x: xAdv,
    robust,
    cleanAccuracy: clean.filter(Boolean).length / n,
    robustAccuracy: robust.filter(Boolean).length / n,
    perAttack,
    warnings,
  };
}
