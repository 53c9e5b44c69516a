/**
 * Where the time of a training step and of an attack's input gradients goes, by TensorFlow.js kernel:
 * one JSON line per (workload, kernel) with milliseconds and share, from `tf.profile` after a warm-up.
 *
 *   deno run -A bench/profile.ts --backend onednn --width 16 --batch 64
 *
 * Workloads: "input-gradient" (eval mode: one gradient of the loss with respect to the images, as
 * every PGD/HAAT step computes), "training-step" (train mode: loss, weight gradients, SGD), and with
 * `--objective o` "o-step": a whole training step of that objective as `train` runs it (its attack
 * with the model in eval mode, then the SGD step in train mode, in chunks of `--micro`), e.g.
 *
 *   deno run -A bench/profile.ts --width 64 --batch 128 --micro 64 --objective fgsm-rs
 *
 * @module
 */
import { crossEntropy, type Objective, OBJECTIVES, resnet18, tf, useBackend } from "../mod.ts";
import { sgd } from "../lib/train/sgd.ts";
import { sgdStep } from "../lib/train/step.ts";
import { trainingImages } from "../lib/train/objectives.ts";
import { numberFlag, parseFlags, runMain } from "../cli/_flags.ts";

const flags = parseFlags("Usage: deno run -A bench/profile.ts [flags]", {
  backend: { type: "string", default: "auto", help: "backend (see useBackend)" },
  width: { type: "string", default: "16", help: "ResNet18 width" },
  batch: { type: "string", default: "64", help: "batch size" },
  top: { type: "string", default: "12", help: "kernels listed per workload" },
  objective: { type: "string", default: "", help: `also profile a whole training step: ${OBJECTIVES.join(", ")}` },
  micro: { type: "string", default: "0", help: "micro-batch of that step (0: off; 64 for width 64, batch 128)" },
});

await runMain(async () => {
  const info = await useBackend(flags.backend as "auto");
  const width = numberFlag("width", flags.width), batch = numberFlag("batch", flags.batch);
  const model = resnet18({ width, seed: 0 });
  const optimiser = sgd(model.trainableVariables);
  const x = tf.randomUniform([batch, 32, 32, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const y = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), "int32");
  const inputGradient = () => {
    model.eval();
    const g = tf.grad((xx: tf.Tensor) => tf.mean(crossEntropy(model.logits(xx as tf.Tensor4D), y)))(x);
    g.dataSync();
    g.dispose();
  };
  const trainingStep = () => {
    model.train();
    const { value, grads } = tf.variableGrads(
      () => tf.mean(crossEntropy(model.logits(x), y)) as tf.Scalar,
      model.trainableVariables,
    );
    optimiser.step(model.trainableVariables.map((v) => grads[v.name]), 0.01);
    value.dataSync();
    tf.dispose([value, ...Object.values(grads)]);
  };
  const objective = flags.objective as string, micro = numberFlag("micro", flags.micro);
  if (objective !== "" && !(OBJECTIVES as readonly string[]).includes(objective)) {
    throw new Error(
      `Cannot profile as objective must be one of ${OBJECTIVES.join(", ")}: current value is ${objective}`,
    );
  }
  const objectiveStep = () => {
    model.eval();
    const attack = { eps: 8 / 255, alpha: 2 / 255, steps: 10, haat: {} };
    const xTrain = trainingImages(objective as Objective, model.logits, x, y, attack, 0, micro);
    model.train();
    sgdStep(model, optimiser, xTrain, y, 0.01, micro, { name: objective as Objective, xClean: x });
    xTrain.dispose();
  };
  const workloads: [string, () => void][] = [["input-gradient", inputGradient], ["training-step", trainingStep]];
  if (objective !== "") workloads.push([`${objective}-step`, objectiveStep]);
  for (const [name, fn] of workloads) {
    fn(); // warm-up: primitives and operators are created here
    const t0 = performance.now();
    const profile = await tf.profile(() => fn());
    const wall = performance.now() - t0;
    const byKernel = new Map<string, number>();
    for (const k of profile.kernels) {
      byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (k.kernelTimeMs as number));
    }
    const total = [...byKernel.values()].reduce((a, b) => a + b, 0);
    const rows = [...byKernel.entries()].sort((a, b) => b[1] - a[1]).slice(0, numberFlag("top", flags.top));
    for (const [kernel, ms] of rows) {
      console.log(JSON.stringify({
        bench: "profile",
        workload: name,
        backend: info.report,
        width,
        batch,
        kernel,
        ms: Number(ms.toFixed(1)),
        share: Number((ms / total).toFixed(3)),
      }));
    }
    console.log(JSON.stringify({
      bench: "profile-total",
      workload: name,
      backend: info.report,
      width,
      batch,
      kernelMs: Number(total.toFixed(1)),
      wallMs: Number(wall.toFixed(1)),
    }));
  }
  model.dispose();
  optimiser.dispose();
  tf.dispose([x, y]);
});
