/**
 * FGSM with a random start (Wong, Rice and Kolter 2020, "fast adversarial training"), SPEC section 4's
 * `"fgsm-rs"` objective:
 *
 *   x' = Proj_{B(x, eps)}(x_s + 1.25 eps sign(grad_x L(x_s))),   x_s ~ U(B(x, eps)) clipped to [0,1].
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import { type Classifier, lossAndGradient } from "../core.ts";
import { project, randomStart } from "./project.ts";

/** Options of `fgsmRs` (every one required: training passes its own). */
export interface FgsmRsOptions {
  /** Linf radius, [0,1] pixel scale. */
  eps: number;
  /** Seed of the uniform start. */
  seed: number;
}

/** The step of FGSM-RS, as a multiple of eps (Wong et al. 2020: 1.25). */
export const FGSM_RS_STEP = 1.25;

/**
 * FGSM-RS: a uniform random start in B(x, eps), then one signed gradient step of 1.25 eps, projected.
 *
 * @param f Classifier (in eval mode).
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels.
 * @param options eps, seed.
 * @returns x' in B(x, eps) and [0,1]; the caller disposes.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { fgsmRs } from "./fgsm_rs.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7], "int32");
 * const xAdv = fgsmRs(f, x, y, { eps: 8 / 255, seed: 0 });
 * assert.ok(tf.max(tf.abs(tf.sub(xAdv, x))).dataSync()[0] <= 8 / 255 + 1e-6);
 * tf.dispose([w, x, y, xAdv]);
 * ```
 */
export function fgsmRs(f: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, options: FgsmRsOptions): tf.Tensor4D {
  return tf.tidy(() => {
    const start = randomStart(x, options.eps, "linf", options.seed);
    const { grad } = lossAndGradient(f, start, y);
    return project(tf.add(start, tf.mul(tf.sign(grad), FGSM_RS_STEP * options.eps)) as tf.Tensor4D, x, options.eps);
  });
}
