/**
 * Auto-PGD (Croce and Hein, ICML 2020), Linf, as the reference AutoAttack runs it: 100 iterations,
 * random start, initial step eta = 2 eps, momentum
 *
 *   z = Proj(x_k + eta sign(g_k)),  x_{k+1} = Proj(x_k + a (z - x_k) + (1 - a)(x_k - x_{k-1}))
 *
 * with a = 1 on the first step and 0.75 after, and step-size halving at the checkpoints
 * w_0 = 0, w_j = ceil(p_j N), p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06) (the reference
 * counts them in integers: intervals 22, 19, 16, ... down to 6). At a checkpoint the step of an example
 * is halved if its loss increased in at most 75% of the steps since the last checkpoint, or if its step
 * was not halved at the last checkpoint and its best loss did not improve since; a halved example then
 * restarts from its best point. `apgdTargeted` runs the same with the targeted DLR loss towards each of
 * the 9 classes with the highest clean logits other than y, each target from its own random start.
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import { checkEps, checkInputsReading, type Classifier, type Loss, lossGradientLogits, whereRows } from "../core.ts";
import { read, type Reading, runAsync, runSync, type Values } from "../reading.ts";
import { crossEntropy, dlrLoss, targetedDlrLoss } from "../losses.ts";
import { deriveSeed } from "../random.ts";
import { project } from "./project.ts";
import { attackRemainingReading } from "./remaining.ts";

/** Options of `apgd`; defaults are the reference AutoAttack's. */
export interface ApgdOptions {
  /** Linf radius, [0,1] pixel scale. @default 8/255 */
  eps?: number;
  /** Iterations N. @default 100 */
  steps?: number;
  /** Loss: cross-entropy or DLR. @default "ce" */
  loss?: "ce" | "dlr";
  /** Share of increasing steps below which the step is halved. @default 0.75 */
  rho?: number;
  /** Seed of the random start. @default 0 */
  seed?: number;
}

/** What one APGD run found, per example. */
export interface ApgdResult {
  /** The highest-loss point. */
  xBest: tf.Tensor4D;
  /** The last misclassified point found (the random start where none was). */
  xBestAdv: tf.Tensor4D;
  /** The best loss reached. */
  lossBest: Float32Array;
  /** Whether a misclassified point was found. */
  fooled: boolean[];
  /** The step size at the end (2 eps halved once per checkpoint that halved it). */
  stepSize: Float32Array;
}

/** What `apgdRun` reports at each checkpoint (to `onCheckpoint`); tensors are borrowed, not owned. */
export interface ApgdCheckpoint {
  /** Iterations done. */
  iteration: number;
  /** Per example: was the step halved here? */
  halved: boolean[];
  /** Step sizes after this checkpoint. */
  stepSize: Float32Array;
  /** The last iterate, before the restarts. */
  xLast: tf.Tensor4D;
  /** The point the next iteration starts from (x_best where halved, else the last iterate). */
  x: tf.Tensor4D;
  /** The highest-loss point so far. */
  xBest: tf.Tensor4D;
}

/**
 * APGD's checkpoint iterations for `steps` iterations, in the reference's integer arithmetic: the first
 * after max(floor(0.22 N), 1) iterations, each next interval shorter by max(floor(0.03 N), 1), down to
 * max(floor(0.06 N), 1). For N = 100: 0, 22, 41, 57, 70, 80, 87, 93, 99.
 *
 * @param steps Iterations N.
 * @returns Iteration counts at which the step size is checked, starting with 0.
 * @throws {Error} If steps is not an integer >= 1.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { apgdCheckpoints } from "./apgd.ts";
 * assert.deepStrictEqual(apgdCheckpoints(100), [0, 22, 41, 57, 70, 80, 87, 93, 99]);
 * ```
 */
export function apgdCheckpoints(steps: number): number[] {
  if (!(Number.isSafeInteger(steps) && steps >= 1)) {
    throw new Error(`Cannot schedule APGD as steps must be an integer >= 1: current value is ${steps}`);
  }
  const first = Math.max(Math.floor(0.22 * steps), 1);
  const minimum = Math.max(Math.floor(0.06 * steps), 1);
  const decrease = Math.max(Math.floor(0.03 * steps), 1);
  const points = [0];
  for (
    let at = first, interval = first;
    at <= steps;
    interval = Math.max(interval - decrease, minimum), at += interval
  ) {
    points.push(at);
  }
  return points;
}

