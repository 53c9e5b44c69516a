/**
 * The eval-mode ResNet18 folds BatchNorm's scale into the convolution's filter. This checks it against
 * the textbook forward pass, written out here from the variables: conv, then
 * gamma (y - mean) / sqrt(var + 1e-5) + beta with the running statistics, ReLU, residual blocks.
 */
import { assert } from "../_assert.ts";
import { resnet18, tf, useBackend } from "../../mod.ts";
import { CIFAR10_MEAN, CIFAR10_STD } from "../../lib/models/resnet18.ts";

Deno.test("resnet18() in eval mode equals conv then BatchNorm with running statistics, layer by layer", async () => {
  await useBackend();
  const model = resnet18({ width: 4, seed: 3 });
  // Non-trivial running statistics and affine parameters, so a wrong fold cannot hide behind 0 and 1.
  tf.tidy(() => {
    for (const [i, s] of model.statistics.entries()) {
      const u = tf.randomUniform(s.shape, 0, 1, "float32", 100 + i);
      s.assign(i % 2 === 0 ? tf.sub(u, 0.5) : tf.add(u, 0.5));
    }
    for (const [i, v] of model.trainableVariables.entries()) {
      if (v.rank === 1 && i < model.trainableVariables.length - 2) {
        v.assign(tf.randomUniform(v.shape, 0.5, 1.5, "float32", 200 + i));
      }
    }
  });
  model.eval();
  const x = tf.randomUniform([3, 32, 32, 3], 0, 1, "float32", 7) as tf.Tensor4D;
  const got = model.logits(x);
  const textbook = (x: tf.Tensor4D) => {
    const w = model.trainableVariables, s = model.statistics;
    let wi = 0, si = 0;
    const convBn = (h: tf.Tensor4D, stride: number) => {
      const [kernel, gamma, beta] = [w[wi], w[wi + 1], w[wi + 2]];
      const [mean, variance] = [s[si], s[si + 1]];
      wi += 3, si += 2;
      const pad = kernel.shape[0] === 3 ? [[0, 0], [1, 1], [1, 1], [0, 0]] as tf.backend_util.ExplicitPadding : "valid";
      const y = tf.conv2d(h, kernel as tf.Tensor4D, stride, pad);
      return tf.add(tf.mul(tf.div(tf.sub(y, mean), tf.sqrt(tf.add(variance, 1e-5))), gamma), beta) as tf.Tensor4D;
    };
    let h = tf.div(tf.sub(x, tf.tensor1d([...CIFAR10_MEAN])), tf.tensor1d([...CIFAR10_STD])) as tf.Tensor4D;
    h = tf.relu(convBn(h, 1));
    let inC = 4;
    for (const [stage, firstStride] of [1, 2, 2, 2].entries()) {
      const outC = 4 * 2 ** stage;
      for (let b = 0; b < 2; b++) {
        const stride = b === 0 ? firstStride : 1;
        const out = tf.relu(convBn(h, stride));
        const main = convBn(out, 1);
        const residual = stride !== 1 || inC !== outC ? convBn(h, stride) : h;
        h = tf.relu(tf.add(main, residual));
        inC = outC;
      }
    }
    return tf.add(tf.matMul(tf.mean(h, [1, 2]), w[wi]), w[wi + 1]) as tf.Tensor2D;
  };
  const expected = tf.tidy(() => textbook(x));
  // The input gradient (what every attack takes) through the fused kernels' own gradients.
  const r = tf.randomNormal([3, 10], 0, 1, "float32", 9);
  const gotGrad = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(model.logits(v as tf.Tensor4D), r)))(x);
  const expectedGrad = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(textbook(v as tf.Tensor4D), r)))(x);
  const gradDiff = tf.tidy(() => tf.max(tf.abs(tf.sub(gotGrad, expectedGrad))).dataSync()[0]);
  const gradScale = tf.tidy(() => tf.max(tf.abs(expectedGrad)).dataSync()[0]);
  assert(gradScale > 0, "the textbook input gradient is zero");
  assert(gradDiff <= 1e-4 * gradScale, `eval input gradients differ by ${gradDiff} (scale ${gradScale})`);
  tf.dispose([r, gotGrad, expectedGrad]);
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(got, expected))).dataSync()[0]);
  const scale = tf.tidy(() => tf.max(tf.abs(expected)).dataSync()[0]);
  assert(diff <= 1e-4 * (1 + scale), `eval logits differ from the textbook forward pass by ${diff} (scale ${scale})`);
  tf.dispose([x, got, expected]);
  model.dispose();
});
