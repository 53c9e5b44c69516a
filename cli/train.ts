/**
 * `deno task train`: adversarial training of a ResNet18 on CIFAR-10 (SPEC section 4).
 *
 *   deno task train --objective haat --width 8 --train-size 2000 --epochs 10 --run runs/haat
 *   deno task train --resume runs/haat        (continues after a kill, from the latest checkpoint)
 *   deno task train --init fgsm-rs-w16 --width 16 --objective haat --warm-start --lr 0.01 --run runs/ft
 *
 * Every flag is read and the whole config checked before any file is read, written or removed. A
 * resume takes the run's own config.json; flags given beside `--resume` must agree with it, except
 * `--data`, `--log-every`, `--checkpoint-steps` and `--backend`, which may change.
 *
 * @module
 */
import { OBJECTIVES, useBackend } from "../mod.ts";
import { defaultTrainConfig, parseConfig, resolveConfig, type TrainConfig } from "../lib/train/config.ts";
import { train } from "../lib/train/train.ts";
import { choiceFlag, type Flags, integerFlag, numberFlag, parseFlags, runMain } from "./_flags.ts";
import { HAAT_FLAGS, type HaatFlag, haatFlagValue } from "./_haat_flags.ts";

// The training seed is HAAT's seed flag too, read with the config's range ([0, 2^31)).
const { seed: _seed, ...HAAT_FLAGS_BUT_SEED } = HAAT_FLAGS;

const d = defaultTrainConfig();
const flags = parseFlags("Usage: deno task train [flags]   (adversarial training of a CIFAR ResNet18)", {
  objective: { type: "string", default: d.objective, help: `one of ${OBJECTIVES.join(", ")}` },
  data: { type: "string", default: d.dataDir, help: "CIFAR-10 directory, official binary layout (or HAAT_DATA)" },
  "train-size": { type: "string", default: "Infinity", help: "use the first n training images (Infinity: all)" },
  "val-size": { type: "string", default: String(d.valSize), help: "validation images held out (>= 1)" },
  epochs: { type: "string", default: String(d.epochs), help: "epochs" },
  "batch-size": { type: "string", default: String(d.batchSize), help: "batch size" },
  lr: { type: "string", default: String(d.lr), help: "peak learning rate" },
  schedule: { type: "string", default: d.schedule, help: "onecycle or piecewise" },
  width: { type: "string", default: String(d.width), help: "ResNet18 base width (64 = the paper's)" },
  init: {
    type: "string",
    help: "start from these weights (fine-tuning): a committed model's name (e.g. fgsm-rs-w16) or a model directory",
  },
  seed: HAAT_FLAGS.seed,
  eps: { type: "string", default: "8/255", help: "Linf radius, [0,1] pixel scale" },
  alpha: { type: "string", default: "2/255", help: "PGD / TRADES attack step" },
  "attack-steps": { type: "string", default: String(d.attackSteps), help: "attack steps while training" },
  ...HAAT_FLAGS_BUT_SEED,
  "trades-beta": { type: "string", default: String(d.tradesBeta), help: "TRADES: beta" },
  "val-pgd-steps": { type: "string", default: String(d.valPgdSteps), help: "PGD steps of the validation metric" },
  "no-augment": { type: "boolean", default: false, help: "turn off pad-crop-flip augmentation" },
  "micro-batch": {
    type: "string",
    default: "0",
    help:
      "attack and accumulate gradients in chunks of n images (onednn, wasm: 64 from width 64 at batch 128; webgpu: none needed)",
  },
  "checkpoint-every": {
    type: "string",
    default: String(d.checkpointEvery),
    help: "keep every n-th epoch's checkpoint (0: only the latest)",
  },
  "checkpoint-steps": {
    type: "string",
    default: String(d.checkpointSteps),
    help: "also checkpoint every n steps inside an epoch, so a stop loses at most n steps (0: after each epoch only)",
  },
  run: { type: "string", help: "run directory (config.json, metrics.jsonl, checkpoints/, best/); none: nothing saved" },
  resume: {
    type: "string",
    help:
      "continue the run in this directory with its own config.json (may change: --data, --log-every, --checkpoint-steps, --backend)",
  },
  overwrite: { type: "boolean", default: false, help: "start afresh in a run directory that holds a run" },
  "log-every": { type: "string", default: String(d.logEvery), help: "progress line every n batches" },
  "metrics-every": { type: "string", default: String(d.metricsEvery), help: "batch line in metrics.jsonl every n" },
  backend: { type: "string", default: "auto", help: "auto, onednn, wasm, cpu, webgpu or tensorflow (or HAAT_BACKEND)" },
});