/**
 * One APGD run with a per-example loss of the logits (higher is better for the attacker), as the module
 * doc writes it, checking the step size at `apgdCheckpoints(steps)`.
 *
 * @param f Classifier.
 * @param x Clean images (checked by the caller).
 * @param y Labels.
 * @param loss Per-example loss to ascend.
 * @param options eps, steps, rho, seed; `onCheckpoint` sees each checkpoint (tests, notebooks).
 * @returns See `ApgdResult`; the caller disposes `xBest` and `xBestAdv`.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { apgdRun } from "./apgd.ts";
 * import { crossEntropy } from "../losses.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7], "int32");
 * const r = apgdRun(f, x, y, crossEntropy, { eps: 1 / 255, steps: 10, rho: 0.75, seed: 0 });
 * assert.strictEqual(r.lossBest.length, 2);
 * tf.dispose([w, x, y, r.xBest, r.xBestAdv]);
 * ```
 */
export function apgdRun(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  loss: Loss,
  options: { eps: number; steps: number; rho: number; seed: number; onCheckpoint?: (c: ApgdCheckpoint) => void },
): ApgdResult {
  return runSync("apgdRun", apgdRunReading(f, x, y, loss, options));
}

/**
 * `apgdRun` as a reading: the labels once, then each iteration's losses and predictions, which APGD's
 * step-size rule needs on the host (one read per iteration).
 *
 * @param f Classifier.
 * @param x Clean images (checked by the caller).
 * @param y Labels.
 * @param loss Per-example loss to ascend.
 * @param options eps, steps, rho, seed, onCheckpoint.
 * @returns A reading of the `ApgdResult`.
 */
