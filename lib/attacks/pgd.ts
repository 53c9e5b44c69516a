/**
 * PGD (Madry et al. 2017), SPEC section 1: random start x ~ U(B(x0, eps)), then `steps` times
 * x <- Proj_{B(x0, eps)}(x + alpha sign(g(x))) (L2: alpha g / |g|_2). With `restarts` > 1, each
 * example keeps the first restart that fools the model, else the one of highest loss.
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import { checkEps, checkInputsReading, type Classifier, lossAndGradient, type Norm } from "../core.ts";
import { type Reading, runAsync, runSync } from "../reading.ts";
import { crossEntropy } from "../losses.ts";
import { deriveSeed } from "../random.ts";
import { ascentDirection, project, randomStart } from "./project.ts";

/** Options of `pgd`. */
export interface PgdOptions {
  /** Radius on the [0,1] pixel scale. @default 8/255 Linf (the paper), 0.5 L2 */
  eps?: number;
  /** Step size. @default 2/255 Linf (the paper), eps / 4 L2 */
  alpha?: number;
  /** Number of steps. @default 10 (the paper's training attack) */
  steps?: number;
  /** Start at a uniform random point of the ball. @default true */
  randomStart?: boolean;
  /** Independent runs; per example the first that fools, else the highest loss. @default 1 */
  restarts?: number;
  /** Ball norm. @default "linf" */
  norm?: Norm;
  /** Seed of the random starts (restart r draws with `deriveSeed(seed, r)`; restart 0 with seed). @default 0 */
  seed?: number;
}

/**
 * Projected gradient descent on the loss (ascent), per SPEC section 1, as a reading: its one read is
 * the input check (`checkInputsReading`); the steps run on the device. `pgd` runs it synchronously,
 * `pgdAsync` asynchronously.
 *
 * @param f Classifier.
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels, in 0..C-1.
 * @param options See `PgdOptions`.
 * @returns A reading of the adversarial images (as `pgd` returns them).
 */
export function* pgdReading(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  options: PgdOptions = {},
): Reading<tf.Tensor4D> {
  const norm = options.norm ?? "linf";
  const eps = options.eps ?? (norm === "linf" ? 8 / 255 : 0.5);
  const alpha = options.alpha ?? (norm === "linf" ? 2 / 255 : eps / 4);
  const steps = options.steps ?? 10, restarts = options.restarts ?? 1, seed = options.seed ?? 0;
  checkEps("PGD", eps, norm, x.size / Math.max(x.shape[0], 1));
  if (!(typeof alpha === "number" && alpha > 0 && alpha < Infinity)) {
    throw new Error(`Cannot run PGD as alpha must be > 0: current value is ${alpha}`);
  }
  if (!Number.isInteger(steps) || steps < 0) {
    throw new Error(`Cannot run PGD as steps must be an integer >= 0: current value is ${steps}`);
  }
  if (!Number.isInteger(restarts) || restarts < 1) {
    throw new Error(`Cannot run PGD as restarts must be an integer >= 1: current value is ${restarts}`);
  }
  if (!Number.isInteger(seed)) throw new Error(`Cannot run PGD as seed must be an integer: current value is ${seed}`);
  if (options.randomStart !== undefined && typeof options.randomStart !== "boolean") {
    throw new Error(`Cannot run PGD as randomStart must be true or false: current value is ${options.randomStart}`);
  }
  yield* checkInputsReading("PGD", f, x, y);
  if (x.shape[0] === 0) return tf.clone(x);
  return steepest(f, x, y, { norm, eps, alpha, steps, restarts, seed, randomStart: options.randomStart ?? true });
}

