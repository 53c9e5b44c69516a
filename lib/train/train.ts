/**
 * The training loop (SPEC section 4), read top to bottom: for each batch, one step on the
 * objective (`step.ts`) and a progress line; after each epoch, clean and PGD accuracy on the
 * held-out validation images, one JSON line in `<runDir>/metrics.jsonl` (`metrics.ts`), a resumable
 * checkpoint (`checkpoint.ts`) and, when the epoch is the best so far (`bestEpoch`: by validation PGD
 * accuracy, or clean accuracy for the standard objective), `<runDir>/best`. The
 * config is `config.ts`; the run directory and the resume policy are `run_dir.ts`.
 *
 * Every random choice (weights, split, shuffle, augmentation, attack starts) derives from
 * `config.seed` and the epoch or global step, so a run resumed from a checkpoint repeats the
 * uninterrupted run exactly.
 *
 * @module
 */
import { backendInfo, ensureBackend } from "../backend/backend.ts";
import { tf } from "../tfjs.ts";
import { batches, splitValidation, toTensors } from "../data/batches.ts";
import { type Dataset, loadCifar10 } from "../data/cifar10.ts";
import { loadModel, type ResNet18, resnet18 } from "../models/resnet18.ts";
import { readModelFile } from "../models/model_file.ts";
import { TRAINED_MODELS, trainedModel } from "../models/trained.ts";
import { sgd } from "./sgd.ts";
import { pruneCheckpoints, saveCheckpoint, type TrainingState } from "./checkpoint.ts";
import { configJson, resolveConfig, type TrainConfig, type TrainOverrides } from "./config.ts";
import { notFiniteError, trainStep } from "./step.ts";
import {
  appendMetrics,
  type BatchMetrics,
  bestEpoch,
  epochLine,
  type EpochMetrics,
  progressLine,
  validate,
} from "./metrics.ts";
import { checkRunConfig, type OpenedRun, openRun, type TrainRunOptions } from "./run_dir.ts";

export { defaultTrainConfig, parseConfig, type TrainConfig, type TrainOverrides, validateConfig } from "./config.ts";
export { type BatchMetrics, type EpochMetrics } from "./metrics.ts";
export { sgdStep, sgdStepAsync } from "./step.ts";
export { type TrainRunOptions } from "./run_dir.ts";

/** What `train` returns. */
export interface TrainSummary {
  config: TrainConfig;
  /** Every epoch line, including those of earlier runs of a resumed run. */
  epochs: EpochMetrics[];
  best: { epoch: number; valPgd: number };
  /** The final model, in eval mode. */
  model: ResNet18;
}

/**
 * Trains a ResNet18 per `config` and returns the per-epoch metrics and the final model. With
 * `runDir` set it writes config.json, metrics.jsonl, a checkpoint after every epoch (and one of the
 * initial weights, and every `checkpointSteps` steps inside an epoch when that is set), and `best/`;
 * with `resume` it continues from the latest checkpoint. The config,
 * the data and the run directory are all checked before any file is written or removed. Starts a backend
 * as `ensureBackend()` does where none is started.
 *
 * @param overrides Fields of `TrainConfig` to change from `defaultTrainConfig()`.
 * @param options `resume` / `overwrite` an existing run directory.
 * @returns The summary; the caller disposes `summary.model`.
 * @throws {Error} On a bad config, missing or short data, a run directory that does not allow the
 *   choice (see `run_dir.ts`), or a NaN or infinite loss (naming epoch and step; the last good
 *   checkpoint stays).
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { train, useBackend } from "../../mod.ts";
 * await useBackend("cpu");
 * // 48 generated CIFAR-10 records (a label byte, then 3,072 pixel bytes) stand in for the data.
 * const dataDir = await Deno.makeTempDir();
 * const records = new Uint8Array(48 * 3073).map((_, i) => (i * 7) % 256);
 * for (let r = 0; r < 48; r++) records[r * 3073] = r % 10;
 * await Deno.writeFile(`${dataDir}/data_batch_1.bin`, records);
 * const summary = await train(
 *   { dataDir, trainSize: 48, valSize: 16, epochs: 1, batchSize: 16, width: 2, attackSteps: 1, valPgdSteps: 1 },
 *   { log: () => {} },
 * );
 * assert.strictEqual(summary.epochs.length, 1);
 * assert.ok(summary.epochs[0].valClean >= 0 && summary.epochs[0].valClean <= 1);
 * assert.strictEqual(summary.model.mode, "eval");
 * summary.model.dispose();
 * ```
 */