/** Each flag's reading into the config, by flag name. */
const FIELDS: Record<string, (f: Flags, c: TrainConfig) => void> = {
  objective: (f, c) => c.objective = choiceFlag("objective", f.objective, OBJECTIVES),
  data: (f, c) => c.dataDir = f.data as string,
  "train-size": (f, c) => c.trainSize = integerFlag("train-size", f["train-size"], { min: 2, infinity: true }),
  "val-size": (f, c) => c.valSize = integerFlag("val-size", f["val-size"], { min: 1 }),
  epochs: (f, c) => c.epochs = integerFlag("epochs", f.epochs, { min: 1 }),
  "batch-size": (f, c) => c.batchSize = integerFlag("batch-size", f["batch-size"], { min: 1 }),
  lr: (f, c) => c.lr = numberFlag("lr", f.lr),
  schedule: (f, c) => c.schedule = choiceFlag("schedule", f.schedule, ["onecycle", "piecewise"] as const),
  width: (f, c) => c.width = integerFlag("width", f.width, { min: 1 }),
  init: (f, c) => c.init = (f.init as string | undefined) ?? "",
  seed: (f, c) => c.seed = integerFlag("seed", f.seed),
  eps: (f, c) => c.eps = numberFlag("eps", f.eps),
  alpha: (f, c) => c.alpha = numberFlag("alpha", f.alpha),
  "attack-steps": (f, c) => c.attackSteps = integerFlag("attack-steps", f["attack-steps"], { min: 1 }),
  // HAAT's flags (cli/_haat_flags.ts), checked with the config by resolveHaatOptions.
  ...Object.fromEntries(
    (Object.keys(HAAT_FLAGS_BUT_SEED) as HaatFlag[]).map((name) => [name, (f: Flags, c: TrainConfig) => {
      const [option, value] = haatFlagValue(name, f);
      (c.haat as Record<string, unknown>)[option] = value;
    }]),
  ),
  "trades-beta": (f, c) => c.tradesBeta = numberFlag("trades-beta", f["trades-beta"]),
  "val-pgd-steps": (f, c) => c.valPgdSteps = integerFlag("val-pgd-steps", f["val-pgd-steps"], { min: 1 }),
  "no-augment": (f, c) => c.augment = !f["no-augment"],
  "micro-batch": (f, c) => c.microBatch = integerFlag("micro-batch", f["micro-batch"]),
  "checkpoint-every": (f, c) => c.checkpointEvery = integerFlag("checkpoint-every", f["checkpoint-every"]),
  "checkpoint-steps": (f, c) => c.checkpointSteps = integerFlag("checkpoint-steps", f["checkpoint-steps"]),
  run: (f, c) => c.runDir = (f.run as string | undefined) ?? "",
  "log-every": (f, c) => c.logEvery = integerFlag("log-every", f["log-every"]),
  "metrics-every": (f, c) => c.metricsEvery = integerFlag("metrics-every", f["metrics-every"]),
};

await runMain(async () => {
  if (flags.resume && flags.overwrite) throw new Error("Cannot both --resume and --overwrite a run: choose one");
  if (flags.resume && flags.run && flags.run !== flags.resume) {
    throw new Error(`Cannot resume ${flags.resume} with --run ${flags.run}: give the run directory once`);
  }
  let config: TrainConfig;
  if (flags.resume) {
    // The run's own config; flags given beside --resume override it, and train() refuses any that
    // change the run (naming them), so `--resume dir --epochs 20` cannot silently mean 10 epochs.
    const dir = flags.resume as string;
    const text = await Deno.readTextFile(`${dir}/config.json`).catch((e) => {
      throw new Error(
        e instanceof Deno.errors.NotFound
          ? `Cannot resume as ${dir}/config.json is missing: no run to continue there`
          : `Cannot resume as ${dir}/config.json is not readable: ${(e as Error).message}`,
      );
    });
    config = { ...d, ...parseConfig(text, `${dir}/config.json`).config, dataDir: d.dataDir, runDir: dir };
    config.haat = { ...config.haat };
    for (const name of flags.given) FIELDS[name]?.(flags, config);
  } else {
    config = { ...d, haat: { ...d.haat } };
    for (const read of Object.values(FIELDS)) read(flags, config);
  }
  resolveConfig(config); // every field checked before the backend starts or a file is touched
  if (!config.runDir) {
    console.log("note: no --run given, so nothing is saved (no config, metrics, checkpoints or best model)");
  }
  await useBackend(flags.backend as "auto");
  const summary = await train(config, { resume: Boolean(flags.resume), overwrite: Boolean(flags.overwrite) });
  const bestLine = summary.epochs.find((e) => e.epoch === summary.best.epoch);
  const by = config.objective === "standard" && bestLine
    ? `validation clean accuracy ${(100 * bestLine.valClean).toFixed(2)}% (standard training: best by clean), `
    : "";
  console.log(
    `best epoch ${summary.best.epoch}: ${by}validation PGD accuracy ${(100 * summary.best.valPgd).toFixed(2)}%`,
  );
  if (config.runDir) {
    // What is there, not what a run writes: best/ may have been removed by hand, and is then not rewritten
    // unless a later epoch does better.
    const names = ["config.json", "metrics.jsonl", "checkpoints/", "latest.json", "best/"];
    const present = names.filter((name) => {
      try {
        Deno.statSync(`${config.runDir}/${name}`);
        return true;
      } catch {
        return false;
      }
    });
    const missing = names.filter((name) => !present.includes(name));
    console.log(
      `run written to ${config.runDir} (${present.join(", ")})` +
        (missing.length > 0 ? `; missing: ${missing.join(", ")}` : ""),
    );
  }
  summary.model.dispose();
});
