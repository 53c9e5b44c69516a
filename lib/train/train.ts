/**
 * The training loop (SPEC section 4), read top to bottom: for each batch, make the objective's
 * training images (PGD or FGSM with random start, with the model in eval mode), take one SGD step on
 * the cross-entropy of the model in train mode, log; after each epoch, measure clean and PGD accuracy
 * on the held-out validation images, write one JSON line to `<runDir>/metrics.jsonl`, and save
 * `<runDir>/last` and, when PGD accuracy improved, `<runDir>/best` (atomically).
 *
 * @module
 */
import { backendInfo, tf } from "../backend.ts";
import { batches, splitValidation, toTensors } from "../data/batches.ts";
import { defaultDataDir, loadCifar10 } from "../data/cifar10.ts";
import { crossEntropy } from "../losses.ts";
import { type ResNet18, resnet18 } from "../models/resnet18.ts";
import { pgd } from "../attacks/pgd.ts";
import { checkEps, lossAndGradient, project, randomStart } from "../attacks/project.ts";
import { accuracy } from "../eval/evaluate.ts";
import { oneCycle, piecewise } from "./schedules.ts";
import { type Sgd, sgd } from "./sgd.ts";
import { writeFileAtomic } from "../io/atomic.ts";

/** Training objectives implemented so far. */
export const OBJECTIVES = ["standard", "pgd", "fgsm-rs"] as const;
/** A training objective. */
export type Objective = typeof OBJECTIVES[number];

/** The whole training configuration; every field has a default, with its reason. */
export interface TrainConfig {
  /** What the model is trained on: clean images, PGD (Madry AT) or FGSM with random start. */
  objective: Objective;
  /** CIFAR-10 directory in the official binary layout (default: `defaultDataDir()`). */
  dataDir: string;
  /** Use the first n training images (the shared subset holds 7,728). */
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
  /** PGD steps for the validation metric (SPEC picks the best checkpoint by PGD accuracy). */
  valPgdSteps: number;
  /** 4-pixel pad + crop + flip (SPEC section 4). */
  augment: boolean;
  /**
   * Split each batch into chunks of this size and accumulate their gradients (0: no split). The wasm
   * heap holds a width-64 ResNet18 step of at most 64 images; BatchNorm then uses each chunk's own
   * statistics ("ghost" batches).
   */
  microBatch: number;
  /** Where config.json, metrics.jsonl and checkpoints go; empty for none. */
  runDir: string;
  /** Print a progress line every n batches (0: only per epoch). */
  logEvery: number;
}

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
    valPgdSteps: 10,
    augment: true,
    microBatch: 0,
    runDir: "",
    logEvery: 10,
  };
}

