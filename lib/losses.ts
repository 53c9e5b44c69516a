/**
 * Losses over logits, written with plain ops (no custom gradients) so that they can be differentiated
 * twice. Importing this module also registers the zero derivative of comparison ops (below), which
 * every differentiation of a loss or model needs; it therefore holds wherever a loss is computed,
 * whatever the backend and whether or not `useBackend()` ran.
 *
 * @module
 */
import { tf } from "./tfjs.ts";

/**
 * Comparison ops are piecewise constant, so their derivative is zero almost everywhere:
 * d[a == b]/da = d[a == b]/db = 0 (likewise for !=, >, >=, <, <=). TensorFlow.js registers no gradient
 * for them, which stops double backpropagation through any op whose gradient uses one (Max's gradient
 * masks with Equal; logSumExp, the DLR losses and ReLU's mask use such ops). Registered once, for
 * every backend, when this module is imported.
 */
export const ZERO_GRADIENT_OPS = ["Equal", "NotEqual", "Greater", "GreaterEqual", "Less", "LessEqual"] as const;

for (const kernelName of ZERO_GRADIENT_OPS) {
  if (tf.getGradient(kernelName) === undefined) {
    tf.registerGradient({
      kernelName,
      inputsToSave: ["a", "b"],
      gradFunc: (_dy, saved) => ({ a: () => tf.zerosLike(saved[0]), b: () => tf.zerosLike(saved[1]) }),
    });
  }
}

/**
 * Per-example cross-entropy L(z, y) = log sum_j exp(z_j) - z_y.
 *
 * @param logits [n, classes].
 * @param labels int32 [n].
 * @returns [n] losses; the caller disposes.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { crossEntropy } from "./losses.ts";
 * import { tf, useBackend } from "./backend/backend.ts";
 * await useBackend("cpu");
 * // log(e^0 + e^0) - 0 = log 2.
 * const loss = crossEntropy(tf.tensor2d([[0, 0]]), tf.tensor1d([1], "int32")).dataSync()[0];
 * assert.ok(Math.abs(loss - Math.log(2)) < 1e-6);
 * ```
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
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { klDivergence } from "./losses.ts";
 * import { tf, useBackend } from "./backend/backend.ts";
 * await useBackend("cpu");
 * const z = tf.tensor2d([[1, 2, 3]]);
 * assert.ok(Math.abs(klDivergence(z, z).dataSync()[0]) < 1e-6);
 * ```
 */
export function klDivergence(logitsP: tf.Tensor2D, logitsQ: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const logP = tf.logSoftmax(logitsP);
    return tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, tf.logSoftmax(logitsQ))), 1) as tf.Tensor1D;
  });
}

/**
 * The 1st, 2nd, ..., k-th largest logit of each row, as [n] tensors, differentiable in the logits
 * (TensorFlow.js has no gradient for TopK): each is the max after masking out the arg-maxes before it.
 */
function largestLogits(logits: tf.Tensor2D, k: number): tf.Tensor1D[] {
  const out: tf.Tensor1D[] = [];
  let masked: tf.Tensor2D = logits;
  for (let i = 0; i < k; i++) {
    out.push(tf.max(masked, 1) as tf.Tensor1D);
    masked = tf.add(masked, tf.mul(tf.oneHot(tf.argMax(masked, 1), logits.shape[1]), -1e30)) as tf.Tensor2D;
  }
  return out;
}

/**
 * Per-example Difference of Logits Ratio loss (Croce and Hein 2020), untargeted:
 *   DLR(z, y) = -(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3 + 1e-12),
 * with z_pi1 >= z_pi2 >= ... the sorted logits. Shift- and scale-invariant in z.
 *
 * @param logits [n, classes >= 3].
 * @param labels int32 [n].
 * @returns [n] losses; the caller disposes.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { dlrLoss } from "./losses.ts";
 * import { tf, useBackend } from "./backend/backend.ts";
 * await useBackend("cpu");
 * // Sorted (3, 2, 1, 0), y = 0: -(3 - 2) / (3 - 1) = -0.5.
 * const loss = dlrLoss(tf.tensor2d([[3, 1, 2, 0]]), tf.tensor1d([0], "int32")).dataSync()[0];
 * assert.ok(Math.abs(loss + 0.5) < 1e-6);
 * ```
 */
export function dlrLoss(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const classes = logits.shape[1];
    const hot = tf.oneHot(labels, classes);
    const zy = tf.sum(tf.mul(logits, hot), 1);
    const others = tf.max(tf.add(logits, tf.mul(hot, -1e30)), 1);
    const [z1, , z3] = largestLogits(logits, 3);
    return tf.neg(tf.div(tf.sub(zy, others), tf.add(tf.sub(z1, z3), 1e-12))) as tf.Tensor1D;
  });
}

/**
 * Per-example targeted DLR loss (Croce and Hein 2020):
 *   DLR_t(z, y) = -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2 + 1e-12).
 *
 * @param logits [n, classes >= 4].
 * @param labels int32 [n].
 * @param targets int32 [n] target classes.
 * @returns [n] losses; the caller disposes.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { targetedDlrLoss } from "./losses.ts";
 * import { tf, useBackend } from "./backend/backend.ts";
 * await useBackend("cpu");
 * // y = 0, t = 3: -(3 - 0) / (3 - (1 + 0) / 2) = -1.2.
 * const z = tf.tensor2d([[3, 1, 2, 0]]);
 * const loss = targetedDlrLoss(z, tf.tensor1d([0], "int32"), tf.tensor1d([3], "int32")).dataSync()[0];
 * assert.ok(Math.abs(loss + 1.2) < 1e-6);
 * ```
 */
export function targetedDlrLoss(logits: tf.Tensor2D, labels: tf.Tensor1D, targets: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const classes = logits.shape[1];
    const zy = tf.sum(tf.mul(logits, tf.oneHot(labels, classes)), 1);
    const zt = tf.sum(tf.mul(logits, tf.oneHot(targets, classes)), 1);
    const [z1, , z3, z4] = largestLogits(logits, 4);
    const denominator = tf.add(tf.sub(z1, tf.mul(tf.add(z3, z4), 0.5)), 1e-12);
    return tf.neg(tf.div(tf.sub(zy, zt), denominator)) as tf.Tensor1D;
  });
}

/**
 * Per-example margin z_y - max_{i != y} z_i: positive while the example is classified correctly
 * (Square Attack's loss, which it minimises).
 *
 * @param logits [n, classes].
 * @param labels int32 [n].
 * @returns [n] margins; the caller disposes.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { margin } from "./losses.ts";
 * import { tf, useBackend } from "./backend/backend.ts";
 * await useBackend("cpu");
 * assert.strictEqual(margin(tf.tensor2d([[3, 1, 2]]), tf.tensor1d([0], "int32")).dataSync()[0], 1);
 * ```
 */
export function margin(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const hot = tf.oneHot(labels, logits.shape[1]);
    return tf.sub(tf.sum(tf.mul(logits, hot), 1), tf.max(tf.add(logits, tf.mul(hot, -1e30)), 1)) as tf.Tensor1D;
  });
}