export async function train(
  overrides: TrainOverrides = {},
  options: TrainRunOptions = {},
): Promise<TrainSummary> {
  const config = resolveConfig(overrides);
  await checkRunConfig(config, options); // refused before the data is read, too
  const init = await initialWeights(config);
  await ensureBackend(); // the same choice as useBackend(), where the caller made none
  const data = await loadCifar10(config.dataDir, "train", { limit: config.trainSize });
  if (config.trainSize !== Infinity && data.size < config.trainSize) {
    throw new Error(
      `Cannot train as trainSize asks for ${config.trainSize} images: ${config.dataDir} holds ${data.size}`,
    );
  }
  const { train: trainSet, validation } = splitValidation(data, { size: config.valSize, seed: config.seed });
  const backend = backendInfo();
  const log = options.log ?? console.log;
  log(`haat train: ${backend.report}`);
  log(`config ${JSON.stringify(JSON.parse(configJson(config, data.sources)))}`);
  log(`data ${config.dataDir}: ${data.size} training images, ${validation.size} of them held out`);
  const run = await openRun(config, data.sources, options);
  try {
    return await trainOpened(config, run, trainSet, validation, log, init);
  } finally {
    run.lock.release();
  }
}

/**
 * Where `config.init` lies (`trainedModel` for a committed model's name, else the directory itself),
 * read and checked (`readModelFile`) with its width against `config.width`, before any file is written.
 *
 * @param config The config.
 * @returns The location, or undefined for fresh weights.
 * @throws {Error} `Cannot train as init ...` for a missing or damaged model or another width.
 */
async function initialWeights(config: TrainConfig): Promise<string | undefined> {
  if (config.init === "") return undefined;
  const location = Object.hasOwn(TRAINED_MODELS, config.init) ? trainedModel(config.init) : config.init;
  let width: number;
  try {
    width = (await readModelFile(location)).manifest.config.width;
  } catch (e) {
    throw new Error(
      `Cannot train as init must be a committed model (${Object.keys(TRAINED_MODELS).join(", ")}) or a model ` +
        `directory: ${(e as Error).message}`,
    );
  }
  if (width !== config.width) {
    throw new Error(`Cannot train as init ${config.init} is a width-${width} ResNet18: width is ${config.width}`);
  }
  return location;
}

