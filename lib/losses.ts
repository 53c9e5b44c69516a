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

/**
 * Per-example Kullback-Leibler divergence KL(p || q) = sum_j p_j (log p_j - log q_j), with
 * p = softmax(logitsP) and q = softmax(logitsQ): the TRADES regulariser (Zhang et al. 2019) with p the
 * clean prediction and q the adversarial one.
 *
 * @param logitsP [n, classes].
 * @param logitsQ [n, classes].
 * @returns [n] divergences (>= 0); the caller disposes.
 */
export function klDivergence(logitsP: tf.Tensor2D, logitsQ: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const logP = tf.logSoftmax(logitsP);
    return tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, tf.logSoftmax(logitsQ))), 1) as tf.Tensor1D;
  });
}
