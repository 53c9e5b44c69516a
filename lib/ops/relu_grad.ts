/**
 * ReLU's gradient from its output, dL/dx = dL/dy * step(y) (y = max(x, 0) > 0 exactly where x > 0),
 * as one kernel where the backend has it (`wasm + oneDNN`: one pass on every core, where
 * `dy * step(y)` is two: wasm's single-threaded Step, then a product).
 *
 * Importing this module registers that gradient for TensorFlow.js's `Relu` kernel in place of the
 * shipped `dy * step(x)`: the same numbers on every backend (the same 0/1 mask, read from y instead of
 * x), so it changes only the speed. `convBias` uses it for its own ReLU.
 *
 * @module
 */
import { tf } from "../tfjs.ts";

/** The fused kernel: inputs dy, y (same shape, float32); output dx. */
export const RELU_GRAD = "HaatReluGrad";

/**
 * dL/dx of y = relu(x) from y: dy where y > 0, else 0.
 *
 * @param dy The gradient of the output.
 * @param y The output, relu(x).
 * @returns dL/dx; the caller disposes.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { reluGrad } from "./relu_grad.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * assert.deepStrictEqual(Array.from(reluGrad(tf.tensor1d([5, 6, 7]), tf.tensor1d([0, 2, 0])).dataSync()), [0, 6, 0]);
 * ```
 */
export function reluGrad(dy: tf.Tensor, y: tf.Tensor): tf.Tensor {
  const fused = tf.getKernel(RELU_GRAD, tf.getBackend()) !== undefined;
  if (fused && dy.size > 0 && dy.dtype === "float32" && y.dtype === "float32") {
    return tf.engine().runKernel(RELU_GRAD, { dy, y }, {}) as tf.Tensor;
  }
  return tf.tidy(() => tf.mul(dy, tf.step(tf.cast(y, "float32"))));
}

// Its own gradient, for double backpropagation (exact Hessian-vector products): the map
// dy -> dy * step(y) is linear in dy with the constant mask step(y), which has zero derivative.
tf.registerGradient({
  kernelName: RELU_GRAD,
  inputsToSave: ["y"],
  gradFunc: (g, saved) => ({ dy: () => reluGrad(g as tf.Tensor, saved[0]), y: () => tf.zerosLike(saved[0]) }),
});

tf.registerGradient({
  kernelName: tf.Relu,
  outputsToSave: [true],
  gradFunc: (dy, saved) => ({ x: () => reluGrad(dy as tf.Tensor, saved[0]) }),
});
