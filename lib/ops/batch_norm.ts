/**
 * Batch normalization in training mode, with the batch's statistics:
 *
 *   mean_c = avg x, var_c = avg (x - mean_c)^2 (over n, h, w; biased), y = gamma_c (x - mean_c) / sqrt(var_c + eps) + beta_c.
 *
 * Where the backend has the fused kernel (`wasm + oneDNN`: one primitive forward, one backward) it runs
 * as one kernel with its own gradient; elsewhere as TensorFlow.js ops, folded into one scale and shift
 * per channel so that its gradient needs only broadcasting products and sums (`tf.batchNorm`'s gradient
 * tiles every per-channel term to the activation's shape). Both give the same numbers to float32
 * rounding (`tests/ops/batch_norm_test.ts`).
 *
 * @module
 */
import { tf } from "../tfjs.ts";

/** The fused forward kernel: inputs x (NHWC), scale, offset; outputs y, mean, variance. */
export const BATCH_NORM_TRAINING = "HaatBatchNormTraining";
/** Its gradient: inputs dy, x, scale, offset, mean, variance; outputs dx, dscale, doffset. */
export const BATCH_NORM_TRAINING_GRAD = "HaatBatchNormTrainingGrad";

if (tf.getGradient(BATCH_NORM_TRAINING) === undefined) {
  tf.registerGradient({
    kernelName: BATCH_NORM_TRAINING,
    inputsToSave: ["x", "scale", "offset"],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      // Only y is differentiated: the statistics feed the running averages, outside any gradient.
      const dy = (dys as tf.Tensor[])[0];
      const [x, scale, offset, mean, variance] = saved;
      // One kernel gives all three gradients; computed here, once, and handed out below.
      const [dx, dscale, doffset] = tf.engine().runKernel(
        BATCH_NORM_TRAINING_GRAD,
        { dy, x, scale, offset, mean, variance },
        attrs as tf.NamedAttrMap,
      ) as tf.Tensor[];
      return { x: () => dx, scale: () => dscale, offset: () => doffset };
    },
  });
}

/** The output and the batch statistics of `batchNormTraining`. */
export interface BatchNormResult {
  /** The normalised, scaled and shifted activation. */
  y: tf.Tensor4D;
  /** Per-channel batch mean. */
  mean: tf.Tensor1D;
  /** Per-channel biased batch variance (divided by n h w). */
  variance: tf.Tensor1D;
}

/**
 * y = gamma (x - mean) / sqrt(var + eps) + beta with the batch's per-channel mean and biased variance.
 *
 * @param x NHWC activation.
 * @param gamma Per-channel scale.
 * @param beta Per-channel shift.
 * @param epsilon Added to the variance (PyTorch's default, 1e-5, in this project's ResNet18).
 * @returns y and the statistics; the caller disposes them.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { batchNormTraining } from "./batch_norm.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * // One channel holding 1 and 3: mean 2, variance 1, so y = (x - 2) / sqrt(1 + eps) = -1, 1 (nearly).
 * const { y, mean, variance } = batchNormTraining(tf.tensor4d([1, 3], [2, 1, 1, 1]), tf.ones([1]), tf.zeros([1]), 1e-5);
 * assert.deepStrictEqual(Array.from(y.dataSync(), (v) => +v.toFixed(4)), [-1, 1]);
 * assert.strictEqual(mean.dataSync()[0], 2);
 * assert.strictEqual(variance.dataSync()[0], 1);
 * ```
 */
export function batchNormTraining(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
): BatchNormResult {
  if (tf.getKernel(BATCH_NORM_TRAINING, tf.getBackend()) !== undefined) {
    const [y, mean, variance] = tf.engine().runKernel(
      BATCH_NORM_TRAINING,
      { x, scale: gamma, offset: beta },
      { epsilon } as unknown as tf.NamedAttrMap,
    ) as tf.Tensor[];
    return { y: y as tf.Tensor4D, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    const scale = tf.mul(gamma, tf.rsqrt(tf.add(variance, epsilon)));
    const shift = tf.sub(beta, tf.mul(mean, scale));
    return {
      y: tf.add(tf.mul(x, scale), shift) as tf.Tensor4D,
      mean: mean as tf.Tensor1D,
      variance: variance as tf.Tensor1D,
    };
  });
}
