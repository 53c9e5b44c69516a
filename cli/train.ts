/**
 * `deno task train`: adversarial training of a ResNet18 on CIFAR-10 (SPEC section 4).
 *
 *   deno task train --objective haat --width 8 --train-size 2000 --epochs 10 --run runs/haat
 *   deno task train --resume runs/haat        (continues after a kill, from the latest checkpoint)
 *
 * @module
 */
import { defaultTrainConfig, OBJECTIVES, parseConfig, train, type TrainConfig, useBackend } from "../mod.ts";
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
  alpha: { type: "string", default: "2/255", help: "PGD / TRADES attack step" },
  "attack-steps": { type: "string", default: String(d.attackSteps), help: "attack steps while training" },
  k: { type: "string", default: String(d.haat.k), help: "HAAT: power-iteration steps" },
  xi: { type: "string", default: String(d.haat.xi), help: "HAAT: finite-difference step" },
  w1: { type: "string", default: "1/4", help: "HAAT: weight of the first-order step" },
  w2: { type: "string", default: "1/4", help: "HAAT: weight of the second-order step" },
  difference: { type: "string", default: d.haat.difference, help: "HAAT: forward or central differences" },
  hvp: { type: "string", default: d.haat.hvp, help: "HAAT: fd or exact Hessian-vector products" },
  "second-order-scale": { type: "string", default: d.haat.secondOrderScale, help: "HAAT: cube, sqrtd or l2ball" },
  "trades-beta": { type: "string", default: String(d.tradesBeta), help: "TRADES: beta" },
  "val-pgd-steps": { type: "string", default: String(d.valPgdSteps), help: "PGD steps of the validation metric" },
  "no-augment": { type: "boolean", default: false, help: "turn off pad-crop-flip augmentation" },
  "micro-batch": { type: "string", default: "0", help: "attack and accumulate gradients in chunks of n images" },
  "checkpoint-every": {
    type: "string",
    default: String(d.checkpointEvery),
    help: "keep every n-th epoch's checkpoint",
  },
  run: { type: "string", default: "", help: "run directory (config.json, metrics.jsonl, checkpoints/, best/)" },
  resume: { type: "string", help: "continue the run in this directory with its own config.json" },
  overwrite: { type: "boolean", default: false, help: "start afresh in a run directory that holds a run" },
  "log-every": { type: "string", default: String(d.logEvery), help: "progress line every n batches" },
  "metrics-every": { type: "string", default: String(d.metricsEvery), help: "batch line in metrics.jsonl every n" },
  backend: { type: "string", default: "auto", help: "auto, tensorflow, wasm or cpu (or HAAT_BACKEND)" },
});

await runMain(async () => {
  await useBackend(flags.backend as "auto");
  let config: Partial<TrainConfig>;
  if (flags.resume) {
    const dir = flags.resume as string;
    const text = await Deno.readTextFile(`${dir}/config.json`).catch(() => {
      throw new Error(`Cannot resume as ${dir}/config.json is missing: no run to continue there`);
    });
    config = { ...parseConfig(text), runDir: dir };
  } else {
    config = {
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
      haat: {
        k: numberFlag("k", flags.k),
        xi: numberFlag("xi", flags.xi),
        w1: numberFlag("w1", flags.w1),
        w2: numberFlag("w2", flags.w2),
        difference: flags.difference as TrainConfig["haat"]["difference"],
        hvp: flags.hvp as TrainConfig["haat"]["hvp"],
        secondOrderScale: flags["second-order-scale"] as TrainConfig["haat"]["secondOrderScale"],
      },
      tradesBeta: numberFlag("trades-beta", flags["trades-beta"]),
      valPgdSteps: numberFlag("val-pgd-steps", flags["val-pgd-steps"]),
      augment: !flags["no-augment"],
      microBatch: numberFlag("micro-batch", flags["micro-batch"]),
      checkpointEvery: numberFlag("checkpoint-every", flags["checkpoint-every"]),
      runDir: flags.run as string,
      logEvery: numberFlag("log-every", flags["log-every"]),
      metricsEvery: numberFlag("metrics-every", flags["metrics-every"]),
    };
  }
  const summary = await train(config, { resume: Boolean(flags.resume), overwrite: Boolean(flags.overwrite) });
  console.log(`best epoch ${summary.best.epoch}: validation PGD accuracy ${(100 * summary.best.valPgd).toFixed(2)}%`);
  if (config.runDir) {
    console.log(`run written to ${config.runDir} (config.json, metrics.jsonl, checkpoints/, latest.json, best/)`);
  }
  summary.model.dispose();
});
