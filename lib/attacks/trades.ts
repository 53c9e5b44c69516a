/**
 * TRADES' inner maximisation (Zhang et al. 2019), SPEC section 4: the adversarial images TRADES trains on,
 *
 *   x' = argmax_{x' in B(x, eps)} KL(f(x) || f(x')),
 *
 * by `steps` signed gradient steps of size `alpha` on the KL from x + 0.001 N(0, I), each projected onto
 * B(x, eps) and [0,1]. The labels play no part: the attack moves away from the model's own clean output.
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import { type Classifier, lossAndGradient } from "../core.ts";
import { klDivergence } from "../losses.ts";
import { normalSeed } from "../random.ts";
import { project } from "./project.ts";

/** Options of `tradesAttack` (every one required: training passes its own). */
export interface TradesAttackOptions {
  /** Linf radius, [0,1] pixel scale (TRADES: 8/255). */
  eps: number;
  /** Step size (TRADES: 2/255). */
  alpha: number;
  /** Steps (TRADES: 10). */
  steps: number;
  /** Seed of the N(0, I) start. */
  seed: number;
}

/**
 * TRADES' inner maximisation: x' maximising KL(f(x) || f(x')) over B(x, eps) by `steps` signed
 * gradient steps of size `alpha` from x + 0.001 N(0, I), each projected.
 *
 * @param f Classifier (in eval mode, so that examples do not interact).
 * @param x Clean images, NHWC in [0,1].
 * @param options eps, alpha, steps, seed.
 * @returns x' in B(x, eps) and [0,1]; the caller disposes.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tradesAttack } from "./trades.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const xAdv = tradesAttack(f, x, { eps: 8 / 255, alpha: 2 / 255, steps: 3, seed: 0 });
 * assert.ok(tf.max(tf.abs(tf.sub(xAdv, x))).dataSync()[0] <= 8 / 255 + 1e-6);
 * tf.dispose([w, x, xAdv]);
 * ```
 */
export function tradesAttack(f: Classifier, x: tf.Tensor4D, options: TradesAttackOptions): tf.Tensor4D {
  const clean = tf.tidy(() => f(x));
  let xAdv = tf.tidy(() =>
    project(
      tf.add(x, tf.mul(tf.randomNormal(x.shape, 0, 1, "float32", normalSeed(options.seed)), 0.001)),
      x,
      options.eps,
    )
  );
  const dummy = tf.zeros([x.shape[0]], "int32") as tf.Tensor1D;
  for (let t = 0; t < options.steps; t++) {
    const next = tf.tidy(() => {
      const { grad } = lossAndGradient(f, xAdv, dummy, (logits) => klDivergence(clean, logits));
      return project(tf.add(xAdv, tf.mul(tf.sign(grad), options.alpha)) as tf.Tensor4D, x, options.eps);
    });
    xAdv.dispose();
    xAdv = next;
  }
  tf.dispose([clean, dummy]);
  return xAdv;
}
