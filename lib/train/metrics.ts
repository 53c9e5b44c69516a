/**
 * What training measures and records: the validation metric (clean and PGD accuracy on the held-out
 * images), the lines of `<run>/metrics.jsonl` (one per epoch, optionally one every n batches), and
 * the progress lines printed while training.
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import type { ResNet18 } from "../models/resnet18.ts";
import { pgdAsync } from "../attacks/pgd.ts";
import { accuracyAsync, robustAccuracyAsync } from "../eval/accuracy.ts";
import { deriveSeed } from "../random.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import type { TrainConfig } from "./config.ts";

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

/**
 * Appends lines to `<runDir>/metrics.jsonl` (rewritten whole, atomically: the file is small, and a
 * kill leaves the old file or the new one, never a cut line).
 *
 * @param runDir Run directory ("" for none: nothing is written).
 * @param lines Lines to append.
 */
export async function appendMetrics(runDir: string, lines: (EpochMetrics | BatchMetrics)[]): Promise<void> {
  if (!runDir || lines.length === 0) return;
  const previous = await Deno.readTextFile(`${runDir}/metrics.jsonl`);
  await writeFileAtomic(`${runDir}/metrics.jsonl`, previous + lines.map((l) => JSON.stringify(l) + "\n").join(""));
}

/**
 * Reads `<runDir>/metrics.jsonl` for a resume from the checkpoint after `epochs` epochs: the lines of
 * those epochs, which must be all there, each epoch once, and, for a checkpoint taken inside the next
 * epoch, that epoch's batch lines up to its step. Since the file is only ever replaced whole, a line
 * that is not JSON, or a missing epoch, means the file was damaged: that is refused rather than
 * dropped, as a dropped line would be an epoch lost from the record.
 *
 * @param runDir Run directory.
 * @param epochs Epochs the checkpoint holds.
 * @param at The checkpoint's global step and, inside an epoch, that epoch (`inEpoch.epoch`).
 * @returns The lines to keep (batch and epoch lines up to `epochs`, and the next epoch's batch lines up
 *   to the checkpoint's step) and the epoch lines among them.
 * @throws {Error} Naming the file and line if a line is not a metrics line, or an epoch is missing or doubled.
 */
export async function readMetrics(
  runDir: string,
  epochs: number,
  at?: { step: number; inEpoch?: { epoch: number } },
): Promise<{ kept: (EpochMetrics | BatchMetrics)[]; history: EpochMetrics[] }> {
  const path = `${runDir}/metrics.jsonl`;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound) || epochs > 0) {
      throw new Error(`Cannot resume as ${path} is not readable: ${(e as Error).message}`);
    }
    text = "";
  }
  const kept: (EpochMetrics | BatchMetrics)[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (line === "") continue;
    let parsed: EpochMetrics | BatchMetrics;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new Error(
        `Cannot resume as ${path} line ${i + 1} is not JSON (the file was damaged): ${line.slice(0, 60)}; ` +
          `repair or delete that line, and the checkpoint decides what follows`,
      );
    }
    if (!(parsed?.kind === "epoch" || parsed?.kind === "batch") || !Number.isInteger(parsed.epoch)) {
      throw new Error(`Cannot resume as ${path} line ${i + 1} is not a metrics line: ${line.slice(0, 60)}`);
    }
    const inEpoch = parsed.kind === "batch" && parsed.epoch === at?.inEpoch?.epoch && parsed.step <= at.step;
    if (parsed.epoch <= epochs || inEpoch) kept.push(parsed);
  }
  const history = kept.filter((l): l is EpochMetrics => l.kind === "epoch");
  const found = history.map((l) => l.epoch).join(",");
  const expected = Array.from({ length: epochs }, (_, i) => i + 1).join(",");
  if (found !== expected) {
    throw new Error(
      `Cannot resume as ${path} does not hold epochs 1..${epochs} once each, as the checkpoint after epoch ` +
        `${epochs} needs: it holds epochs [${found}]. The record of a missing epoch cannot be rebuilt`,
    );
  }
  return { kept, history };
}

