/**
 * The training loop (SPEC section 4), read top to bottom: for each batch, make the objective's
 * training images (with the model in eval mode; see `objectives.ts`), take one SGD step on the
 * objective's loss with the model in train mode, log; after each epoch, measure clean and PGD accuracy
 * on the held-out validation images, append one JSON line to `<runDir>/metrics.jsonl`, write a
 * resumable checkpoint (`checkpoint.ts`) and, when validation PGD accuracy improved, `<runDir>/best`.
 *
 * Every random choice (weights, split, shuffle, augmentation, attack starts) derives from
 * `config.seed` and the epoch or global step, so a run resumed from a checkpoint repeats the
 * uninterrupted run exactly.
 *
 * @module
 */
import { backendInfo, tf } from "../backend.ts";
import { batches, splitValidation, toTensors } from "../data/batches.ts";
import { type Dataset, defaultDataDir, loadCifar10 } from "../data/cifar10.ts";
import { type ResNet18, resnet18 } from "../models/resnet18.ts";
import { pgd } from "../attacks/pgd.ts";
import { HAAT_DEFAULTS } from "../attacks/haat.ts";
import { checkEps } from "../attacks/project.ts";
import { accuracy } from "../eval/evaluate.ts";
import { oneCycle, piecewise } from "./schedules.ts";
import { type Sgd, sgd } from "./sgd.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { type Objective, objectiveLoss, OBJECTIVES, trainingImages } from "./objectives.ts";
import { loadCheckpoint, pruneCheckpoints, saveCheckpoint, type TrainingState } from "./checkpoint.ts";

/** The whole training configuration; every field has a default, with its reason. */
export interface TrainConfig {
  /** What the model is trained on: see `objectives.ts`. */
  objective: Objective;
  /** CIFAR-10 directory in the official binary layout (default: `defaultDataDir()`). */
  dataDir: string;
  /** Use the first n training images (the shared subset holds 7,728); Infinity (null in JSON): all. */
  trainSize: number;
  /** Held out of the training images for validation (SPEC: 1,000). */
  valSize: number;
  /** Epochs (the paper: 200; small here for CPU runs). */
  epochs: number;
  /** Batch size (the paper: 128). */
  batchSize: number;
  /** Peak learning rate (the paper: 0.1). */
  lr: number;
  /** "onecycle" (the paper's cyclic schedule) or "piecewise". */
  schedule: "onecycle" | "piecewise";
  /** SGD momentum (0.9) and weight decay (5e-4), SPEC section 4. */
  momentum: number;
  weightDecay: number;
  /** ResNet18 base width (64 is the paper's model). */
  width: number;
  /** Seed of weights, split, shuffle, augmentation and attacks. */
  seed: number;
  /** Training attack: Linf eps 8/255, step 2/255, 10 steps (the paper). */
  eps: number;
  alpha: number;
  attackSteps: number;
  /** HAAT's options when objective is "haat" (SPEC section 1 defaults: k 5, xi 1e-6, w1 = w2 = 1/4). */
  haat: {
    k: number;
    xi: number;
    w1: number;
    w2: number;
    difference: "forward" | "central";
    hvp: "fd" | "exact";
    secondOrderScale: "cube" | "sqrtd" | "l2ball";
  };
  /** TRADES' beta (Zhang et al. 2019: 6). */
  tradesBeta: number;
  /** PGD steps for the validation metric (SPEC picks the best checkpoint by PGD accuracy). */
  valPgdSteps: number;
  /** 4-pixel pad + crop + flip (SPEC section 4). */
  augment: boolean;
  /**
   * Split each batch into chunks of this size for the attack and the gradient, and accumulate the
   * gradients (0: no split). The wasm heap holds a width-64 ResNet18 step of at most 64 images;
   * BatchNorm then uses each chunk's own statistics ("ghost" batches).
   */
  microBatch: number;
  /** Keep the checkpoint of every n-th epoch (the paper: every 20); the latest is always kept. */
  checkpointEvery: number;
  /** Where config.json, metrics.jsonl and checkpoints go; empty for none. */
  runDir: string;
  /** Print a progress line every n batches (0: only per epoch). */
  logEvery: number;
  /** Also write a `"kind": "batch"` line to metrics.jsonl every n batches (0: only epoch lines). */
  metricsEvery: number;
}

const { eps: _eps, steps: _steps, seed: _seed, ...haatStepDefaults } = HAAT_DEFAULTS;