/**
 * Projected gradient descent on the loss (ascent), per SPEC section 1, reading its inputs'
 * check synchronously (`pgdAsync` reads asynchronously, as the webgpu backend needs).
 *
 * @param f Classifier.
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels, in 0..C-1.
 * @param options See `PgdOptions`.
 * @returns Adversarial images in B(x0, eps) and [0,1]: the last iterate (with restarts, per example
 *   the first restart that fools, else the highest-loss one), whether or not it fools the model; the
 *   caller disposes. For 0 images, an empty batch.
 * @throws {Error} If eps, alpha, steps, restarts or seed are out of range, or x, y are malformed.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { pgd } from "./pgd.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7], "int32");
 * const xAdv = pgd(f, x, y, { eps: 8 / 255, alpha: 2 / 255, steps: 5 });
 * assert.ok(tf.max(tf.abs(tf.sub(xAdv, x))).dataSync()[0] <= 8 / 255 + 1e-6);
 * tf.dispose([w, x, y, xAdv]);
 * ```
 */
export function pgd(f: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, options: PgdOptions = {}): tf.Tensor4D {
  return runSync("pgd", pgdReading(f, x, y, options));
}

/**
 * `pgd`, reading its inputs' check asynchronously: the way to run PGD on the webgpu backend.
 *
 * @param f Classifier.
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels, in 0..C-1.
 * @param options See `PgdOptions`.
 * @returns As `pgd`; the caller disposes.
 * @throws {Error} As `pgd`.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { pgd, pgdAsync } from "./pgd.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7], "int32");
 * const a = pgd(f, x, y, { steps: 3, seed: 1 }), b = await pgdAsync(f, x, y, { steps: 3, seed: 1 });
 * assert.deepStrictEqual(await b.data(), await a.data()); // the same attack, read either way
 * tf.dispose([w, x, y, a, b]);
 * ```
 */
export function pgdAsync(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  options: PgdOptions = {},
): Promise<tf.Tensor4D> {
  return runAsync(pgdReading(f, x, y, options));
}

/** PGD's steps on checked inputs (no read): the restarts, each from its own random start. */
function steepest(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  o: { norm: Norm; eps: number; alpha: number; steps: number; restarts: number; seed: number; randomStart: boolean },
): tf.Tensor4D {
  const { norm, eps, alpha, steps, restarts, seed } = o;
  // On a throw (the model's, say), tf.tidy disposes every tensor made here.
  return tf.tidy(() => {
    let best: tf.Tensor4D | undefined, bestLoss: tf.Tensor1D | undefined, bestFooled: tf.Tensor1D | undefined;
    for (let r = 0; r < restarts; r++) {
      let xr = o.randomStart ? randomStart(x, eps, norm, deriveSeed(seed, r)) : tf.clone(x);
      for (let t = 0; t < steps; t++) {
        const next = tf.tidy(() => {
          const { grad } = lossAndGradient(f, xr, y);
          return project(tf.add(xr, tf.mul(ascentDirection(grad, norm), alpha)) as tf.Tensor4D, x, eps, norm);
        });
        xr.dispose();
        xr = next;
      }
      if (restarts === 1) return xr;
      const [loss, fooled] = tf.tidy(() => {
        const logits = f(xr);
        return [crossEntropy(logits, y), tf.cast(tf.notEqual(tf.argMax(logits, 1), y), "float32") as tf.Tensor1D];
      });
      if (best === undefined) {
        [best, bestLoss, bestFooled] = [xr, loss, fooled];
        continue;
      }
      // Take restart r where the best so far does not fool and (r fools, or r has higher loss without fooling).
      const [nb, nl, nf] = tf.tidy(() => {
        const notYet = tf.equal(bestFooled!, 0);
        const better = tf.logicalAnd(notYet, tf.logicalOr(tf.equal(fooled, 1), tf.greater(loss, bestLoss!)));
        const pick4 = tf.reshape(better, [-1, 1, 1, 1]);
        return [
          tf.where(tf.broadcastTo(pick4, x.shape), xr, best!) as tf.Tensor4D,
          tf.where(better, loss, bestLoss!) as tf.Tensor1D,
          tf.where(better, fooled, bestFooled!) as tf.Tensor1D,
        ];
      });
      tf.dispose([best, bestLoss!, bestFooled!, xr, loss, fooled]);
      [best, bestLoss, bestFooled] = [nb, nl, nf];
    }
    tf.dispose([bestLoss!, bestFooled!]);
    return best!;
  });
}
