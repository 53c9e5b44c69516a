/**
 * Square Attack, Linf (Andriushchenko, Croce, Flammarion, Hein, ECCV 2020), as AutoAttack runs it:
 * gradient-free random search on the margin loss m(x) = z_y - max_{i != y} z_i, 5000 queries (`steps`), p_init =
 * 0.8 with the reference's schedule (p halves at queries 10, 50, 200, 500, 1000, 2000, 4000, 6000,
 * 8000; AutoAttack does not rescale it to the query budget).
 *
 *   start: x_best = clip01(x + eps s), s in {-1, +1} per column and channel (vertical stripes)
 *   query i: a square of side max(round(sqrt(p_i hw)), 1) at a random place, one random sign per
 *            channel, x_new = clip01(Proj_{B(x, eps)}(x_best + 2 eps sign inside the square));
 *            x_best <- x_new where m(x_new) < m(x_best) (or x_new is misclassified)
 *
 * Only the examples still classified correctly are queried. As in the reference, the square and the
 * signs of one query are the same for every example of the batch.
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import { checkEps, checkInputsReading, type Classifier, replaceRows } from "../core.ts";
import { read, type Reading, runAsync, runSync } from "../reading.ts";
import { margin } from "../losses.ts";
import { seededRandom } from "../random.ts";

/** Options of `square`; defaults are the reference AutoAttack's. */
export interface SquareOptions {
  /** Linf radius. @default 8/255 */
  eps?: number;
  /** Iterations: queries per example. @default 5000 */
  steps?: number;
  /** Initial share of pixels changed by a square. @default 0.8 */
  pInit?: number;
  /** Rescale the schedule to `steps` as if they were 10,000 (AutoAttack: false). @default false */
  rescaleSchedule?: boolean;
  /** Seed of the random search. @default 0 */
  seed?: number;
}

/**
 * The reference's schedule of p, the share of pixels a square covers, at query `it`.
 *
 * @param it Query index (0-based).
 * @param pInit p at the start (0.8).
 * @param nQueries The budget, used only with `rescale`.
 * @param rescale Map `it` to a 10,000-query budget first.
 * @returns p.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { squareSchedule } from "./square.ts";
 * assert.strictEqual(squareSchedule(0, 0.8), 0.8);
 * assert.strictEqual(squareSchedule(11, 0.8), 0.4);
 * ```
 */
export function squareSchedule(it: number, pInit: number, nQueries = 10000, rescale = false): number {
  const i = rescale ? Math.floor(it / nQueries * 10000) : it;
  const bounds = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000];
  let halvings = 0;
  for (const bound of bounds) if (i > bound) halvings++;
  return pInit / 2 ** halvings;
}

/**
 * Square Attack (Linf, margin loss), without gradients.
 *
 * @param f Classifier (called on images only; never differentiated).
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels, in 0..C-1.
 * @param options See `SquareOptions`.
 * @returns The best point found per example (misclassified where the attack succeeded, else the one
 *   of lowest margin); in B(x, eps) and [0,1]. The caller disposes. For 0 images, an empty batch.
 * @throws {Error} If an option is out of range or x, y are malformed.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { square } from "./square.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7], "int32");
 * const xAdv = square(f, x, y, { eps: 8 / 255, steps: 20 });
 * assert.ok(tf.max(tf.abs(tf.sub(xAdv, x))).dataSync()[0] <= 8 / 255 + 1e-6);
 * tf.dispose([w, x, y, xAdv]);
 * ```
 */
export function square(f: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, options: SquareOptions = {}): tf.Tensor4D {
  return runSync("square", squareReading(f, x, y, options));
}

/**
 * `square`, reading asynchronously (the margins once per query): the way to run Square on the webgpu
 * backend.
 *
 * @param f Classifier (called on images only; never differentiated).
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels, in 0..C-1.
 * @param options See `SquareOptions`.
 * @returns As `square`; the caller disposes.
 * @throws {Error} As `square`.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { square, squareAsync } from "./square.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7], "int32");
 * const a = square(f, x, y, { steps: 20 }), b = await squareAsync(f, x, y, { steps: 20 });
 * assert.deepStrictEqual(await b.data(), await a.data());
 * tf.dispose([w, x, y, a, b]);
 * ```
 */