export function* apgdRunReading(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  loss: Loss,
  options: { eps: number; steps: number; rho: number; seed: number; onCheckpoint?: (c: ApgdCheckpoint) => void },
): Reading<ApgdResult> {
  const { eps, steps, rho } = options;
  const n = x.shape[0];
  const labels = Array.from((yield* read(y))[0]);
  /** Loss, gradient and misclassification at xs; the caller disposes `grad`. */
  function* evaluate(xs: tf.Tensor4D): Reading<{ loss: Float32Array; grad: tf.Tensor4D; wrong: boolean[] }> {
    // The predictions come from the logits of the gradient's own forward pass.
    const { loss: l, grad, logits } = lossGradientLogits(f, xs, y, loss);
    const pred = tf.tidy(() => tf.argMax(logits, 1));
    try {
      const [lossValues, predValues] = yield* read(l, pred);
      return {
        loss: Float32Array.from(lossValues),
        grad,
        wrong: Array.from(predValues, (p, i) => p !== labels[i]),
      };
    } catch (e) {
      grad.dispose();
      throw e;
    } finally {
      tf.dispose([l, logits, pred]);
    }
  }
  // Random start: x + eps t / |t|_inf, t ~ U(-1, 1)^d.
  let xAdv = tf.tidy(() => {
    const t = tf.randomUniform(x.shape, -1, 1, "float32", options.seed);
    const tInf = tf.reshape(tf.max(tf.abs(tf.reshape(t, [n, -1])), 1), [n, 1, 1, 1]);
    return tf.clipByValue(tf.add(x, tf.mul(eps, tf.div(t, tInf))), 0, 1) as tf.Tensor4D;
  });
  // Every tensor live across the iterations, for the disposal on a throw.
  let grad: tf.Tensor4D | undefined, xBest: tf.Tensor4D | undefined, xBestAdv: tf.Tensor4D | undefined;
  let gradBest: tf.Tensor4D | undefined, xOld: tf.Tensor4D | undefined;
  try {
    let current = yield* evaluate(xAdv);
    grad = current.grad;
    xBest = tf.clone(xAdv), xBestAdv = tf.clone(xAdv), gradBest = tf.clone(grad);
    const fooled = [...current.wrong];
    const lossBest = Float32Array.from(current.loss);
    const stepSize = new Float32Array(n).fill(2 * eps);
    const lossSteps: Float32Array[] = Array.from({ length: steps }, () => new Float32Array(n));
    xOld = tf.clone(xAdv);
    const checkpoints = apgdCheckpoints(steps);
    let lastCheckpoint = 0;
    let lossBestLastCheck = Float32Array.from(lossBest);
    let reducedLastCheck = new Array<boolean>(n).fill(true);
    const replace = (target: tf.Tensor4D, source: tf.Tensor4D, where: boolean[]) => {
      const out = whereRows(where, source, target);
      target.dispose();
      return out;
    };
    for (let i = 0; i < steps; i++) {
      const a = i > 0 ? 0.75 : 1.0;
      const [xa, xo, g] = [xAdv, xOld, grad];
      const next = tf.tidy(() => {
        const step = tf.tensor4d(stepSize, [n, 1, 1, 1]);
        const momentum = tf.sub(xa, xo);
        const z = project(tf.add(xa, tf.mul(step, tf.sign(g))) as tf.Tensor4D, x, eps);
        const moved = tf.add(tf.add(xa, tf.mul(tf.sub(z, xa), a)), tf.mul(momentum, 1 - a)) as tf.Tensor4D;
        return project(moved, x, eps);
      });
      xOld.dispose();
      xOld = xAdv;
      xAdv = next;
      grad.dispose();
      grad = undefined;
      current = yield* evaluate(xAdv);
      grad = current.grad;
      // Keep the misclassified points and the best-loss points.
      const improved = Array.from(current.loss, (l, j) => l > lossBest[j]);
      xBestAdv = replace(xBestAdv, xAdv, current.wrong);
      current.wrong.forEach((w, j) => fooled[j] ||= w);
      xBest = replace(xBest, xAdv, improved);
      gradBest = replace(gradBest, grad, improved);
      improved.forEach((u, j) => u && (lossBest[j] = current.loss[j]));
      lossSteps[i].set(current.loss);
      if (checkpoints.includes(i + 1)) {
        const k = i + 1 - lastCheckpoint;
        lastCheckpoint = i + 1;
        // Condition 1: the loss increased in at most rho * k of the last k steps. The reference reads
        // loss_steps[-1] (its last row, still zero) for the step before the first one; so do we.
        const row = (r: number) => lossSteps[(r + steps) % steps];
        const halve = new Array<boolean>(n);
        for (let j = 0; j < n; j++) {
          let increases = 0;
          for (let c = 0; c < k; c++) if (row(i - c)[j] > row(i - c - 1)[j]) increases++;
          const oscillating = increases <= k * rho;
          // Condition 2: not halved last time, and the best loss did not improve since.
          const stalled = !reducedLastCheck[j] && lossBestLastCheck[j] >= lossBest[j];
          halve[j] = oscillating || stalled;
        }
        reducedLastCheck = halve;
        lossBestLastCheck = Float32Array.from(lossBest);
        const xLast = options.onCheckpoint ? tf.clone(xAdv) : undefined;
        if (halve.some(Boolean)) {
          halve.forEach((h, j) => h && (stepSize[j] /= 2));
          // A halved example restarts from its best point.
          xAdv = replace(xAdv, xBest, halve);
          grad = replace(grad, gradBest, halve);
        }
        if (xLast) {
          const stepSizes = Float32Array.from(stepSize);
          try {
            options.onCheckpoint!({ iteration: i + 1, halved: halve, stepSize: stepSizes, xLast, x: xAdv, xBest });
          } finally {
            xLast.dispose();
          }
        }
      }
    }
    tf.dispose([xAdv, xOld, grad, gradBest]);
    return { xBest, xBestAdv, lossBest, fooled, stepSize };
  } catch (e) {
    tf.dispose([xAdv, grad, xBest, xBestAdv, gradBest, xOld].filter((t): t is tf.Tensor4D => t !== undefined));
    throw e;
  }
}

function resolve(name: string, options: ApgdOptions) {
  const o = { eps: 8 / 255, steps: 100, loss: "ce" as "ce" | "dlr", rho: 0.75, seed: 0, ...options };
  checkEps(name, o.eps);
  if (!Number.isInteger(o.steps) || o.steps < 1) {
    throw new Error(`Cannot run ${name} as steps must be an integer >= 1: current value is ${o.steps}`);
  }
  if (!(typeof o.rho === "number" && o.rho >= 0 && o.rho <= 1)) {
    throw new Error(`Cannot run ${name} as rho must be in [0, 1]: current value is ${o.rho}`);
  }
  if (o.loss !== "ce" && o.loss !== "dlr") {
    throw new Error(`Cannot run ${name} as loss must be ce or dlr: current value is ${o.loss}`);
  }
  if (!Number.isInteger(o.seed)) {
    throw new Error(`Cannot run ${name} as seed must be an integer: current value is ${o.seed}`);
  }
  return o;
}