/** The loop of `train` on an opened (and locked) run. */
async function trainOpened(
  config: TrainConfig,
  run: OpenedRun,
  trainSet: Dataset,
  validation: Dataset,
  log: (line: string) => void,
  init: string | undefined,
): Promise<TrainSummary> {
  const backend = backendInfo();
  const model = run.checkpoint?.model ??
    (init ? await loadModel(init) : resnet18({ width: config.width, seed: config.seed }));
  if (!run.checkpoint && init) log(`starting from ${config.init} (${init})`);
  model.train();
  const optimiser = sgd(model.trainableVariables, { momentum: config.momentum, weightDecay: config.weightDecay });
  run.checkpoint?.restoreOptimizer(optimiser);
  let state: TrainingState = run.checkpoint?.state ?? { epoch: 0, step: 0, best: { epoch: 0, valPgd: -1 } };
  if (run.checkpoint?.state.inEpoch) {
    log(`resuming ${config.runDir} in epoch ${state.epoch + 1}, after step ${state.step}`);
  } else if (run.checkpoint) log(`resuming ${config.runDir} after epoch ${state.epoch} (step ${state.step})`);
  else if (config.runDir) await saveCheckpoint(config.runDir, model, optimiser, state);
  const history = run.history;
  // Where the last checkpoint was taken, for the message if training must stop.
  let kept = state.inEpoch ? `at step ${state.step}, inside epoch ${state.epoch + 1}` : `after epoch ${state.epoch}`;
  const totalSteps = Math.ceil(trainSet.size / config.batchSize) * config.epochs;
  const val = toTensors(validation);
  try {
    for (let epoch = state.epoch + 1; epoch <= config.epochs; epoch++) {
      // A checkpoint taken inside this epoch carries its sums so far; its batches before are skipped.
      const resumed = state.inEpoch;
      const startStep = resumed?.startStep ?? state.step;
      const t0 = performance.now(), before = resumed?.seconds ?? 0, stepAtStart = state.step;
      let lossSum = resumed?.lossSum ?? 0, correct = resumed?.correct ?? 0, seen = resumed?.seen ?? 0;
      let lr = resumed?.lr ?? 0, step = state.step;
      const batchLines: BatchMetrics[] = [];
      const shuffle = { batchSize: config.batchSize, shuffle: true, augment: config.augment };
      const epochBatches = batches(trainSet, {
        ...shuffle,
        seed: config.seed * 7919 + epoch,
        startBatch: step - startStep,
      });
      const stepsInEpoch = Math.ceil(trainSet.size / config.batchSize);
      for (const batch of epochBatches) {
        const size = batch.indices.length;
        const result = await trainStep(model, optimiser, batch, config, step, totalSteps);
        step++;
        if (!Number.isFinite(result.loss) || !result.finite) {
          throw notFiniteError(result.loss, { epoch, step, kept, runDir: config.runDir });
        }
        lr = result.lr, lossSum += result.loss * size, correct += result.hits, seen += size;
        const secs = before + (performance.now() - t0) / 1000;
        if (config.logEvery > 0 && step % config.logEvery === 0) {
          const at = { epoch, step, totalSteps, loss: lossSum / seen, accuracy: correct / seen, lr };
          const left = (totalSteps - step) * (performance.now() - t0) / 1000 / (step - stepAtStart) / 60;
          log(progressLine(config, at, { imagesPerSecond: seen / secs, minutesLeft: left }));
        }
        if (config.metricsEvery > 0 && step % config.metricsEvery === 0) {
          const running = { loss: lossSum / seen, trainAccuracy: correct / seen, lr, imagesPerSecond: seen / secs };
          batchLines.push({ kind: "batch", epoch, step, ...running });
        }
        const inside = step - startStep;
        if (
          config.runDir && config.checkpointSteps > 0 && inside % config.checkpointSteps === 0 && inside < stepsInEpoch
        ) {
          // Metrics first: a kill between the two leaves lines past the checkpoint, which a resume drops.
          await appendMetrics(config.runDir, batchLines.splice(0));
          const inEpoch = { epoch, startStep, lossSum, correct, seen, lr, seconds: secs };
          const name = await saveCheckpoint(config.runDir, model, optimiser, { ...state, step, inEpoch });
          await pruneCheckpoints(config.runDir, name, config.checkpointEvery);
          kept = `at step ${step}, inside epoch ${epoch}`;
        }
        if (batchLines.length >= 10) await appendMetrics(config.runDir, batchLines.splice(0));
      }
      await appendMetrics(config.runDir, batchLines.splice(0));
      const trainSeconds = before + (performance.now() - t0) / 1000;
      const { valClean, valPgd } = await validate(model, val, config);
      const metrics: EpochMetrics = {
        kind: "epoch",
        epoch,
        steps: step,
        loss: lossSum / seen,
        trainAccuracy: correct / seen,
        valClean,
        valPgd,
        lr,
        seconds: before + (performance.now() - t0) / 1000,
        imagesPerSecond: seen / trainSeconds,
        numTensors: tf.memory().numTensors,
        backend: backend.name,
      };
      history.push(metrics);
      log(epochLine(config, metrics));
      const best = bestEpoch(config.objective, history);
      const improved = best.epoch === epoch;
      state = { epoch, step, best };
      if (config.runDir) {
        await appendMetrics(config.runDir, [metrics]);
        if (improved) await model.save(`${config.runDir}/best`);
        const name = await saveCheckpoint(config.runDir, model, optimiser, state);
        await pruneCheckpoints(config.runDir, name, config.checkpointEvery);
        kept = `after epoch ${epoch}`;
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
