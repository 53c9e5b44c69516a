/**
 * Training-mode batch normalization: the fused oneDNN kernel (forward and its gradient) against the
 * TensorFlow.js ops it replaces, on the cpu backend; and the choice of path by backend.
 */
import { assert, assertEquals } from "../_assert.ts";
import { onednnStats, tf, useBackend } from "../../lib/backend/backend.ts";
import { BATCH_NORM_TRAINING, batchNormTraining } from "../../lib/ops/batch_norm.ts";
import { resnet18 } from "../../lib/models/resnet18.ts";
import { assertCloseToScale, startOrSkip } from "../_helpers.ts";

const onednn = await startOrSkip("onednn", "fused batch normalization tests");

/** y, mean, variance and the gradients of sum(y * r) by x, gamma, beta, on `backend`. */
async function batchNormAll(backend: "onednn" | "cpu", shape: number[]): Promise<Float32Array[]> {
  await useBackend(backend);
  const c = shape[3], size = shape.reduce((a, b) => a * b);
  // Channels with different means and spreads, so that a statistic taken over the wrong axes shows.
  const x = tf.tensor4d(
    Float32Array.from({ length: size }, (_, i) => Math.sin(i * 1.3) * (1 + (i % c)) + (i % c) * 0.5),
    shape as [number, number, number, number],
  );
  const gamma = tf.tensor1d(Float32Array.from({ length: c }, (_, i) => 0.5 + Math.cos(i)));
  const beta = tf.tensor1d(Float32Array.from({ length: c }, (_, i) => Math.sin(i * 2)));
  const { y, mean, variance } = batchNormTraining(x, gamma, beta, 1e-5);
  const r = tf.tensor(Float32Array.from({ length: size }, (_, i) => Math.cos(i * 0.37 + 1)), shape);
  const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
    tf.tidy(() => {
      const out = batchNormTraining(a as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5);
      tf.dispose([out.mean, out.variance]);
      return tf.sum(tf.mul(out.y, r));
    })
  )([x, gamma, beta]);
  const outs = [y, mean, variance, ...grads];
  const values = await Promise.all(outs.map(async (t) => await t.data() as Float32Array));
  tf.dispose([x, gamma, beta, r, ...outs]);
  return values;
}

Deno.test({
  name: "fused batch normalization (oneDNN) equals the TensorFlow.js ops: output, statistics, three gradients",
  ignore: !onednn,
  fn: async () => {
    for (const shape of [[2, 4, 4, 3], [8, 8, 8, 16], [1, 3, 5, 7], [16, 4, 4, 64]]) {
      const before = onednnStats()!.calls[BATCH_NORM_TRAINING] ?? 0;
      const fused = await batchNormAll("onednn", shape);
      assert((onednnStats()!.calls[BATCH_NORM_TRAINING] ?? 0) > before, "the fused kernel did not run");
      const ops = await batchNormAll("cpu", shape);
      const names = ["y", "mean", "variance", "dx", "dgamma", "dbeta"];
      for (const [i, name] of names.entries()) assertCloseToScale(fused[i], ops[i], `[${shape}] ${name}`, 1e-5);
    }
  },
});

Deno.test({
  name:
    "a train-mode ResNet18 step gives the same loss, gradients and running statistics with and without the fused kernel",
  ignore: !onednn,
  fn: async () => {
    const step = async (backend: "onednn" | "wasm") => {
      await useBackend(backend);
      assertEquals(tf.getKernel(BATCH_NORM_TRAINING, "wasm") !== undefined, backend === "onednn");
      const model = resnet18({ width: 4, seed: 5 });
      const x = tf.randomUniform([6, 32, 32, 3], 0, 1, "float32", 11) as tf.Tensor4D;
      const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5], "int32"), 10);
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(labels, model.logits(x)) as tf.Scalar,
        model.trainableVariables,
      );
      const out = [value, ...Object.values(grads), ...model.statistics];
      const values = await Promise.all(out.map(async (t) => await t.data() as Float32Array));
      tf.dispose([x, labels, value, ...Object.values(grads)]);
      model.dispose();
      return values;
    };
    const fused = await step("onednn"), ops = await step("wasm");
    assertEquals(fused.length, ops.length);
    // Gradients pass through 20 normalisations: a looser bound than one layer's, still far below any real error.
    for (const [i, v] of fused.entries()) assertCloseToScale(v, ops[i], `tensor ${i}`, 1e-3);
    await useBackend("onednn");
  },
});
