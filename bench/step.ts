/**
 * One benchmark in its own process (a wasm heap that runs out aborts the whole process): times one
 * training step of an objective at a width and batch size, the same code path as `train` (the
 * objective's attack with the model in eval mode, in chunks of the micro-batch, then the SGD step
 * with gradients accumulated over those chunks, read asynchronously: `bench/_step.ts`), and prints one
 * JSON line.
 *
 *   standard : forward + backward + SGD                        ("resnet18-training-step")
 *   pgd      : PGD-10 attack (10 input gradients) + the step    ("pgd10-adversarial-training-step")
 *   haat     : HAAT-10, k = 5 (10 x (1 + 5) input gradients) + the step
 *              with --warm-start (issue 27): k = 5 at the first attack step, --warm-k (1) at each of the 9
 *              others, each from the last step's vector (10 + 5 + 9 = 24 input gradients) + the step
 *   trades   : TRADES with 10 KL-PGD steps + the step (two forward passes)
 *   fgsm-rs  : one input gradient + the step
 *
 * A warm-up step with a 1-step attack creates XNNPACK's operators and grows the heap first. The
 * epoch time it prints is derived: images per epoch / measured images per second.
 *
 * deno run -A bench/step.ts --backend wasm --objective haat --width 64 --batch 128 --micro 64
 * deno run -A bench/step.ts --backend onednn --objective haat --warm-start --warm-k 1 --xi 1e-5 --width 16
 * deno run -A bench/step.ts --backend onednn --objective pgd --width 16 --sync   (the synchronous twins: issue 25)
 *
 * @module
 */
import { HAAT_DEFAULTS, type Objective, OBJECTIVES, resnet18, tf, useBackend } from "../mod.ts";
import { resolveHaatOptions } from "../lib/attacks/haat_options.ts";
import { sgd } from "../lib/train/sgd.ts";
import { numberFlag, parseFlags, runMain } from "../cli/_flags.ts";
import { benchName, cpuModel, trainingStep } from "./_step.ts";

const flags = parseFlags("Usage: deno run -A bench/step.ts [flags]", {
  backend: { type: "string", default: "wasm", help: "a backend name (see useBackend): onednn, wasm, webgpu, cpu, ..." },
  objective: { type: "string", default: "standard", help: OBJECTIVES.join(", ") },
  width: { type: "string", default: "64", help: "ResNet18 width" },
  batch: { type: "string", default: "128", help: "batch size" },
  micro: { type: "string", default: "0", help: "micro-batch for the attack and gradient accumulation (0: off)" },
  steps: { type: "string", default: "10", help: "attack steps (pgd, haat, trades)" },
  k: { type: "string", default: "5", help: "HAAT power-iteration steps (with --warm-start: at the first attack step)" },
  "warm-start": { type: "boolean", default: false, help: "HAAT: warm-start each step's power iteration" },
  "warm-k": { type: "string", default: "1", help: "HAAT, with --warm-start: power steps after the first step" },
  xi: { type: "string", default: String(HAAT_DEFAULTS.xi), help: "HAAT finite-difference step (no effect on cost)" },
  repeats: { type: "string", default: "1", help: "timed steps after the warm-up step" },
  "epoch-images": { type: "string", default: "50000", help: "images per epoch for the derived epoch time" },
  sync: {
    type: "boolean",
    default: false,
    help: "read synchronously (trainingImages, sgdStep: dataSync), not asynchronously as `train` does",
  },
});

await runMain(async () => {
  const info = await useBackend(flags.backend as "wasm");
  const objective = flags.objective as Objective;
  if (!(OBJECTIVES as readonly string[]).includes(objective)) {
    throw new Error(`Cannot bench as objective must be one of ${OBJECTIVES.join(", ")}: current value is ${objective}`);
  }
  const width = numberFlag("width", flags.width), batch = numberFlag("batch", flags.batch);
  const micro = numberFlag("micro", flags.micro), repeats = numberFlag("repeats", flags.repeats);
  const steps = numberFlag("steps", flags.steps), k = numberFlag("k", flags.k);
  const warmStart = flags["warm-start"] as boolean, warmK = numberFlag("warm-k", flags["warm-k"]);
  const xi = numberFlag("xi", flags.xi);
  if (warmStart && objective !== "haat") {
    throw new Error(`Cannot bench as --warm-start needs objective haat: current value is ${objective}`);
  }
  resolveHaatOptions({ k, xi, warmStart, warmK }); // checks k, xi and warm-k before any model is built
  const model = resnet18({ width, seed: 0 });
  const optimiser = sgd(model.trainableVariables);
  const x = tf.randomUniform([batch, 32, 32, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const y = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), "int32");
  const reads = flags.sync ? "sync" : "async";
  const step = trainingStep(model, optimiser, x, y, objective, { steps, k, xi, warmStart, warmK }, micro, reads);
  await step(1, 1); // warm-up
  const t0 = performance.now();
  for (let r = 0; r < repeats; r++) await step(steps, k);
  const seconds = (performance.now() - t0) / 1000 / repeats;
  const epochImages = numberFlag("epoch-images", flags["epoch-images"]);
  console.log(JSON.stringify({
    bench: benchName(objective, steps, k, warmStart ? warmK : null),
    objective,
    ...(objective === "haat" ? { haat: { k, xi, warmStart, warmK } } : {}),
    backend: info.name,
    backendDetail: info.report,
    reads,
    width,
    batch,
    microBatch: micro,
    secondsPerStep: Number(seconds.toFixed(3)),
    imagesPerSecond: Number((batch / seconds).toFixed(3)),
    derivedEpochSeconds: { images: epochImages, seconds: Number((epochImages * seconds / batch).toFixed(0)) },
    repeats,
    numTensorsAfter: tf.memory().numTensors,
    cores: navigator.hardwareConcurrency,
    cpu: cpuModel(),
    deno: Deno.version.deno,
    tfjs: info.tfjsVersion,
  }));
  model.dispose();
  optimiser.dispose();
});
