/**
 * `deno task train`: adversarial training of a ResNet18 on CIFAR-10 (SPEC section 4).
 *
 * @module
 */
import { defaultTrainConfig, OBJECTIVES, train, type TrainConfig, useBackend } from "../mod.ts";
import { numberFlag, parseFlags, runMain } from "./_flags.ts";

const d = defaultTrainConfig();
const flags = parseFlags("Usage: deno task train [flags]   (adversarial training of a CIFAR ResNet18)", {
  objective: { type: "string", default: d.objective, help: `one of ${OBJECTIVES.join(", ")}` },
  data: { type: "string", default: d.dataDir, help: "CIFAR-10 directory, official binary layout (or HAAT_DATA)" },
  "train-size": { type: "string", default: "Infinity", help: "use the first n training images" },
  "val-size": { type: "string", default: String(d.valSize), help: "validation images held out" },
  epochs: { type: "string", default: String(d.epochs), help: "epochs" },
  "batch-size": { type: "string", default: String(d.batchSize), help: "batch size" },
  lr: { type: "string", default: String(d.lr), help: "peak learning rate" },
  schedule: { type: "string", default: d.schedule, help: "onecycle or piecewise" },
  width: { type: "string", default: String(d.width), help: "ResNet18 base width (64 = the paper's)" },
  seed: { type: "string", default: String(d.seed), help: "seed" },
  eps: { type: "string", default: "8/255", help: "Linf radius, [0,1] pixel scale" },
  alpha: { type: "string", default: "2/255", help: "attack step" },
  "attack-steps": { type: "string", default: String(d.attackSteps), help: "PGD steps while training" },
  "val-pgd-steps": { type: "string", default: String(d.valPgdSteps), help: "PGD steps of the validation metric" },
  "no-augment": { type: "boolean", default: false, help: "turn off pad-crop-flip augmentation" },
  "micro-batch": { type: "string", default: "0", help: "accumulate gradients over chunks of n images (0: off)" },
  run: { type: "string", default: "", help: "run directory (config.json, metrics.jsonl, last/, best/)" },
  "log-every": { type: "string", default: String(d.logEvery), help: "progress line every n batches" },
  backend: { type: "string", default: "auto", help: "auto, tensorflow, wasm or cpu (or HAAT_BACKEND)" },
});

await runMain(async () => {
  await useBackend(flags.backend as "auto");
  const config: Partial<TrainConfig> = {
    objective: flags.objective as TrainConfig["objective"],
    dataDir: flags.data as string,
    trainSize: numberFlag("train-size", flags["train-size"]),
    valSize: numberFlag("val-size", flags["val-size"]),
    epochs: numberFlag("epochs", flags.epochs),
    batchSize: numberFlag("batch-size", flags["batch-size"]),
    lr: numberFlag("lr", flags.lr),
    schedule: flags.schedule as TrainConfig["schedule"],
    width: numberFlag("width", flags.width),
    seed: numberFlag("seed", flags.seed),
    eps: numberFlag("eps", flags.eps),
    alpha: numberFlag("alpha", flags.alpha),
    attackSteps: numberFlag("attack-steps", flags["attack-steps"]),
    valPgdSteps: numberFlag("val-pgd-steps", flags["val-pgd-steps"]),
    augment: !flags["no-augment"],
    microBatch: numberFlag("micro-batch", flags["micro-batch"]),
    runDir: flags.run as string,
    logEvery: numberFlag("log-every", flags["log-every"]),
  };
  const summary = await train(config);
  console.log(`best epoch ${summary.best.epoch}: validation PGD accuracy ${(100 * summary.best.valPgd).toFixed(2)}%`);
  if (config.runDir) console.log(`run written to ${config.runDir} (config.json, metrics.jsonl, last/, best/)`);
  summary.model.dispose();
});