/** Defaults of `TrainConfig`. */
export function defaultTrainConfig(): TrainConfig {
  return {
    objective: "pgd",
    dataDir: defaultDataDir(),
    trainSize: Infinity,
    valSize: 1000,
    epochs: 10,
    batchSize: 128,
    lr: 0.1,
    schedule: "onecycle",
    momentum: 0.9,
    weightDecay: 5e-4,
    width: 64,
    seed: 0,
    eps: 8 / 255,
    alpha: 2 / 255,
    attackSteps: 10,
    haat: { ...haatStepDefaults },
    tradesBeta: 6,
    valPgdSteps: 10,
    augment: true,
    microBatch: 0,
    checkpointEvery: 20,
    runDir: "",
    logEvery: 10,
    metricsEvery: 0,
  };
}

/** One epoch line of metrics.jsonl. */
export interface EpochMetrics {
  kind: "epoch";
  epoch: number;
  steps: number;
  loss: number;
  trainAccuracy: number;
  valClean: number;
  valPgd: number;
  lr: number;
  seconds: number;
  imagesPerSecond: number;
  numTensors: number;
  backend: string;
}

/** One optional batch line of metrics.jsonl (running means over the epoch so far). */
export interface BatchMetrics {
  kind: "batch";
  epoch: number;
  step: number;
  loss: number;
  trainAccuracy: number;
  lr: number;
  imagesPerSecond: number;
}

/** What `train` returns. */
export interface TrainSummary {
  config: TrainConfig;
  /** Every epoch line, including those of earlier runs of a resumed run. */
  epochs: EpochMetrics[];
  best: { epoch: number; valPgd: number };
  /** The final model, in eval mode. */
  model: ResNet18;
}

/** How `train` treats an existing run directory. */
export interface TrainRunOptions {
  /** Continue the run in `config.runDir` from its latest checkpoint. @default false */
  resume?: boolean;
  /** Start afresh even if `config.runDir` holds a run (its checkpoints are removed). @default false */
  overwrite?: boolean;
}

/** Throws a clear error for a bad config. */
export function validateConfig(config: TrainConfig): void {
  const fail = (what: string, value: unknown) => {
    throw new Error(`Cannot train as ${what}: current value is ${value}`);
  };
  if (!(OBJECTIVES as readonly string[]).includes(config.objective)) {
    fail(`objective must be one of ${OBJECTIVES.join(", ")}`, config.objective);
  }
  checkEps("training", config.eps);
  if (!(config.lr > 0)) fail("lr must be > 0", config.lr);
  if (!(Number.isInteger(config.epochs) && config.epochs >= 1)) fail("epochs must be an integer >= 1", config.epochs);
  if (!(Number.isInteger(config.batchSize) && config.batchSize >= 1)) {
    fail("batchSize must be an integer >= 1", config.batchSize);
  }
  if (config.schedule !== "onecycle" && config.schedule !== "piecewise") {
    fail("schedule must be onecycle or piecewise", config.schedule);
  }
  if (!(config.alpha > 0)) fail("alpha must be > 0", config.alpha);
  if (!(Number.isInteger(config.attackSteps) && config.attackSteps >= 1)) {
    fail("attackSteps must be an integer >= 1", config.attackSteps);
  }
  if (!(config.tradesBeta >= 0)) fail("tradesBeta must be >= 0", config.tradesBeta);
  if (!(Number.isInteger(config.microBatch) && config.microBatch >= 0)) {
    fail("microBatch must be an integer >= 0", config.microBatch);
  }
}

/** The config as it is compared and saved: JSON, with Infinity written as null. */
function configJson(config: TrainConfig): string {
  return JSON.stringify(config, null, 2);
}

/** Reads a config.json back (null trainSize is Infinity). */
export function parseConfig(text: string): TrainConfig {
  const saved = JSON.parse(text);
  return { ...defaultTrainConfig(), ...saved, trainSize: saved.trainSize ?? Infinity };
}

/**
 * One SGD step on the objective's loss (default: mean cross-entropy of the model in its current mode
 * over (x, y)), with the gradient accumulated over chunks of `microBatch` images (0: one chunk). The
 * loss is read back to report it and to stop on NaN; the weights are not updated when it is not
 * finite, and `finite` tells whether every weight and BatchNorm statistic still is after the step
 * (a loss can stay finite while an overflowing update has made weights infinite).
 *
 * @param model The model (in train mode, normally).
 * @param optimiser Its optimiser.
 * @param x Training images (adversarial ones for the adversarial objectives).
 * @param y Labels.
 * @param lr Learning rate of this step.
 * @param microBatch Chunk size (0: none); TRADES uses half of it, as it runs two forward passes.
 * @param objective `"trades"` adds beta KL(f(xClean) || f(x)) to CE(f(xClean)); others use CE(f(x)).
 * @returns The mean loss, the number of correct predictions, and whether the model is still finite.
 */
