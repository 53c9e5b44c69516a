/**
 * FAB-T, Linf (Croce and Hein, ICML 2020, "Minimally distorted adversarial examples with a fast
 * adaptive boundary attack"), targeted, as AutoAttack's standard version runs it: 100 iterations,
 * alpha_max = 0.1, eta = 1.05, beta = 0.9, no random start, once for each of the 9 classes with the
 * highest clean logits other than y. At each iteration, with the decision function of target t
 * linearised at x_k,
 *
 *   F(z) = (z_t - z_y)(x_k) + grad (z_t - z_y)(x_k) . (z - x_k),   hyperplane {z : F(z) = 0},
 *
 *   d_k = Proj_Linf(x_k) - x_k,  d_0 = Proj_Linf(x_orig) - x_orig   (minimal Linf steps onto it, in [0,1]^d)
 *   alpha = min(|d_k|_inf / (|d_k|_inf + |d_0|_inf), alpha_max)
 *   x_{k+1} = clip01((1 - alpha)(x_k + eta d_k) + alpha (x_orig + eta d_0))
 *
 * and whenever x_{k+1} is misclassified, it is kept if closer than the best so far, and pulled back:
 * x_{k+1} <- x_orig + beta (x_{k+1} - x_orig). FAB minimises the distance; AutoAttack counts its
 * result only where that distance is at most eps.
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import { checkEps, checkInputsReading, type Classifier, correctPredictionsReading, lossAndGradient } from "../core.ts";
import { read, type Reading, runAsync, runSync, type Values } from "../reading.ts";
import { targetRanksReading } from "./apgd.ts";
import { attackRemainingReading } from "./remaining.ts";

/** Options of `fabTargeted`; defaults are the reference AutoAttack's. */
export interface FabOptions {
  /** Linf radius within which a found point counts. @default 8/255 */
  eps?: number;
  /** Iterations per target class. @default 100 */
  steps?: number;
  /** Largest weight of the step from the original point. @default 0.1 */
  alphaMax?: number;
  /** Overshoot of the projection step. @default 1.05 */
  eta?: number;
  /** Pull-back towards the original point after a success. @default 0.9 */
  beta?: number;
  /** Target classes: the 2nd, 3rd, ... highest clean logits. @default 9 */
  nTargetClasses?: number;
}

/**
 * The minimal-Linf step d from t onto the hyperplane {z : w . z = b} that keeps t + d in [0,1]^d, as
 * the reference's `projection_linf`: with c = b - w . t, each coordinate moves in the direction
 * s_i = sign(c w_i) by min(r, room_i) (room_i: the distance to the box in that direction), r the
 * smallest radius with sum_i |w_i| min(r, room_i) = |c|. If r <= min_i room_i this is the uniform
 * step r = |c| / |w|_1. Where even the box corner t + s room does not reach the hyperplane, d is that
 * corner's step, d_i = s_i room_i (the reference's d = a - t). Coordinates with w_i = 0 do not move.
 *
 * @param t The point, flattened.
 * @param w The hyperplane's normal.
 * @param b Its offset.
 * @returns d.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { projectLinfOntoHyperplane } from "./fab.ts";
 * const t = new Float32Array([0.25, 0.25]), w = new Float32Array([1, 1]);
 * // x_0 + x_1 = 1.5 from (0.25, 0.25): the uniform step 0.5 on both coordinates.
 * assert.deepStrictEqual(Array.from(projectLinfOntoHyperplane(t, w, 1.5)), [0.5, 0.5]);
 * // x_0 + x_1 = 3 cannot be reached in [0,1]^2: the step to the corner (1, 1).
 * assert.deepStrictEqual(Array.from(projectLinfOntoHyperplane(t, w, 3)), [0.75, 0.75]);
 * ```
 */
export function projectLinfOntoHyperplane(t: Float32Array, w: Float32Array, b: number): Float32Array {
  const dim = t.length;
  let c = b;
  for (let i = 0; i < dim; i++) c -= w[i] * t[i];
  const d = new Float32Array(dim);
  if (c === 0) return d;
  const need = Math.abs(c);
  const room = new Float64Array(dim), weight = new Float64Array(dim), sign = new Int8Array(dim);
  const order: number[] = [];
  let total = 0;
  for (let i = 0; i < dim; i++) {
    if (w[i] === 0) continue;
    sign[i] = Math.sign(c) * Math.sign(w[i]);
    room[i] = sign[i] > 0 ? 1 - t[i] : t[i];
    weight[i] = Math.abs(w[i]);
    total += weight[i];
    order.push(i);
  }
  order.sort((p, q) => room[p] - room[q]);
  // r: the radius at which sum_i |w_i| min(r, room_i) reaches |c|; Infinity where the corner falls short.
  let saturated = 0, remaining = total, r = Infinity;
  for (const i of order) {
    const candidate = (need - saturated) / remaining;
    if (candidate <= room[i]) {
      r = candidate;
      break;
    }
    saturated += weight[i] * room[i];
    remaining -= weight[i];
  }
  for (const i of order) d[i] = sign[i] * Math.min(r, room[i]);
  return d;
}