/** One line of metrics.jsonl. */
export interface EpochMetrics {
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

/** What `train` returns. */
export interface TrainSummary {
  config: TrainConfig;
  epochs: EpochMetrics[];
  best: { epoch: number; valPgd: number };
  model: ResNet18;
}

/** Throws a clear error for a bad config. */
export function validateConfig(config: TrainConfig): void {
  if (!(OBJECTIVES as readonly string[]).includes(config.objective)) {
    throw new Error(
      `Cannot train as objective must be one of ${OBJECTIVES.join(", ")}: current value is ${config.objective}`,
    );
  }
  checkEps("training", config.eps);
  if (!(config.lr > 0)) throw new Error(`Cannot train as lr must be > 0: current value is ${config.lr}`);
  if (!(Number.isInteger(config.epochs) && config.epochs >= 1)) {
    throw new Error(`Cannot train as epochs must be an integer >= 1: current value is ${config.epochs}`);
  }
  if (config.schedule !== "onecycle" && config.schedule !== "piecewise") {
    throw new Error(`Cannot train as schedule must be onecycle or piecewise: current value is ${config.schedule}`);
  }
}

/**
 * One SGD step on the mean cross-entropy of the model (in its current mode) over (x, y), with the
 * gradient accumulated over chunks of `microBatch` images (0: one chunk). The loss is read back to
 * report it and to stop on NaN; the weights are not updated when it is not finite.
 *
 * @returns The mean loss and the number of correct predictions.
 */
export function sgdStep(
  model: ResNet18,
  optimiser: Sgd,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  lr: number,
  microBatch = 0,
): { loss: number; hits: number } {
  const n = x.shape[0];
  const chunk = microBatch > 0 ? Math.min(microBatch, n) : n;
  let loss = 0, hits = 0;
  let total: tf.Tensor[] | undefined;
  for (let start = 0; start < n; start += chunk) {
    const size = Math.min(chunk, n - start);
    const weight = size / n;
    let hitsTensor: tf.Scalar | undefined;
    const [value, grads] = tf.tidy(() => {
      const xc = size === n ? x : tf.slice(x, [start, 0, 0, 0], [size, -1, -1, -1]);
      const yc = size === n ? y : tf.slice(y, [start], [size]);
      const { value, grads } = tf.variableGrads(() => {
        const logits = model.logits(xc);
        hitsTensor = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), yc), "float32")));
        return tf.mul(tf.mean(crossEntropy(logits, yc)), weight) as tf.Scalar;
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
  return { loss, hits };
}

/** The training images of one batch for the objective (model in eval mode while attacking). */
function trainingImages(
  model: ResNet18,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  config: TrainConfig,
  seed: number,
): tf.Tensor4D {
  if (config.objective === "standard") return tf.clone(x);
  model.eval();
  try {
    if (config.objective === "pgd") {
      return pgd(model.logits, x, y, { eps: config.eps, alpha: config.alpha, steps: config.attackSteps, seed });
    }
    // fgsm-rs (Wong et al. 2020): random start, one step of 1.25 eps, projected.
    return tf.tidy(() => {
      const start = randomStart(x, config.eps, "linf", seed);
      const { grad } = lossAndGradient(model.logits, start, y);
      return project(tf.add(start, tf.mul(tf.sign(grad), 1.25 * config.eps)) as tf.Tensor4D, x, config.eps);
    });
  } finally {
    model.train();
  }
}

/**
 * Trains a ResNet18 per `config` and returns the per-epoch metrics and the final model.
 *
 * @param overrides Fields of `TrainConfig` to change from `defaultTrainConfig()`.
 * @returns The summary; the caller disposes `summary.model`.
 * @throws {Error} On a bad config, missing data, or a NaN/infinite loss (naming epoch and step).
 */
export async function train(overrides: Partial<TrainConfig> = {}): Promise<TrainSummary> {
  const config: TrainConfig = { ...defaultTrainConfig(), ...overrides };
  validateConfig(config);
  const all = await loadCifar10(config.dataDir, "train", { limit: config.trainSize });
  const { train: trainSet, validation } = splitValidation(all, { size: config.valSize, seed: config.seed });
  const backend = backendInfo();
  console.log(`haat train: ${backend.report}`);
  console.log(`config ${JSON.stringify(config)}`);
  if (config.runDir) {
    await Deno.mkdir(config.runDir, { recursive: true });
    await writeFileAtomic(`${config.runDir}/config.json`, JSON.stringify(config, null, 2));
    await writeFileAtomic(`${config.runDir}/metrics.jsonl`, "");
  }
  const model = resnet18({ width: config.width, seed: config.seed });
  model.train();
  const optimiser = sgd(model.trainableVariables, { momentum: config.momentum, weightDecay: config.weightDecay });
  const stepsPerEpoch = Math.ceil(trainSet.size / config.batchSize);
  const totalSteps = stepsPerEpoch * config.epochs;
  const val = toTensors(validation);
  const history: EpochMetrics[] = [];
  let best = { epoch: 0, valPgd: -1 };
  let step = 0;
  try {
    for (let epoch = 1; epoch <= config.epochs; epoch++) {
      const t0 = performance.now();
      let lossSum = 0, correct = 0, seen = 0, lr = 0;
      for (
        const batch of batches(trainSet, {
          batchSize: config.batchSize,
          shuffle: true,
          augment: config.augment,
          seed: config.seed * 7919 + epoch,
        })
      ) {
        lr = config.schedule === "onecycle"
          ? oneCycle(config.lr, (step + 0.5) / totalSteps)
          : piecewise(config.lr, step / totalSteps);
        const xTrain = trainingImages(model, batch.x, batch.y, config, config.seed * 1_000_003 + step);
        const { loss, hits } = sgdStep(model, optimiser, xTrain, batch.y, lr, config.microBatch);
        tf.dispose([xTrain, batch.x, batch.y]);
        step++;
        if (!Number.isFinite(loss)) {
          throw new Error(
            `Training stopped as the loss is ${loss} at epoch ${epoch}, step ${step}; the last good checkpoint is kept`,
          );
        }
        lossSum += loss * batch.indices.length;
        correct += hits;
        seen += batch.indices.length;
        if (config.logEvery > 0 && step % config.logEvery === 0) {
          const secs = (performance.now() - t0) / 1000;
          const left = (totalSteps - step) * secs / (step - (epoch - 1) * stepsPerEpoch);
          console.log(
            `epoch ${epoch}/${config.epochs} step ${step}/${totalSteps} loss ${(lossSum / seen).toFixed(4)} ` +
              `acc ${(100 * correct / seen).toFixed(1)}% lr ${lr.toFixed(4)} ${(seen / secs).toFixed(1)} img/s ` +
              `left ${(left / 60).toFixed(1)} min`,
          );
        }
      }
      const trainSeconds = (performance.now() - t0) / 1000;
      model.eval();
      const valClean = accuracy(model.logits, val.x, val.y, { batchSize: config.batchSize });
      const xAdv = pgd(model.logits, val.x, val.y, {
        eps: config.eps,
        alpha: config.alpha,
        steps: config.valPgdSteps,
        seed: config.seed,
      });
      const valPgd = accuracy(model.logits, xAdv, val.y, { batchSize: config.batchSize });
      xAdv.dispose();
      model.train();
      const metrics: EpochMetrics = {
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
        `epoch ${epoch}/${config.epochs} done: loss ${metrics.loss.toFixed(4)} train acc ${
          (100 * metrics.trainAccuracy).toFixed(1)
        }% ` +
          `val clean ${(100 * valClean).toFixed(1)}% val PGD-${config.valPgdSteps} ${(100 * valPgd).toFixed(1)}% ` +
          `${metrics.imagesPerSecond.toFixed(1)} img/s ${metrics.seconds.toFixed(0)} s`,
      );
      if (config.runDir) {
        const previous = await Deno.readTextFile(`${config.runDir}/metrics.jsonl`);
        await writeFileAtomic(`${config.runDir}/metrics.jsonl`, previous + JSON.stringify(metrics) + "\n");
        await model.save(`${config.runDir}/last`);
        if (valPgd > best.valPgd) await model.save(`${config.runDir}/best`);
      }
      if (valPgd > best.valPgd) best = { epoch, valPgd };
    }
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    optimiser.dispose();
    tf.dispose([val.x, val.y]);
  }
  model.eval();
  return { config, epochs: history, best, model };
}
