/**
 * The WebGPU backend (`@tensorflow/tfjs-backend-webgpu` on Deno's `navigator.gpu`) against wasm on a
 * width-4 ResNet18: logits, input gradient and weight gradients. Runs wherever a WebGPU adapter
 * exists, a software one included (Mesa's lavapipe, which `.ci/run` installs); in CI a missing adapter
 * fails the test.
 */
import { crossEntropy, resnet18, tf, useBackend } from "../../mod.ts";
import { assertCloseToScale, startOrSkip } from "../_helpers.ts";

Deno.env.set("HAAT_WEBGPU_SOFTWARE", "1"); // lavapipe here and in CI
const available = await startOrSkip("webgpu", "WebGPU test");
await useBackend();

/** Logits, input gradient and every weight gradient of a model on the current backend, as arrays. */
async function forwardAndGradients(mode: "train" | "eval"): Promise<{ name: string; values: Float32Array }[]> {
  const model = resnet18({ width: 4, seed: 5 });
  if (mode === "eval") model.eval();
  const x = tf.randomUniform([4, 32, 32, 3], 0, 1, "float32", 11) as tf.Tensor4D;
  const y = tf.tensor1d([0, 3, 7, 9], "int32");
  const loss = (xx: tf.Tensor4D) => tf.mean(crossEntropy(model.logits(xx), y)) as tf.Scalar;
  const logits = model.logits(x);
  const inputGradient = tf.grad((xx: tf.Tensor) => loss(xx as tf.Tensor4D))(x);
  model.train(); // weight gradients in train mode, as a training step takes them
  const { grads } = tf.variableGrads(() => loss(x), model.trainableVariables);
  const named: [string, tf.Tensor][] = [["logits", logits], ["input gradient", inputGradient]];
  model.trainableVariables.forEach((v, i) => named.push([`weight gradient ${i} [${v.shape}]`, grads[v.name]]));
  const out = [];
  for (const [name, t] of named) out.push({ name, values: await t.data() as Float32Array });
  tf.dispose([x, y, logits, inputGradient, ...Object.values(grads)]);
  model.dispose();
  return out;
}

Deno.test({
  name: "webgpu ResNet18 logits, input and weight gradients equal wasm's to float32 accuracy",
  ignore: !available,
  fn: async () => {
    for (const mode of ["eval", "train"] as const) {
      await useBackend("wasm");
      const reference = await forwardAndGradients(mode);
      await useBackend("webgpu");
      const gpu = await forwardAndGradients(mode);
      await useBackend();
      for (const [i, r] of reference.entries()) {
        assertCloseToScale(gpu[i].values, r.values, `${mode} ${r.name}: webgpu against wasm`, 1e-4, 1e-7);
      }
    }
  },
});