/**
 * One targeted FAB run on examples that the model classifies correctly, reading synchronously
 * (`fabTargetedRunReading` has the reads).
 *
 * @param f Classifier.
 * @param x0 Clean images.
 * @param y Labels.
 * @param targets Target classes.
 * @returns The closest misclassified point found per example (the clean image where none was) and its
 *   Linf distance (Infinity where none was); the caller disposes `x`.
 */
export function fabTargetedRun(
  f: Classifier,
  x0: tf.Tensor4D,
  y: tf.Tensor1D,
  targets: tf.Tensor1D,
  options: Required<Omit<FabOptions, "eps" | "nTargetClasses">>,
): { x: tf.Tensor4D; distance: Float32Array } {
  return runSync("fabTargetedRun", fabTargetedRunReading(f, x0, y, targets, options));
}

/**
 * `fabTargetedRun` as a reading: the labels and the clean images once, then at each iteration the
 * margin z_t - z_y with its gradient, and the predictions, since FAB's projection onto the hyperplane
 * runs on the host, example by example (two reads per iteration).
 *
 * @param f Classifier.
 * @param x0 Clean images.
 * @param y Labels.
 * @param targets Target classes.
 * @param options steps, alphaMax, eta, beta.
 * @returns A reading of `{ x, distance }` as `fabTargetedRun` returns them.
 */
export function* fabTargetedRunReading(
  f: Classifier,
  x0: tf.Tensor4D,
  y: tf.Tensor1D,
  targets: tf.Tensor1D,
  options: Required<Omit<FabOptions, "eps" | "nTargetClasses">>,
): Reading<{ x: tf.Tensor4D; distance: Float32Array }> {
  const n = x0.shape[0], dim = x0.size / n;
  const [labelValues, originalValues] = yield* read(y, x0);
  const labels = Array.from(labelValues);
  const original = Float32Array.from(originalValues);
  const best = new Float32Array(original); // adv, row by row
  const distance = new Float32Array(n).fill(Infinity);
  let x1 = new Float32Array(original);
  const hot = tf.tidy(() => {
    const classes = f(tf.slice(x0, [0, 0, 0, 0], [1, -1, -1, -1])).shape[1];
    return tf.sub(tf.oneHot(targets, classes), tf.oneHot(y, classes)); // z . hot = z_t - z_y
  });
  try {
    for (let it = 0; it < options.steps; it++) {
      // df = z_t - z_y and its gradient at x1.
      const xs = tf.tensor4d(x1, x0.shape);
      const { loss: dfT, grad: dgT } = lossAndGradient(f, xs, y, (logits) => tf.sum(tf.mul(logits, hot), 1));
      xs.dispose();
      let df: Values, dg: Values;
      try {
        [df, dg] = yield* read(dfT, dgT);
      } finally {
        tf.dispose([dfT, dgT]);
      }
      const next = new Float32Array(x1.length);
      for (let j = 0; j < n; j++) {
        const lo = j * dim, hi = lo + dim;
        const w = (dg as Float32Array).subarray(lo, hi), xk = x1.subarray(lo, hi), xo = original.subarray(lo, hi);
        let b = -df[j];
        for (let i = 0; i < dim; i++) b += w[i] * xk[i];
        const d1 = projectLinfOntoHyperplane(xk, w, b), d2 = projectLinfOntoHyperplane(xo, w, b);
        let a1 = 0, a2 = 0;
        for (let i = 0; i < dim; i++) {
          a1 = Math.max(a1, Math.abs(d1[i]));
          a2 = Math.max(a2, Math.abs(d2[i]));
        }
        a1 = Math.max(a1, 1e-8);
        a2 = Math.max(a2, 1e-8);
        const alpha = Math.min(Math.max(a1 / (a1 + a2), 0), options.alphaMax);
        for (let i = 0; i < dim; i++) {
          const v = (xk[i] + options.eta * d1[i]) * (1 - alpha) + (xo[i] + options.eta * d2[i]) * alpha;
          next[lo + i] = Math.min(Math.max(v, 0), 1);
        }
      }
      x1 = next;
      const predT = tf.tidy(() => tf.argMax(f(tf.tensor4d(x1, x0.shape)), 1));
      let pred: Values;
      try {
        [pred] = yield* read(predT);
      } finally {
        predT.dispose();
      }
      for (let j = 0; j < n; j++) {
        if (pred[j] === labels[j]) continue;
        const lo = j * dim;
        let t = 0;
        for (let i = 0; i < dim; i++) t = Math.max(t, Math.abs(x1[lo + i] - original[lo + i]));
        if (t < distance[j]) {
          distance[j] = t;
          best.set(x1.subarray(lo, lo + dim), lo);
        }
        for (let i = 0; i < dim; i++) x1[lo + i] = original[lo + i] + (x1[lo + i] - original[lo + i]) * options.beta;
      }
    }
  } finally {
    hot.dispose();
  }
  return { x: tf.tensor4d(best, x0.shape), distance };
}