export function sgdStep(
  model: ResNet18,
  optimiser: Sgd,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  lr: number,
  microBatch = 0,
  objective: { name: Objective; xClean?: tf.Tensor4D; beta?: number } = { name: "pgd" },
): { loss: number; hits: number; finite: boolean } {
  const n = x.shape[0];
  // TRADES runs two forward passes per image (clean and adversarial): its chunks hold half as many.
  const perChunk = objective.name === "trades" ? Math.max(1, Math.floor(microBatch / 2)) : microBatch;
  const chunk = microBatch > 0 ? Math.min(perChunk, n) : n;
  let loss = 0, hits = 0;
  let total: tf.Tensor[] | undefined;
  for (let start = 0; start < n; start += chunk) {
    const size = Math.min(chunk, n - start);
    const weight = size / n;
    let hitsTensor: tf.Scalar | undefined;
    const [value, grads] = tf.tidy(() => {
      const cut = <T extends tf.Tensor>(t: T): T =>
        size === n ? t : tf.slice(t, [start, ...t.shape.slice(1).map(() => 0)], [size, ...t.shape.slice(1)]) as T;
      const xc = cut(x), yc = cut(y), cleanc = cut(objective.xClean ?? x);
      const { value, grads } = tf.variableGrads(() => {
        const out = objectiveLoss(objective.name, model.logits, xc, cleanc, yc, objective.beta ?? 6);
        hitsTensor = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(out.logits, 1), yc), "float32")));
        return tf.mul(out.loss, weight) as tf.Scalar;
      }, model.trainableVariables);
      return [value, model.trainableVariables.map((v) => grads[v.name])] as const;
    });
    loss += value.dataSync()[0];
    hits += hitsTensor!.dataSync()[0];
    tf.dispose([value, hitsTensor!]);
    if (total === undefined) {
      total = grads as tf.Tensor[];
    } else {
      const summed = tf.tidy(() => total!.map((t, i) => tf.add(t, grads[i])));
      tf.dispose([...total, ...grads]);
      total = summed;
    }
  }
  if (Number.isFinite(loss)) optimiser.step(total!, lr);
  tf.dispose(total!);
  const largest = tf.tidy(() =>
    tf.max(tf.stack([...model.trainableVariables, ...model.statistics].map((v) => tf.max(tf.abs(v)))))
  );
  const finite = Number.isFinite(largest.dataSync()[0]);
  largest.dispose();
  return { loss, hits, finite };
}

/** The learning rate at global step `step` of `totalSteps`. */
function learningRate(config: TrainConfig, step: number, totalSteps: number): number {
  return config.schedule === "onecycle"
    ? oneCycle(config.lr, (step + 0.5) / totalSteps)
    : piecewise(config.lr, step / totalSteps);
}

/**
 * Prepares the run directory: a new run writes config.json and an empty metrics.jsonl; a resumed
 * run checks its config and keeps only the metrics lines of the epochs its checkpoint holds.
 */
async function prepareRunDir(
  config: TrainConfig,
  options: TrainRunOptions,
): Promise<Awaited<ReturnType<typeof loadCheckpoint>>> {
  const dir = config.runDir;
  let saved: string | undefined;
  try {
    saved = await Deno.readTextFile(`${dir}/config.json`);
  } catch {
    saved = undefined;
  }
  if (options.resume) {
    if (saved === undefined) throw new Error(`Cannot resume as ${dir}/config.json is missing: no run to continue`);
    if (configJson(parseConfig(saved)) !== configJson(config)) {
      throw new Error(`Cannot resume as ${dir} holds a different config: resume with its own config.json`);
    }
    const checkpoint = await loadCheckpoint(dir);
    if (checkpoint) {
      const lines = (await Deno.readTextFile(`${dir}/metrics.jsonl`).catch(() => "")).split("\n");
      const kept = lines.filter((line) => {
        try {
          return JSON.parse(line).epoch <= checkpoint.state.epoch;
        } catch {
          return false; // a line cut short by a kill, or blank
        }
      });
      await writeFileAtomic(`${dir}/metrics.jsonl`, kept.map((l) => l + "\n").join(""));
      return checkpoint;
    }
  } else if (saved !== undefined && !options.overwrite) {
    throw new Error(
      configJson(parseConfig(saved)) === configJson(config)
        ? `Cannot train as ${dir} already holds this run: pass --resume to continue it, or --overwrite`
        : `Cannot train as ${dir} holds a different config: choose another --run, or --overwrite`,
    );
  }
  await Deno.remove(`${dir}/checkpoints`, { recursive: true }).catch(() => {});
  await Deno.remove(`${dir}/latest.json`).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  await writeFileAtomic(`${dir}/config.json`, configJson(config));
  await writeFileAtomic(`${dir}/metrics.jsonl`, "");
  return undefined;
}

