/**
 * FGSM (Goodfellow et al. 2014), SPEC section 1: x = clip01(x0 + eps sign(g(x0))), or in L2
 * x = clip01(x0 + eps g / |g|_2).
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import { checkEps, checkInputsReading, type Classifier, lossAndGradient, type Norm } from "../core.ts";
import { type Reading, runAsync, runSync } from "../reading.ts";
import { ascentDirection, project } from "./project.ts";

/** Options of `fgsm`. */
export interface FgsmOptions {
  /** Radius on the [0,1] pixel scale. @default 8/255 (the paper's eps) */
  eps?: number;
  /** Ball norm. @default "linf" */
  norm?: Norm;
}

/**
 * Fast gradient sign method: one step of size eps along the ascent direction.
 *
 * @param f Classifier (logits of images in [0,1]).
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels, in 0..C-1.
 * @param options `eps` (default 8/255), `norm` (default "linf").
 * @returns Adversarial images in B(x0, eps) and [0,1] (whether or not they fool the model); the
 *   caller disposes. For 0 images, an empty batch.
 * @throws {Error} If eps is out of range or x, y have bad shapes or values.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { fgsm } from "./fgsm.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7], "int32");
 * const xAdv = fgsm(f, x, y, { eps: 8 / 255 });
 * assert.ok(tf.max(tf.abs(tf.sub(xAdv, x))).dataSync()[0] <= 8 / 255 + 1e-6);
 * tf.dispose([w, x, y, xAdv]);
 * ```
 */
export function fgsm(f: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, options: FgsmOptions = {}): tf.Tensor4D {
  return runSync("fgsm", fgsmReading(f, x, y, options));
}

/**
 * `fgsm`, reading its inputs' check asynchronously: the way to run FGSM on the webgpu backend.
 *
 * @param f Classifier (logits of images in [0,1]).
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels, in 0..C-1.
 * @param options `eps` (default 8/255), `norm` (default "linf").
 * @returns As `fgsm`; the caller disposes.
 * @throws {Error} As `fgsm`.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { fgsmAsync } from "./fgsm.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7], "int32");
 * const xAdv = await fgsmAsync(f, x, y, { eps: 8 / 255 });
 * assert.ok((await tf.max(tf.abs(tf.sub(xAdv, x))).data())[0] <= 8 / 255 + 1e-6);
 * tf.dispose([w, x, y, xAdv]);
 * ```
 */
export function fgsmAsync(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  options: FgsmOptions = {},
): Promise<tf.Tensor4D> {
  return runAsync(fgsmReading(f, x, y, options));
}

/**
 * FGSM as a reading (its one read: the input check); `fgsm` and `fgsmAsync` run it.
 *
 * @param f Classifier.
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels.
 * @param options `eps`, `norm`.
 * @returns A reading of the adversarial images.
 */
export function* fgsmReading(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  options: FgsmOptions = {},
): Reading<tf.Tensor4D> {
  const eps = options.eps ?? 8 / 255, norm = options.norm ?? "linf";
  checkEps("FGSM", eps, norm, x.size / Math.max(x.shape[0], 1));
  yield* checkInputsReading("FGSM", f, x, y);
  if (x.shape[0] === 0) return tf.clone(x);
  return tf.tidy(() => {
    const { grad } = lossAndGradient(f, x, y);
    return project(tf.add(x, tf.mul(ascentDirection(grad, norm), eps)) as tf.Tensor4D, x, eps, norm);
  });
}
