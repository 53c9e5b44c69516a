/**
 * Losses over logits, written with plain ops (no custom gradients) so that they can be differentiated
 * twice.
 *
 * @module
 */
import { tf } from "./backend.ts";

/**
 * Per-example cross-entropy L(z, y) = log sum_j exp(z_j) - z_y.
 *
 * @param logits [n, classes].
 * @param labels int32 [n].
 * @returns [n] losses; the caller disposes.
 */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const picked = tf.sum(tf.mul(logits, tf.oneHot(labels, logits.shape[1])), 1);
    return tf.sub(tf.logSumExp(logits, 1), picked) as tf.Tensor1D;
  });
}
