/**
 * Ground truth for the Hessian tools (SPEC section 2): a linear softmax model z = W^T x + b has the
 * input Hessian of its cross-entropy in closed form,
 *   hess_x L = W (diag(p) - p p^T) W^T,   p = softmax(W^T x + b),
 * independent of the label (W here is [d, classes], so z = x W + b for a row x).
 *
 * @module
 */
import { tf } from "../tfjs.ts";

/**
 * The input Hessian of the cross-entropy of a linear softmax model, for each example.
 *
 * @param w Weights [d, classes].
 * @param b Bias [classes].
 * @param x Inputs [n, ...] with d values each.
 * @param _y Labels (the Hessian does not depend on them; kept for the SPEC's signature).
 * @returns [n, d, d]; the caller disposes.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { linearSoftmaxHessian } from "./linear_softmax.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * // d = 1, two classes, z = (x, 0) at x = 0: p = (1/2, 1/2), H = 1 * (1/4) * 1 = 0.25.
 * const w = tf.tensor2d([[1, 0]]), b = tf.zeros([2]) as tf.Tensor1D, x = tf.zeros([1, 1]);
 * assert.deepStrictEqual(linearSoftmaxHessian(w, b, x).arraySync(), [[[0.25]]]);
 * ```
 */
export function linearSoftmaxHessian(w: tf.Tensor2D, b: tf.Tensor1D, x: tf.Tensor, _y?: tf.Tensor1D): tf.Tensor3D {
  return tf.tidy(() => {
    const n = x.shape[0];
    const p = tf.softmax(tf.add(tf.matMul(tf.reshape(x, [n, -1]), w), b)) as tf.Tensor2D; // [n, C]
    const diag = tf.mul(tf.expandDims(p, 1), tf.eye(p.shape[1])); // [n, C, C]
    const outer = tf.matMul(tf.expandDims(p, 2), tf.expandDims(p, 1)); // [n, C, C]
    const middle = tf.sub(diag, outer);
    const wb = tf.broadcastTo(tf.expandDims(w, 0), [n, ...w.shape]) as tf.Tensor3D; // [n, d, C]
    return tf.matMul(tf.matMul(wb, middle as tf.Tensor3D), wb, false, true) as tf.Tensor3D;
  });
}
