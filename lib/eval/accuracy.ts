/**
 * Accuracy and robust accuracy (SPEC section 5's measures): the share of images a classifier gets right,
 * and the share it gets right both clean and after an attack, whose every output is checked (inside
 * B(x0, eps) and [0,1]) before it is counted.
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import { checkBatchSize, checkInputsReading, type Classifier, correctPredictionsReading } from "../core.ts";
import { type Reading, runAsync, runSync, settle } from "../reading.ts";
import { assertInBallReading } from "../attacks/project.ts";

/**
 * Accuracy: the share of examples whose highest logit is the label, (1/n) sum_i [argmax_c f(x_i)_c = y_i],
 * computed in batches.
 *
 * @param f Classifier.
 * @param x Images NHWC in [0,1] (at least one).
 * @param y int32 labels, in 0..C-1.
 * @param options `batchSize` (default 256).
 * @returns A number in [0, 1].
 * @throws {Error} If x, y are malformed or empty, or batchSize is not an integer >= 1.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { accuracy } from "./accuracy.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const f = (x: tf.Tensor4D) => tf.reshape(x, [x.shape[0], 2]) as tf.Tensor2D; // logits = the two pixels
 * const x = tf.tensor4d([0.9, 0.1, 0.2, 0.8], [2, 1, 1, 2]), y = tf.tensor1d([0, 0], "int32");
 * assert.strictEqual(accuracy(f, x, y), 0.5);
 * tf.dispose([x, y]);
 * ```
 */
export function accuracy(f: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, options: { batchSize?: number } = {}): number {
  return runSync("accuracy", accuracyReading(f, x, y, options));
}

/**
 * `accuracy`, reading asynchronously: the way to measure it on the webgpu backend.
 *
 * @param f Classifier.
 * @param x Images NHWC in [0,1] (at least one).
 * @param y int32 labels, in 0..C-1.
 * @param options `batchSize` (default 256).
 * @returns A number in [0, 1].
 * @throws {Error} As `accuracy`.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { accuracyAsync } from "./accuracy.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const f = (x: tf.Tensor4D) => tf.reshape(x, [x.shape[0], 2]) as tf.Tensor2D; // logits = the two pixels
 * const x = tf.tensor4d([0.9, 0.1, 0.2, 0.8], [2, 1, 1, 2]), y = tf.tensor1d([0, 0], "int32");
 * assert.strictEqual(await accuracyAsync(f, x, y), 0.5);
 * tf.dispose([x, y]);
 * ```
 */
export function accuracyAsync(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  options: { batchSize?: number } = {},
): Promise<number> {
  return runAsync(accuracyReading(f, x, y, options));
}

/**
 * `accuracy` as a reading: the input check, then one read per batch.
 *
 * @param f Classifier.
 * @param x Images (at least one).
 * @param y Labels.
 * @param options `batchSize` (default 256).
 * @returns A reading of the accuracy.
 */
export function* accuracyReading(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  options: { batchSize?: number },
): Reading<number> {
  yield* checkInputsReading("accuracy", f, x, y);
  checkBatchSize("accuracy", options.batchSize ?? 256);
  if (x.shape[0] === 0) throw new Error("Cannot compute accuracy of 0 images: it would be 0 / 0");
  return (yield* correctPredictionsReading(f, x, y, options.batchSize ?? 256)).filter(Boolean).length / x.shape[0];
}

/**
 * An attack as evaluation runs it: images and labels of batch number `batch` -> adversarial images, or
 * a promise of them (which only the asynchronous measures, `robustAccuracyAsync` and its kin, wait for).
 */
export type BatchAttack = (x: tf.Tensor4D, y: tf.Tensor1D, batch: number) => tf.Tensor4D | Promise<tf.Tensor4D>;

/**
 * Per example, clean-correct and robust (correct clean AND after the attack), with the attack run in
 * batches and each output checked to lie in B(x, eps) and [0,1] before it is counted.
 *
 * @param f Classifier.
 * @param x Images, NHWC in [0,1].
 * @param y int32 labels.
 * @param attack Runs on a batch (its number is the third argument, e.g. for seeds).
 * @param options `name` (for messages), Linf `eps` of the check, `batchSize` (default 128).
 * @returns `{ clean, robust }`, one boolean per example each.
 * @throws {Error} If x, y are malformed, batchSize is not an integer >= 1, or an output leaves the ball or [0,1].
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { robustPredictions } from "./accuracy.ts";
 * import { pgd } from "../attacks/pgd.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([4, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7, 1, 0], "int32");
 * const { clean, robust } = robustPredictions(f, x, y, (xb, yb, b) => pgd(f, xb, yb, { seed: b }), {
 *   name: "PGD",
 *   eps: 8 / 255,
 * });
 * assert.ok(robust.every((r, i) => !r || clean[i]));
 * tf.dispose([w, x, y]);
 * ```
 */
export function robustPredictions(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  attack: BatchAttack,
  options: { name: string; eps: number; batchSize?: number },
): { clean: boolean[]; robust: boolean[] } {
  return runSync("robustPredictions", robustPredictionsReading(f, x, y, attack, options));
}