/** Appends lines to metrics.jsonl (rewritten whole, atomically: the file is small). */
async function appendMetrics(runDir: string, lines: (EpochMetrics | BatchMetrics)[]): Promise<void> {
  if (!runDir || lines.length === 0) return;
  const previous = await Deno.readTextFile(`${runDir}/metrics.jsonl`);
  await writeFileAtomic(`${runDir}/metrics.jsonl`, previous + lines.map((l) => JSON.stringify(l) + "\n").join(""));
}

/** Clean and PGD accuracy on the validation images, model in eval mode (then back to train mode). */
function validate(model: ResNet18, val: { x: tf.Tensor4D; y: tf.Tensor1D }, config: TrainConfig) {
  model.eval();
  const batchSize = config.microBatch > 0 ? config.microBatch : config.batchSize;
  const valClean = accuracy(model.logits, val.x, val.y, { batchSize });
  let robust = 0;
  const n = val.x.shape[0];
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    const xc = tf.slice(val.x, [start, 0, 0, 0], [size, -1, -1, -1]);
    const yc = tf.slice(val.y, [start], [size]);
    const xAdv = pgd(model.logits, xc, yc, {
      eps: config.eps,
      alpha: config.alpha,
      steps: config.valPgdSteps,
      seed: config.seed + start,
    });
    robust += accuracy(model.logits, xAdv, yc) * size;
    tf.dispose([xc, yc, xAdv]);
  }
  model.train();
  return { valClean, valPgd: n > 0 ? robust / n : 0 };
}

/**
 * Trains a ResNet18 per `config` and returns the per-epoch metrics and the final model. With
 * `runDir` set it writes config.json, metrics.jsonl, a checkpoint after every epoch (and one of the
 * initial weights), and `best/`; with `resume` it continues from the latest checkpoint.
 *
 * @param overrides Fields of `TrainConfig` to change from `defaultTrainConfig()`.
 * @param options `resume` / `overwrite` an existing run directory.
 * @returns The summary; the caller disposes `summary.model`.
 * @throws {Error} On a bad config, missing data, a run directory holding another run, or a NaN or
 *   infinite loss (naming epoch and step; the last good checkpoint stays).
 */
