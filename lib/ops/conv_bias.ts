/**
 * A convolution with a per-channel bias and an optional ReLU as one kernel (TensorFlow.js's
 * `FusedConv2D`), with a gradient that computes only what the caller differentiates.
 *
 * It is what an eval-mode convolution with BatchNorm folded in becomes: one pass over the output
 * instead of three (convolution, shift, ReLU), on every backend that has `FusedConv2D` (wasm's is
 * XNNPACK's, oneDNN's is a convolution with a bias and a ReLU post-op). `tf.fused.conv2d` has the
 * same forward pass, but its gradient computes the filter's and the bias's too, on every call: an
 * input gradient, the unit of every attack, would pay for a filter gradient per layer.
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import { reluGrad } from "./relu_grad.ts";

/** The padding of a convolution: TensorFlow.js's explicit per-side form or "valid" / "same". */
export type ConvPad = "valid" | "same" | tf.backend_util.ExplicitPadding;

if (tf.getGradient(tf.FusedConv2D) === undefined) {
  tf.registerGradient({
    kernelName: tf.FusedConv2D,
    inputsToSave: ["x", "filter"],
    outputsToSave: [true],
    gradFunc: (dys, saved, attrs) => {
      const dy = dys as tf.Tensor4D;
      const [x, filter, y] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
      const a = attrs as unknown as tf.FusedConv2DAttrs;
      if (a.activation !== "linear" && a.activation !== "relu") {
        throw new Error(
          `Cannot differentiate FusedConv2D as activation must be linear or relu: current value is ${a.activation}`,
        );
      }
      const strides = a.strides as [number, number] | number;
      // d relu(z) / dz = step(z), and z > 0 exactly where y = relu(z) > 0.
      const g = (a.activation === "relu" ? reluGrad(dy, y) : dy) as tf.Tensor4D;
      const common = { strides, pad: a.pad, dataFormat: "NHWC", dimRoundingMode: a.dimRoundingMode };
      return {
        x: () =>
          tf.engine().runKernel(
            tf.Conv2DBackpropInput,
            { dy: g, filter },
            { ...common, inputShape: x.shape } as unknown as tf.NamedAttrMap,
          ) as tf.Tensor4D,
        filter: () =>
          tf.engine().runKernel(
            tf.Conv2DBackpropFilter,
            { x, dy: g },
            { ...common, filterShape: filter.shape } as unknown as tf.NamedAttrMap,
          ) as tf.Tensor4D,
        bias: () => tf.sum(g, [0, 1, 2]),
      };
    },
  });
}

/**
 * conv(x, W) + b, then ReLU if `relu`: y = max(conv(x, W) + b, 0).
 *
 * @param x NHWC input.
 * @param filter HWIO filter.
 * @param bias [out channels].
 * @param stride The stride in both directions.
 * @param pad The padding, as `tf.conv2d` takes it.
 * @param relu Whether ReLU follows.
 * @returns The NHWC output; the caller disposes.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { convBias } from "./conv_bias.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * // A 1x1 filter of 2 on one pixel of 1, bias -3: max(2 - 3, 0) = 0, and without ReLU -1.
 * const x = tf.ones([1, 1, 1, 1]) as tf.Tensor4D, w = tf.fill([1, 1, 1, 1], 2) as tf.Tensor4D;
 * assert.strictEqual(convBias(x, w, tf.tensor1d([-3]), 1, "valid", true).dataSync()[0], 0);
 * assert.strictEqual(convBias(x, w, tf.tensor1d([-3]), 1, "valid", false).dataSync()[0], -1);
 * ```
 */
export function convBias(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  bias: tf.Tensor1D,
  stride: number,
  pad: ConvPad,
  relu: boolean,
): tf.Tensor4D {
  return tf.engine().runKernel(tf.FusedConv2D, { x, filter, bias }, {
    strides: [stride, stride],
    pad,
    dataFormat: "NHWC",
    dilations: [1, 1],
    activation: relu ? "relu" : "linear",
  } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}