/**
 * `robustPredictions`, reading asynchronously, with an attack that may return a promise (e.g. `pgdAsync`):
 * the way to measure robustness on the webgpu backend.
 *
 * @param f Classifier.
 * @param x Images, NHWC in [0,1].
 * @param y int32 labels.
 * @param attack Runs on a batch (its number is the third argument, e.g. for seeds).
 * @param options `name` (for messages), Linf `eps` of the check, `batchSize` (default 128).
 * @returns `{ clean, robust }`, one boolean per example each.
 * @throws {Error} As `robustPredictions`.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { robustPredictionsAsync } from "./accuracy.ts";
 * import { pgdAsync } from "../attacks/pgd.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([4, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7, 1, 0], "int32");
 * const attack = (xb: tf.Tensor4D, yb: tf.Tensor1D, b: number) => pgdAsync(f, xb, yb, { seed: b });
 * const { clean, robust } = await robustPredictionsAsync(f, x, y, attack, { name: "PGD", eps: 8 / 255 });
 * assert.ok(robust.every((r, i) => !r || clean[i]));
 * tf.dispose([w, x, y]);
 * ```
 */
export function robustPredictionsAsync(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  attack: BatchAttack,
  options: { name: string; eps: number; batchSize?: number },
): Promise<{ clean: boolean[]; robust: boolean[] }> {
  return runAsync(robustPredictionsReading(f, x, y, attack, options));
}

/**
 * `robustPredictions` as a reading: the input check, then per batch the clean predictions, the attack
 * (waited for if it returns a promise), the check of its output and its predictions.
 *
 * @param f Classifier.
 * @param x Images, NHWC in [0,1].
 * @param y int32 labels.
 * @param attack Runs on a batch: returns the images, their promise, or a reading of them (run in place).
 * @param options `name`, `eps`, `batchSize` (default 128).
 * @returns A reading of `{ clean, robust }`.
 */
export function* robustPredictionsReading(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  attack: (x: tf.Tensor4D, y: tf.Tensor1D, batch: number) => ReturnType<BatchAttack> | Reading<tf.Tensor4D>,
  options: { name: string; eps: number; batchSize?: number },
): Reading<{ clean: boolean[]; robust: boolean[] }> {
  yield* checkInputsReading(options.name, f, x, y);
  const batchSize = options.batchSize ?? 128;
  checkBatchSize(options.name, batchSize);
  const clean: boolean[] = [], robust: boolean[] = [];
  for (let start = 0, batch = 0; start < x.shape[0]; start += batchSize, batch++) {
    const size = Math.min(batchSize, x.shape[0] - start);
    const xb = tf.slice(x, [start, 0, 0, 0], [size, -1, -1, -1]), yb = tf.slice(y, [start], [size]);
    try {
      const before = yield* correctPredictionsReading(f, xb, yb, batchSize);
      const xAdv = yield* settle(attack(xb, yb, batch));
      try {
        yield* assertInBallReading(options.name, xAdv, xb, options.eps);
        const after = yield* correctPredictionsReading(f, xAdv, yb, batchSize);
        clean.push(...before);
        robust.push(...before.map((c, j) => c && after[j]));
      } finally {
        xAdv.dispose();
      }
    } finally {
      tf.dispose([xb, yb]);
    }
  }
  return { clean, robust };
}

/**
 * Robust accuracy (1/n) sum_i [f right on x_i and on attack(x_i)]: `robustPredictions`, counted.
 *
 * @param f Classifier.
 * @param x Images (at least one).
 * @param y Labels.
 * @param attack Runs on a batch.
 * @param options As `robustPredictions`.
 * @returns A number in [0, 1], at most the clean accuracy.
 * @throws {Error} As `robustPredictions`, or if there are no images.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { robustAccuracy } from "./accuracy.ts";
 * import { fgsm } from "../attacks/fgsm.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([4, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7, 1, 0], "int32");
 * assert.ok(robustAccuracy(f, x, y, (xb, yb) => fgsm(f, xb, yb), { name: "FGSM", eps: 8 / 255 }) <= 1);
 * tf.dispose([w, x, y]);
 * ```
 */
export function robustAccuracy(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  attack: BatchAttack,
  options: { name: string; eps: number; batchSize?: number },
): number {
  if (x.shape[0] === 0) throw new Error(`Cannot compute ${options.name} accuracy of 0 images: it would be 0 / 0`);
  return robustPredictions(f, x, y, attack, options).robust.filter(Boolean).length / x.shape[0];
}

/**
 * `robustAccuracy`, reading asynchronously, with an attack that may return a promise (e.g. `pgdAsync`):
 * the way to measure it on the webgpu backend.
 *
 * @param f Classifier.
 * @param x Images (at least one).
 * @param y Labels.
 * @param attack Runs on a batch.
 * @param options As `robustPredictions`.
 * @returns A number in [0, 1], at most the clean accuracy.
 * @throws {Error} As `robustAccuracy`.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { robustAccuracy, robustAccuracyAsync } from "./accuracy.ts";
 * import { pgd, pgdAsync } from "../attacks/pgd.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([4, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7, 1, 0], "int32");
 * const options = { name: "PGD", eps: 8 / 255 };
 * const a = robustAccuracy(f, x, y, (xb, yb) => pgd(f, xb, yb), options);
 * assert.strictEqual(await robustAccuracyAsync(f, x, y, (xb, yb) => pgdAsync(f, xb, yb), options), a);
 * tf.dispose([w, x, y]);
 * ```
 */
export async function robustAccuracyAsync(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  attack: BatchAttack,
  options: { name: string; eps: number; batchSize?: number },
): Promise<number> {
  if (x.shape[0] === 0) throw new Error(`Cannot compute ${options.name} accuracy of 0 images: it would be 0 / 0`);
  return (await robustPredictionsAsync(f, x, y, attack, options)).robust.filter(Boolean).length / x.shape[0];
}