/**
 * Untargeted APGD with the CE or DLR loss.
 *
 * @param f Classifier (a model in eval mode).
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels, in 0..C-1.
 * @param options See `ApgdOptions`.
 * @returns Per example, the misclassified point found, or else the highest-loss point; in B(x, eps)
 *   and [0,1]. The caller disposes. For 0 images, an empty batch.
 * @throws {Error} If an option is out of range or x, y are malformed.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { apgd } from "./apgd.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7], "int32");
 * const xAdv = apgd(f, x, y, { eps: 8 / 255, steps: 10 });
 * assert.ok(tf.max(tf.abs(tf.sub(xAdv, x))).dataSync()[0] <= 8 / 255 + 1e-6);
 * tf.dispose([w, x, y, xAdv]);
 * ```
 */
export function apgd(f: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, options: ApgdOptions = {}): tf.Tensor4D {
  return runSync("apgd", apgdReading(f, x, y, options));
}

/**
 * `apgd`, reading asynchronously (once per iteration): the way to run APGD on the webgpu backend.
 *
 * @param f Classifier (a model in eval mode).
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels, in 0..C-1.
 * @param options See `ApgdOptions`.
 * @returns As `apgd`; the caller disposes.
 * @throws {Error} As `apgd`.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { apgd, apgdAsync } from "./apgd.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7], "int32");
 * const a = apgd(f, x, y, { steps: 10 }), b = await apgdAsync(f, x, y, { steps: 10 });
 * assert.deepStrictEqual(await b.data(), await a.data());
 * tf.dispose([w, x, y, a, b]);
 * ```
 */
export function apgdAsync(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  options: ApgdOptions = {},
): Promise<tf.Tensor4D> {
  return runAsync(apgdReading(f, x, y, options));
}

/**
 * Untargeted APGD as a reading (`apgd` and `apgdAsync` run it).
 *
 * @param f Classifier.
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels.
 * @param options See `ApgdOptions`.
 * @returns A reading of the adversarial images.
 */
export function* apgdReading(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  options: ApgdOptions = {},
): Reading<tf.Tensor4D> {
  const o = resolve("APGD", options);
  yield* checkInputsReading("APGD", f, x, y);
  if (x.shape[0] === 0) return tf.clone(x);
  const r = yield* apgdRunReading(f, x, y, o.loss === "ce" ? crossEntropy : dlrLoss, o);
  const out = whereRows(r.fooled, r.xBestAdv, r.xBest);
  tf.dispose([r.xBest, r.xBestAdv]);
  return out;
}

/** Options of `apgdTargeted`. */
export interface ApgdTargetedOptions extends Omit<ApgdOptions, "loss"> {
  /** Target classes: the 2nd, 3rd, ... highest clean logits. @default 9 */
  nTargetClasses?: number;
}

/**
 * Per example, the classes by decreasing clean logit: ranks[j][0] is the predicted class, ranks[j][r]
 * the (r + 1)-th highest. APGD-T and FAB-T attack towards ranks[j][1], ranks[j][2], ... in turn.
 *
 * @param f Classifier.
 * @param x Images.
 * @returns One row of class indices per example.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { targetRanks } from "./apgd.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const f = () => tf.tensor2d([[0.1, 3, 2]]);
 * const x = tf.zeros([1, 1, 1, 1]) as tf.Tensor4D;
 * assert.deepStrictEqual(targetRanks(f, x), [[1, 2, 0]]);
 * x.dispose();
 * ```
 */
export function targetRanks(f: Classifier, x: tf.Tensor4D): number[][] {
  return runSync("targetRanks", targetRanksReading(f, x));
}

/**
 * `targetRanks` as a reading: the ranks are read back once.
 *
 * @param f Classifier.
 * @param x Images.
 * @returns A reading of one row of class indices per example.
 */
export function* targetRanksReading(f: Classifier, x: tf.Tensor4D): Reading<number[][]> {
  const order = tf.tidy(() => {
    const logits = f(x);
    return tf.topk(logits, logits.shape[1]).indices;
  });
  let values: Values;
  try {
    [values] = yield* read(order);
  } finally {
    order.dispose();
  }
  const classes = order.shape[1] ?? 0;
  return Array.from({ length: order.shape[0] }, (_, j) => Array.from(values.subarray(j * classes, (j + 1) * classes)));
}

