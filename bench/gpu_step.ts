/**
 * Training-step throughput on a backend that cannot read tensors synchronously (WebGPU under Deno):
 * a standard step (forward, backward, SGD in train mode) and a PGD-10 adversarial training step whose
 * attack is the arithmetic of `pgd()` written inline (random start, 10 x (input gradient, signed step,
 * projection onto the eps-ball and [0,1])), without `pgd()`'s synchronous input checks. Every timing
 * ends on an asynchronous read (`await data()`), so it includes the GPU's work. One JSON line each.
 *
 *   HAAT_BACKEND=webgpu deno run -A bench/gpu_step.ts --widths 16,64 --batch 128
 *
 * @module
 */
import { crossEntropy, resnet18, tf, useBackend } from "../mod.ts";
import { sgd } from "../lib/train/sgd.ts";
import { numberFlag, parseFlags, runMain } from "../cli/_flags.ts";

const flags = parseFlags("Usage: deno run -A bench/gpu_step.ts [flags]", {
  widths: { type: "string", default: "16,64", help: "ResNet18 widths" },
  batch: { type: "string", default: "128", help: "batch size" },
  repeats: { type: "string", default: "3", help: "timed steps after one warm-up" },
});

await runMain(async () => {
  const info = await useBackend();
  const batch = numberFlag("batch", flags.batch), repeats = numberFlag("repeats", flags.repeats);
  for (const width of (flags.widths as string).split(",").map((w) => numberFlag("widths", w))) {
    const model = resnet18({ width, seed: 0 });
    const optimiser = sgd(model.trainableVariables);
    const x = tf.randomUniform([batch, 32, 32, 3], 0, 1, "float32", 1) as tf.Tensor4D;
    const y = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), "int32");
    const eps = 8 / 255, alpha = 2 / 255;
    const loss = (xx: tf.Tensor4D) => tf.mean(crossEntropy(model.logits(xx), y)) as tf.Scalar;
    const trainStep = async (xTrain: tf.Tensor4D) => {
      model.train();
      const { value, grads } = tf.variableGrads(() => loss(xTrain), model.trainableVariables);
      optimiser.step(model.trainableVariables.map((v) => grads[v.name]), 0.01);
      await value.data();
      tf.dispose([value, ...Object.values(grads)]);
    };
    const pgdStep = async (steps: number) => {
      model.eval();
      let xAdv = tf.tidy(() => tf.clipByValue(tf.add(x, tf.randomUniform(x.shape, -eps, eps, "float32", 2)), 0, 1));
      for (let s = 0; s < steps; s++) {
        const next = tf.tidy(() => {
          const g = tf.grad((xx: tf.Tensor) => loss(xx as tf.Tensor4D))(xAdv);
          const stepped = tf.add(xAdv, tf.mul(tf.sign(g), alpha));
          return tf.clipByValue(tf.minimum(tf.maximum(stepped, tf.sub(x, eps)), tf.add(x, eps)), 0, 1) as tf.Tensor4D;
        });
        xAdv.dispose();
        xAdv = next;
      }
      await trainStep(xAdv as tf.Tensor4D);
      xAdv.dispose();
    };
    const workloads: [string, () => Promise<void>][] = [
      ["resnet18-training-step", () => trainStep(x)],
      ["pgd10-adversarial-training-step", () => pgdStep(10)],
    ];
    for (const [bench, run] of workloads) {
      await run(); // warm-up: shaders are compiled here
      const t0 = performance.now();
      for (let r = 0; r < repeats; r++) await run();
      const seconds = (performance.now() - t0) / 1000 / repeats;
      console.log(JSON.stringify({
        bench,
        backend: info.name,
        detail: info.report,
        width,
        batch,
        secondsPerStep: Number(seconds.toFixed(4)),
        imagesPerSecond: Number((batch / seconds).toFixed(2)),
        repeats,
        numTensors: tf.memory().numTensors,
        deno: Deno.version.deno,
      }));
    }
    tf.dispose([x, y]);
    model.dispose();
    optimiser.dispose();
  }
});