export function squareAsync(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  options: SquareOptions = {},
): Promise<tf.Tensor4D> {
  return runAsync(squareReading(f, x, y, options));
}

/**
 * Square as a reading (`square` and `squareAsync` run it): the input check, then the margins of the
 * start and of each query, which choose the examples still to query.
 *
 * @param f Classifier.
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels.
 * @param options See `SquareOptions`.
 * @returns A reading of the adversarial images.
 */
export function* squareReading(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  options: SquareOptions = {},
): Reading<tf.Tensor4D> {
  const o = { eps: 8 / 255, steps: 5000, pInit: 0.8, rescaleSchedule: false, seed: 0, ...options };
  checkEps("Square", o.eps);
  if (!Number.isInteger(o.steps) || o.steps < 0) {
    throw new Error(`Cannot run Square as steps must be an integer >= 0: current value is ${o.steps}`);
  }
  if (!(o.pInit > 0 && o.pInit <= 1)) {
    throw new Error(`Cannot run Square as pInit must be in (0, 1]: current value is ${o.pInit}`);
  }
  if (!Number.isInteger(o.seed)) {
    throw new Error(`Cannot run Square as seed must be an integer: current value is ${o.seed}`);
  }
  yield* checkInputsReading("Square", f, x, y);
  if (x.shape[0] === 0) return tf.clone(x);
  const [n, h, w, c] = x.shape;
  const random = seededRandom(o.seed);
  const sign = () => (random() < 0.5 ? -1 : 1);
  function* marginOf(xs: tf.Tensor4D, ys: tf.Tensor1D): Reading<Float32Array> {
    const m = tf.tidy(() => margin(f(xs), ys));
    try {
      return Float32Array.from((yield* read(m))[0]);
    } finally {
      m.dispose();
    }
  }
  // Start: vertical stripes, one sign per (example, column, channel).
  let xBest = tf.tidy(() => {
    const stripes = tf.tensor4d(Array.from({ length: n * w * c }, sign), [n, 1, w, c]);
    return tf.clipByValue(tf.add(x, tf.mul(stripes, o.eps)), 0, 1) as tf.Tensor4D;
  });
  try {
    const marginMin = yield* marginOf(xBest, y);
    for (let it = 0; it < o.steps; it++) {
      const todo = Array.from(marginMin.keys()).filter((j) => marginMin[j] > 0);
      if (todo.length === 0) break;
      const p = squareSchedule(it, o.pInit, o.steps, o.rescaleSchedule);
      const s = Math.max(Math.round(Math.sqrt(p * h * w)), 1);
      const vh = Math.floor(random() * (h - s)), vw = Math.floor(random() * (w - s));
      const signs = Array.from({ length: c }, sign);
      const idx = tf.tensor1d(todo, "int32");
      const best = xBest;
      const [xNew, ys] = tf.tidy(() => {
        const xs = tf.gather(x, idx) as tf.Tensor4D, kept = tf.gather(best, idx) as tf.Tensor4D;
        const delta = tf.buffer([1, h, w, c], "float32");
        for (let a = vh; a < vh + s; a++) {
          for (let b = vw; b < vw + s; b++) {
            for (let ch = 0; ch < c; ch++) delta.set(2 * o.eps * signs[ch], 0, a, b, ch);
          }
        }
        const moved = tf.add(kept, delta.toTensor());
        const projected = tf.minimum(tf.maximum(moved, tf.sub(xs, o.eps)), tf.add(xs, o.eps));
        return [tf.clipByValue(projected, 0, 1) as tf.Tensor4D, tf.gather(y, idx) as tf.Tensor1D];
      });
      try {
        const m = yield* marginOf(xNew, ys);
        // The margin is the loss here: a lower one, or a misclassification, replaces x_best.
        const rows = todo.flatMap((j, k): [number, number][] => (m[k] < marginMin[j] || m[k] <= 0) ? [[j, k]] : []);
        if (rows.length > 0) {
          const next = replaceRows(xBest, xNew, rows);
          xBest.dispose();
          xBest = next;
          for (const [j, k] of rows) marginMin[j] = m[k];
        }
      } finally {
        tf.dispose([idx, xNew, ys]);
      }
    }
  } catch (e) {
    xBest.dispose();
    throw e;
  }
  return xBest;
}