/**
 * Clean and PGD accuracy on the validation images, with the model in eval mode (then back in train
 * mode): valClean = mean 1[argmax f(x) = y], valPgd = mean 1[argmax f(x) = y and argmax f(PGD(x)) = y],
 * PGD with the training eps and alpha and `valPgdSteps` steps, seeded per batch by `deriveSeed`.
 *
 * @param model The model.
 * @param val Validation images and labels.
 * @param config eps, alpha, valPgdSteps, seed, batch sizes.
 * @returns `{ valClean, valPgd }`, in [0, 1] (read asynchronously, on every backend).
 */
export async function validate(
  model: ResNet18,
  val: { x: tf.Tensor4D; y: tf.Tensor1D },
  config: TrainConfig,
): Promise<{ valClean: number; valPgd: number }> {
  model.eval();
  const batchSize = config.microBatch > 0 ? config.microBatch : config.batchSize;
  const valClean = await accuracyAsync(model.logits, val.x, val.y, { batchSize });
  // Robust means right on the clean image and on its PGD image, as evaluate() counts it.
  const valPgd = await robustAccuracyAsync(
    model.logits,
    val.x,
    val.y,
    (xb, yb, b) =>
      pgdAsync(model.logits, xb, yb, {
        eps: config.eps,
        alpha: config.alpha,
        steps: config.valPgdSteps,
        seed: deriveSeed(config.seed, b),
      }),
    { name: "validation PGD", eps: config.eps, batchSize },
  );
  model.train();
  return { valClean, valPgd };
}

/** The progress line printed every `logEvery` batches. */
export function progressLine(
  config: TrainConfig,
  at: { epoch: number; step: number; totalSteps: number; loss: number; accuracy: number; lr: number },
  speed: { imagesPerSecond: number; minutesLeft: number },
): string {
  return `epoch ${at.epoch}/${config.epochs} step ${at.step}/${at.totalSteps} loss ${at.loss.toFixed(4)} ` +
    `acc ${(100 * at.accuracy).toFixed(1)}% lr ${at.lr.toFixed(4)} ${speed.imagesPerSecond.toFixed(1)} img/s ` +
    `left ${speed.minutesLeft.toFixed(1)} min`;
}

/**
 * What picks `best/`: validation PGD accuracy for the adversarial objectives (the robust model is the
 * point), validation clean accuracy for `standard` (whose PGD accuracy sits near 0 in every epoch, so
 * that by PGD the first epoch would win every tie).
 */
export function bestCriterion(objective: TrainConfig["objective"]): "valPgd" | "valClean" {
  return objective === "standard" ? "valClean" : "valPgd";
}

/**
 * The best epoch of a run: the first epoch with the highest value of `bestCriterion(objective)`
 * (ties keep the earlier). `{ epoch: 0, valPgd: -1 }` before any epoch.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * const line = (epoch: number, valClean: number, valPgd: number) => ({ epoch, valClean, valPgd });
 * const history = [line(1, 0.5, 0.2), line(2, 0.7, 0.1), line(3, 0.6, 0.2)];
 * assert.deepStrictEqual(bestEpoch("pgd", history), { epoch: 1, valPgd: 0.2 });
 * assert.deepStrictEqual(bestEpoch("standard", history), { epoch: 2, valPgd: 0.1 });
 * ```
 */
export function bestEpoch(
  objective: TrainConfig["objective"],
  history: readonly Pick<EpochMetrics, "epoch" | "valClean" | "valPgd">[],
): { epoch: number; valPgd: number } {
  const key = bestCriterion(objective);
  let best: { epoch: number; valPgd: number; score: number } = { epoch: 0, valPgd: -1, score: -1 };
  for (const line of history) {
    if (line[key] > best.score) best = { epoch: line.epoch, valPgd: line.valPgd, score: line[key] };
  }
  return { epoch: best.epoch, valPgd: best.valPgd };
}

/** The line printed at the end of an epoch. */
export function epochLine(config: TrainConfig, m: EpochMetrics): string {
  return `epoch ${m.epoch}/${config.epochs} done: loss ${m.loss.toFixed(4)} ` +
    `train acc ${(100 * m.trainAccuracy).toFixed(1)}% val clean ${(100 * m.valClean).toFixed(1)}% ` +
    `val PGD-${config.valPgdSteps} ${(100 * m.valPgd).toFixed(1)}% ` +
    `${m.imagesPerSecond.toFixed(1)} img/s ${m.seconds.toFixed(0)} s`;
}
