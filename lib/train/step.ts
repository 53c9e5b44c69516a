/**
 * One training step (SPEC section 4): the objective's training images for a batch, made with the
 * model in eval mode (see `objectives.ts`), then one SGD step on the objective's loss with the model
 * in train mode, the gradient accumulated over micro-batches; and the learning-rate schedule.
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import type { ResNet18 } from "../models/resnet18.ts";
import type { Batch } from "../data/batches.ts";
import { oneCycle, piecewise } from "./schedules.ts";
import type { Sgd } from "./sgd.ts";
import { type Objective, objectiveLoss, trainingImagesAsync } from "./objectives.ts";
import type { TrainConfig } from "./config.ts";
import { deriveSeed } from "../random.ts";
import { read, type Reading, runAsync, runSync, type Values } from "../reading.ts";

/**
 * One SGD step on the objective's loss (default: mean cross-entropy of the model in its current mode
 * over (x, y)), with the gradient accumulated over chunks of `microBatch` images (0: one chunk). The
 * loss is read back to report it and to stop on NaN; the weights are not updated when it is not
 * finite, and `finite` tells whether every weight and BatchNorm statistic still is after the step
 * (a loss can stay finite while an overflowing update has made weights infinite). Two reads: the
 * chunks' losses and correct counts before the update, the largest weight after it; synchronous here,
 * asynchronous in `sgdStepAsync` (as training runs it, on every backend).
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
  return runSync("sgdStep", sgdStepReading(model, optimiser, x, y, lr, microBatch, objective));
}

/**
 * `sgdStep`, reading asynchronously: the step that training takes, on every backend.
 *
 * @param model The model (in train mode, normally).
 * @param optimiser Its optimiser.
 * @param x Training images.
 * @param y Labels.
 * @param lr Learning rate of this step.
 * @param microBatch Chunk size (0: none).
 * @param objective As `sgdStep`'s.
 * @returns The mean loss, the number of correct predictions, and whether the model is still finite.
 */
export function sgdStepAsync(
  model: ResNet18,
  optimiser: Sgd,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  lr: number,
  microBatch = 0,
  objective: { name: Objective; xClean?: tf.Tensor4D; beta?: number } = { name: "pgd" },
): Promise<{ loss: number; hits: number; finite: boolean }> {
  return runAsync(sgdStepReading(model, optimiser, x, y, lr, microBatch, objective));
}

/** `sgdStep` as a reading. */
function* sgdStepReading(
  model: ResNet18,
  optimiser: Sgd,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  lr: number,
  microBatch: number,
  objective: { name: Objective; xClean?: tf.Tensor4D; beta?: number },
): Reading<{ loss: number; hits: number; finite: boolean }> {
  const n = x.shape[0];
  // TRADES runs two forward passes per image (clean and adversarial): its chunks hold half as many.
  const perChunk = objective.name === "trades" ? Math.max(1, Math.floor(microBatch / 2)) : microBatch;
  const chunk = microBatch > 0 ? Math.min(perChunk, n) : n;
  // Each chunk's loss and correct count stay on the device until all chunks ran: one read for the step.
  const values: tf.Scalar[] = [], hitCounts: tf.Scalar[] = [];
  let total: tf.Tensor[] | undefined;
  let loss = 0, hits = 0;
  try {
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
      values.push(value), hitCounts.push(hitsTensor!);
      if (total === undefined) {
        total = grads as tf.Tensor[];
      } else {
        const summed = tf.tidy(() => total!.map((t, i) => tf.add(t, grads[i])));
        tf.dispose([...total, ...grads]);
        total = summed;
      }
    }
    const both = tf.tidy(() => tf.stack([tf.stack(values), tf.stack(hitCounts)]));
    let read2: Values;
    try {
      [read2] = yield* read(both);
    } finally {
      both.dispose();
    }
    // Summed on the host in float64, chunk by chunk.
    for (let c = 0; c < values.length; c++) loss += read2[c], hits += read2[values.length + c];
    if (Number.isFinite(loss)) optimiser.step(total!, lr);
  } finally {
    tf.dispose([...values, ...hitCounts, ...(total ?? [])]);
  }
  const largest = tf.tidy(() =>
    tf.max(tf.stack([...model.trainableVariables, ...model.statistics].map((v) => tf.max(tf.abs(v)))))
  );
  let finite: boolean;
  try {
    finite = Number.isFinite((yield* read(largest))[0][0]);
  } finally {
    largest.dispose();
  }
  return { loss, hits, finite };
}

/**
 * The learning rate at global step `step` of `totalSteps`: `oneCycle(lr, (step + 0.5) / totalSteps)`
 * or `piecewise(lr, step / totalSteps)`.
 *
 * @param config `lr` and `schedule`.
 * @param step Steps taken before this one.
 * @param totalSteps Steps of the whole run.
 * @returns The learning rate of this step.
 */
export function learningRate(config: TrainConfig, step: number, totalSteps: number): number {
  return config.schedule === "onecycle"
    ? oneCycle(config.lr, (step + 0.5) / totalSteps)
    : piecewise(config.lr, step / totalSteps);
}

/**
 * One step on a batch: lr from the schedule, the objective's training images (model in eval mode),
 * then `sgdStep` (model in train mode). Disposes the batch's tensors.
 *
 * @param model The model.
 * @param optimiser Its optimiser.
 * @param batch The batch (disposed here).
 * @param config The run's config.
 * @param step Steps taken before this one (seeds the attack, places the schedule).
 * @param totalSteps Steps of the whole run.
 * @returns The step's lr, mean loss, correct predictions and whether the model is still finite (read
 *   asynchronously, so that the step runs on every backend, webgpu included).
 */
export async function trainStep(
  model: ResNet18,
  optimiser: Sgd,
  batch: Batch,
  config: TrainConfig,
  step: number,
  totalSteps: number,
): Promise<{ lr: number; loss: number; hits: number; finite: boolean }> {
  const lr = learningRate(config, step, totalSteps);
  const attack = { eps: config.eps, alpha: config.alpha, steps: config.attackSteps, haat: config.haat };
  try {
    model.eval();
    const seed = deriveSeed(config.seed, step + 1); // an independent stream per step (stream 0: validation)
    const xTrain = await trainingImagesAsync(
      config.objective,
      model.logits,
      batch.x,
      batch.y,
      attack,
      seed,
      config.microBatch,
    );
    try {
      model.train();
      const result = await sgdStepAsync(model, optimiser, xTrain, batch.y, lr, config.microBatch, {
        name: config.objective,
        xClean: batch.x,
        beta: config.tradesBeta,
      });
      return { lr, ...result };
    } finally {
      xTrain.dispose();
    }
  } finally {
    tf.dispose([batch.x, batch.y]);
  }
}

/**
 * The error that stops a run whose loss or weights stopped being finite.
 *
 * @param loss The step's loss.
 * @param where Epoch and step (counted from 1), where the last good checkpoint was taken ("after epoch 3",
 *   "at step 180, inside epoch 4") and the run directory.
 * @returns The error, naming epoch and step and what was kept.
 */
export function notFiniteError(
  loss: number,
  where: { epoch: number; step: number; kept: string; runDir: string },
): Error {
  const what = Number.isFinite(loss) ? `the weights are not finite (loss ${loss})` : `the loss is ${loss}`;
  return new Error(
    `Training stopped as ${what} at epoch ${where.epoch}, step ${where.step}: ` +
      (where.runDir
        ? `the last good checkpoint, ${where.kept}, is kept in ${where.runDir}`
        : "lower the learning rate"),
  );
}
