/**
 * ReLU's gradient from its output: the registered gradient equals TensorFlow.js's dy * step(x) on the
 * cpu backend, and the fused oneDNN kernel equals it on many shapes.
 */
import { assert, assertEquals } from "../_assert.ts";
import { onednnStats, tf, useBackend } from "../../lib/backend/backend.ts";
import { RELU_GRAD, reluGrad } from "../../lib/ops/relu_grad.ts";
import { startOrSkip } from "../_helpers.ts";

const onednn = await startOrSkip("onednn", "fused ReLU gradient tests");

/** x with exact zeros, negatives and positives; dy of both signs. */
function inputs(shape: number[]): { x: tf.Tensor; dy: tf.Tensor } {
  const size = shape.reduce((a, b) => a * b, 1);
  const x = tf.tensor(Float32Array.from({ length: size }, (_, i) => i % 5 === 0 ? 0 : Math.sin(i * 1.1)), shape);
  const dy = tf.tensor(Float32Array.from({ length: size }, (_, i) => Math.cos(i * 0.7) * 3), shape);
  return { x, dy };
}

Deno.test("tf.grad of relu (this project's gradient, from the output) equals dy * step(x), zeros included", async () => {
  await useBackend("cpu");
  const { x, dy } = inputs([3, 7, 5]);
  const got = tf.grad((v: tf.Tensor) => tf.relu(v))(x, dy);
  const expected = tf.mul(dy, tf.step(x));
  assertEquals(Array.from(await got.data()), Array.from(await expected.data()));
  // x = 0 gets no gradient, as with TensorFlow.js's own (step(0) = 0).
  assertEquals((await got.data())[0], 0);
  tf.dispose([x, dy, got, expected]);
});

Deno.test({
  name: "the fused oneDNN ReLU gradient equals dy * step(y) on shapes of rank 1 to 5",
  ignore: !onednn,
  fn: async () => {
    await useBackend("onednn");
    for (const shape of [[7], [3, 5], [2, 3, 4], [4, 8, 8, 16], [2, 3, 1, 5, 7], [128, 32, 32, 4]]) {
      const { x, dy } = inputs(shape);
      const y = tf.relu(x);
      const before = onednnStats()!.calls[RELU_GRAD] ?? 0;
      const got = reluGrad(dy, y);
      assertEquals(onednnStats()!.calls[RELU_GRAD], before + 1, `[${shape}]: the fused kernel did not run`);
      const expected = tf.mul(dy, tf.step(y));
      const [a, b] = [await got.data(), await expected.data()];
      // Equal as numbers (0 and -0 alike): the same mask times the same dy.
      assert(a.every((v, i) => v === b[i]), `[${shape}]: fused ReLU gradient differs from dy * step(y)`);
      tf.dispose([x, dy, y, got, expected]);
    }
  },
});
