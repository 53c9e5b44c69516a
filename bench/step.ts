/**
 * One benchmark in its own process (a wasm heap that runs out aborts the whole process): times a
 * ResNet18 training step (forward, backward, SGD) or a PGD-10 adversarial training step (10 input
 * gradients in eval mode, then the training step) and prints one JSON line.
 *
 * deno run -A bench/step.ts --backend wasm --kind train --width 64 --batch 128 --micro 64
 *
 * @module
 */
import { pgd, resnet18, sgd, sgdStep, tf, useBackend } from "../mod.ts";
import { numberFlag, parseFlags, runMain } from "../cli/_flags.ts";

const flags = parseFlags("Usage: deno run -A bench/step.ts [flags]", {
  backend: { type: "string", default: "wasm", help: "tensorflow, wasm or cpu" },
  kind: { type: "string", default: "train", help: "train (forward+backward+SGD) or pgd10 (PGD-10 AT step)" },
  width: { type: "string", default: "64", help: "ResNet18 width" },
  batch: { type: "string", default: "128", help: "batch size" },
  micro: { type: "string", default: "0", help: "micro-batch for gradient accumulation (0: off)" },
  repeats: { type: "string", default: "2", help: "timed steps after one warm-up step" },
});

/** CPU model name from /proc/cpuinfo, if readable. */
function cpuModel(): string {
  try {
    return Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown";
  } catch {
    return "unknown";
  }
}

await runMain(async () => {
  const info = await useBackend(flags.backend as "wasm");
  const width = numberFlag("width", flags.width), batch = numberFlag("batch", flags.batch);
  const micro = numberFlag("micro", flags.micro), repeats = numberFlag("repeats", flags.repeats);
  const kind = flags.kind as string;
  const model = resnet18({ width, seed: 0 });
  const optimiser = sgd(model.trainableVariables);
  const x = tf.randomUniform([batch, 32, 32, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const y = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), "int32");
  const step = () => {
    let xTrain = x;
    if (kind === "pgd10") {
      model.eval();
      // The attack runs in chunks of the micro-batch too, as the training loop's memory allows.
      const chunk = micro > 0 ? micro : batch;
      const parts: tf.Tensor4D[] = [];
      for (let s = 0; s < batch; s += chunk) {
        const size = Math.min(chunk, batch - s);
        const [xc, yc] = [tf.slice(x, [s, 0, 0, 0], [size, -1, -1, -1]), tf.slice(y, [s], [size])];
        parts.push(pgd(model.logits, xc, yc, { steps: 10, seed: s }));
        tf.dispose([xc, yc]);
      }
      xTrain = parts.length === 1 ? parts[0] : tf.concat(parts) as tf.Tensor4D;
      if (parts.length > 1) tf.dispose(parts);
      model.train();
    }
    sgdStep(model, optimiser, xTrain, y, 0.01, micro);
    if (xTrain !== x) xTrain.dispose();
  };
  step(); // warm-up: XNNPACK operator creation, heap growth
  const t0 = performance.now();
  for (let r = 0; r < repeats; r++) step();
  const seconds = (performance.now() - t0) / 1000 / repeats;
  console.log(JSON.stringify({
    bench: kind === "pgd10" ? "pgd10-adversarial-training-step" : "resnet18-training-step",
    backend: info.name,
    backendDetail: info.report,
    width,
    batch,
    microBatch: micro,
    secondsPerStep: Number(seconds.toFixed(3)),
    imagesPerSecond: Number((batch / seconds).toFixed(2)),
    repeats,
    cores: navigator.hardwareConcurrency,
    cpu: cpuModel(),
    deno: Deno.version.deno,
    tfjs: info.tfjsVersion,
  }));
  model.dispose();
  optimiser.dispose();
});