/**
 * APGD-T: APGD with the targeted DLR loss, once per target class t (the 2nd to the
 * (nTargetClasses + 1)-th highest clean logit), each run on the examples not yet misclassified and
 * from its own random start (target rank r draws with `deriveSeed(seed, r)`).
 *
 * @param f Classifier (a model in eval mode).
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels, in 0..C-1.
 * @param options See `ApgdTargetedOptions`.
 * @returns Per example, the first misclassified point found, or else the point of highest targeted
 *   DLR loss over all target runs; in B(x, eps) and [0,1]. The caller disposes.
 * @throws {Error} If an option is out of range or x, y are malformed.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { apgdTargeted } from "./apgd.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7], "int32");
 * const xAdv = apgdTargeted(f, x, y, { eps: 8 / 255, steps: 5, nTargetClasses: 2 });
 * assert.ok(tf.max(tf.abs(tf.sub(xAdv, x))).dataSync()[0] <= 8 / 255 + 1e-6);
 * tf.dispose([w, x, y, xAdv]);
 * ```
 */
export function apgdTargeted(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  options: ApgdTargetedOptions = {},
): tf.Tensor4D {
  return runSync("apgdTargeted", apgdTargetedReading(f, x, y, options));
}

/**
 * `apgdTargeted`, reading asynchronously (once per iteration): the way to run APGD-T on the webgpu backend.
 *
 * @param f Classifier (a model in eval mode).
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels, in 0..C-1.
 * @param options See `ApgdTargetedOptions`.
 * @returns As `apgdTargeted`; the caller disposes.
 * @throws {Error} As `apgdTargeted`.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { apgdTargetedAsync } from "./apgd.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7], "int32");
 * const xAdv = await apgdTargetedAsync(f, x, y, { eps: 8 / 255, steps: 5, nTargetClasses: 2 });
 * assert.ok((await tf.max(tf.abs(tf.sub(xAdv, x))).data())[0] <= 8 / 255 + 1e-6);
 * tf.dispose([w, x, y, xAdv]);
 * ```
 */
export function apgdTargetedAsync(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  options: ApgdTargetedOptions = {},
): Promise<tf.Tensor4D> {
  return runAsync(apgdTargetedReading(f, x, y, options));
}

/**
 * APGD-T as a reading (`apgdTargeted` and `apgdTargetedAsync` run it).
 *
 * @param f Classifier.
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels.
 * @param options See `ApgdTargetedOptions`.
 * @returns A reading of the adversarial images.
 */
export function* apgdTargetedReading(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  options: ApgdTargetedOptions = {},
): Reading<tf.Tensor4D> {
  const o = resolve("APGD-T", options);
  const nTargets = options.nTargetClasses ?? 9;
  if (!Number.isInteger(nTargets) || nTargets < 1) {
    throw new Error(`Cannot run APGD-T as nTargetClasses must be an integer >= 1: current value is ${nTargets}`);
  }
  yield* checkInputsReading("APGD-T", f, x, y);
  if (x.shape[0] === 0) return tf.clone(x);
  const ranks = yield* targetRanksReading(f, x);
  const done = ranks.map(() => false);
  const bestLoss = new Float32Array(ranks.length).fill(-Infinity);
  let adv = tf.clone(x);
  for (let rank = 1; rank <= nTargets && rank < ranks[0].length; rank++) {
    adv = yield* attackRemainingReading(x, y, adv, done, function* (xs, ys, rows) {
      const targets = tf.tensor1d(rows.map((j) => ranks[j][rank]), "int32");
      const targeted: Loss = (logits, labels) => targetedDlrLoss(logits, labels, targets);
      let r: ApgdResult;
      try {
        r = yield* apgdRunReading(f, xs, ys, targeted, { ...o, seed: deriveSeed(o.seed, rank) });
      } finally {
        targets.dispose();
      }
      // Where this target failed, keep its highest-loss point if it beats the earlier targets'.
      const keep = rows.map((j, m) => !r.fooled[m] && r.lossBest[m] > bestLoss[j]);
      keep.forEach((k, m) => k && (bestLoss[rows[m]] = r.lossBest[m]));
      const xRound = whereRows(r.fooled, r.xBestAdv, r.xBest);
      tf.dispose([r.xBest, r.xBestAdv]);
      return { x: xRound, fooled: r.fooled, keep };
    });
  }
  return adv;
}