/**
 * FAB-T: targeted FAB towards each of the `nTargetClasses` classes with the highest clean logits other
 * than y, each run on the examples not yet fooled within eps.
 *
 * @param f Classifier (a model in eval mode).
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels, in 0..C-1.
 * @param options See `FabOptions`.
 * @returns Per example, a point misclassified within B(x, eps) where one was found, else the clean
 *   image (FAB's iterates that fail lie outside the ball: it has no in-ball point to offer). The
 *   caller disposes. For 0 images, an empty batch.
 * @throws {Error} If an option is out of range or x, y are malformed.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { fabTargeted } from "./fab.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7], "int32");
 * const xAdv = fabTargeted(f, x, y, { eps: 8 / 255, steps: 5, nTargetClasses: 2 });
 * assert.ok(tf.max(tf.abs(tf.sub(xAdv, x))).dataSync()[0] <= 8 / 255 + 1e-6);
 * tf.dispose([w, x, y, xAdv]);
 * ```
 */
export function fabTargeted(f: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, options: FabOptions = {}): tf.Tensor4D {
  return runSync("fabTargeted", fabTargetedReading(f, x, y, options));
}

/**
 * `fabTargeted`, reading asynchronously (twice per iteration): the way to run FAB-T on the webgpu
 * backend. FAB's projection runs on the host either way, so each iteration copies the images and the
 * gradient to the host and the next images back.
 *
 * @param f Classifier (a model in eval mode).
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels, in 0..C-1.
 * @param options See `FabOptions`.
 * @returns As `fabTargeted`; the caller disposes.
 * @throws {Error} As `fabTargeted`.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { fabTargeted, fabTargetedAsync } from "./fab.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7], "int32");
 * const options = { eps: 8 / 255, steps: 5, nTargetClasses: 2 };
 * const a = fabTargeted(f, x, y, options), b = await fabTargetedAsync(f, x, y, options);
 * assert.deepStrictEqual(await b.data(), await a.data());
 * tf.dispose([w, x, y, a, b]);
 * ```
 */
export function fabTargetedAsync(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  options: FabOptions = {},
): Promise<tf.Tensor4D> {
  return runAsync(fabTargetedReading(f, x, y, options));
}

/**
 * FAB-T as a reading (`fabTargeted` and `fabTargetedAsync` run it).
 *
 * @param f Classifier.
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels.
 * @param options See `FabOptions`.
 * @returns A reading of the adversarial images.
 */
export function* fabTargetedReading(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  options: FabOptions = {},
): Reading<tf.Tensor4D> {
  const o = { eps: 8 / 255, steps: 100, alphaMax: 0.1, eta: 1.05, beta: 0.9, nTargetClasses: 9, ...options };
  checkEps("FAB-T", o.eps);
  for (
    const [name, value, ok] of [
      ["steps", o.steps, Number.isInteger(o.steps) && o.steps >= 1],
      ["nTargetClasses", o.nTargetClasses, Number.isInteger(o.nTargetClasses) && o.nTargetClasses >= 1],
      ["alphaMax", o.alphaMax, o.alphaMax >= 0 && o.alphaMax <= 1],
      ["eta", o.eta, o.eta >= 1 && o.eta < Infinity],
      ["beta", o.beta, o.beta > 0 && o.beta <= 1],
    ] as const
  ) {
    if (!ok) throw new Error(`Cannot run FAB-T as ${name} is out of range: current value is ${value}`);
  }
  yield* checkInputsReading("FAB-T", f, x, y);
  if (x.shape[0] === 0) return tf.clone(x);
  const ranks = yield* targetRanksReading(f, x);
  // Points misclassified clean are not attacked (ranks[j][0] is then not y).
  const done = (yield* correctPredictionsReading(f, x, y)).map((correct) => !correct);
  let adv = tf.clone(x);
  for (let rank = 1; rank <= o.nTargetClasses && rank < ranks[0].length; rank++) {
    adv = yield* attackRemainingReading(x, y, adv, done, function* (xs, ys, rows) {
      const targets = tf.tensor1d(rows.map((j) => ranks[j][rank]), "int32");
      try {
        const r = yield* fabTargetedRunReading(f, xs, ys, targets, o);
        return { x: r.x, fooled: Array.from(r.distance, (d) => d <= o.eps) };
      } finally {
        targets.dispose();
      }
    });
  }
  return adv;
}