export async function train(
  overrides: Partial<TrainConfig> = {},
  options: TrainRunOptions = {},
): Promise<TrainSummary> {
  const config: TrainConfig = { ...defaultTrainConfig(), ...overrides };
  config.haat = { ...defaultTrainConfig().haat, ...overrides.haat };
  validateConfig(config);
  if (options.resume && !config.runDir) throw new Error("Cannot resume as no run directory is given");
  const all: Dataset = await loadCifar10(config.dataDir, "train", { limit: config.trainSize });
  const { train: trainSet, validation } = splitValidation(all, { size: config.valSize, seed: config.seed });
  const backend = backendInfo();
  console.log(`haat train: ${backend.report}`);
  console.log(`config ${JSON.stringify(config)}`);
  const checkpoint = config.runDir ? await prepareRunDir(config, options) : undefined;
  const model = checkpoint?.model ?? resnet18({ width: config.width, seed: config.seed });
  model.train();
  const optimiser = sgd(model.trainableVariables, { momentum: config.momentum, weightDecay: config.weightDecay });
  checkpoint?.restoreOptimizer(optimiser);
  let state: TrainingState = checkpoint?.state ?? { epoch: 0, step: 0, best: { epoch: 0, valPgd: -1 } };
  if (checkpoint) console.log(`resuming ${config.runDir} after epoch ${state.epoch} (step ${state.step})`);
  else if (config.runDir) await saveCheckpoint(config.runDir, model, optimiser, state);
  const history: EpochMetrics[] = config.runDir
    ? (await Deno.readTextFile(`${config.runDir}/metrics.jsonl`)).split("\n").filter(Boolean).map((l) => JSON.parse(l))
      .filter((m) => m.kind === "epoch")
    : [];
  const stepsPerEpoch = Math.ceil(trainSet.size / config.batchSize);
  const totalSteps = stepsPerEpoch * config.epochs;
  const val = toTensors(validation);
  const attack = { eps: config.eps, alpha: config.alpha, steps: config.attackSteps, haat: config.haat };
  try {
    for (let epoch = state.epoch + 1; epoch <= config.epochs; epoch++) {
      const t0 = performance.now();
      let lossSum = 0, correct = 0, seen = 0, lr = 0, step = state.step;
      const batchLines: BatchMetrics[] = [];
      for (
        const batch of batches(trainSet, {
          batchSize: config.batchSize,
          shuffle: true,
          augment: config.augment,
          seed: config.seed * 7919 + epoch,
        })
      ) {
        lr = learningRate(config, step, totalSteps);
        model.eval();
        const xTrain = trainingImages(
          config.objective,
          model.logits,
          batch.x,
          batch.y,
          attack,
          config.seed * 1_000_003 + step,
          config.microBatch,
        );
        model.train();
        const { loss, hits, finite } = sgdStep(model, optimiser, xTrain, batch.y, lr, config.microBatch, {
          name: config.objective,
          xClean: batch.x,
          beta: config.tradesBeta,
        });
        tf.dispose([xTrain, batch.x, batch.y]);
        step++;
        if (!Number.isFinite(loss) || !finite) {
          const what = Number.isFinite(loss) ? `the weights are not finite (loss ${loss})` : `the loss is ${loss}`;
          throw new Error(
            `Training stopped as ${what} at epoch ${epoch}, step ${step}: ` +
              (config.runDir
                ? `the last good checkpoint, after epoch ${state.epoch}, is kept in ${config.runDir}`
                : "lower the learning rate"),
          );
        }
        lossSum += loss * batch.indices.length;
        correct += hits;
        seen += batch.indices.length;
        const secs = (performance.now() - t0) / 1000;
        if (config.logEvery > 0 && step % config.logEvery === 0) {
          const left = (totalSteps - step) * secs / (step - state.step);
          console.log(
            `epoch ${epoch}/${config.epochs} step ${step}/${totalSteps} loss ${(lossSum / seen).toFixed(4)} ` +
              `acc ${(100 * correct / seen).toFixed(1)}% lr ${lr.toFixed(4)} ${(seen / secs).toFixed(1)} img/s ` +
              `left ${(left / 60).toFixed(1)} min`,
          );
        }
        if (config.metricsEvery > 0 && step % config.metricsEvery === 0) {
          batchLines.push({
            kind: "batch",
            epoch,
            step,
            loss: lossSum / seen,
            trainAccuracy: correct / seen,
            lr,
            imagesPerSecond: seen / secs,
          });
        }
        if (batchLines.length >= 10) await appendMetrics(config.runDir, batchLines.splice(0));
      }
      await appendMetrics(config.runDir, batchLines.splice(0));
      const trainSeconds = (performance.now() - t0) / 1000;
      const { valClean, valPgd } = validate(model, val, config);
      const metrics: EpochMetrics = {
        kind: "epoch",
        epoch,
        steps: step,
        loss: lossSum / seen,
        trainAccuracy: correct / seen,
        valClean,
        valPgd,
        lr,
        seconds: (performance.now() - t0) / 1000,
        imagesPerSecond: seen / trainSeconds,
        numTensors: tf.memory().numTensors,
        backend: backend.name,
      };
      history.push(metrics);
      console.log(
        `epoch ${epoch}/${config.epochs} done: loss ${metrics.loss.toFixed(4)} ` +
          `train acc ${(100 * metrics.trainAccuracy).toFixed(1)}% val clean ${(100 * valClean).toFixed(1)}% ` +
          `val PGD-${config.valPgdSteps} ${(100 * valPgd).toFixed(1)}% ` +
          `${metrics.imagesPerSecond.toFixed(1)} img/s ${metrics.seconds.toFixed(0)} s`,
      );
      const improved = valPgd > state.best.valPgd;
      state = { epoch, step, best: improved ? { epoch, valPgd } : state.best };
      if (config.runDir) {
        await appendMetrics(config.runDir, [metrics]);
        if (improved) await model.save(`${config.runDir}/best`);
        await saveCheckpoint(config.runDir, model, optimiser, state);
        await pruneCheckpoints(config.runDir, epoch, config.checkpointEvery);
      }
    }
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    optimiser.dispose();
    tf.dispose([val.x, val.y]);
  }
  model.eval();
  return { config, epochs: history, best: state.best, model };
}
