/**
 * What every layer shares (SPEC section 8): the `Classifier` type, the input checks every attack and
 * metric runs before it computes anything, the input gradient of a loss, per-example (row) helpers,
 * and the one counter of correct predictions.
 *
 * Rows: axis 0 of a batch indexes independent examples; a "row" is one example, whatever its shape.
 *
 * The convention every attack follows (fgsm, pgd, haat, apgd, apgdTargeted, fabTargeted, square):
 * - shape `(f, x, y, options) => xAdv`, checked by `checkEps` and `checkInputs` before anything runs
 *   (labels in 0..C-1); 0 images give an empty batch;
 * - options `eps` (Linf radius on the [0,1] scale) and `steps` (the iteration count: steps, APGD and
 *   FAB iterations, Square queries), and `seed` for every randomised attack (FAB-T, which AutoAttack
 *   runs without a random start, is deterministic and has none);
 * - written once as a reading (`pgdReading`, ...; `lib/reading.ts`), run synchronously by `pgd` and
 *   asynchronously by `pgdAsync` (the only way on webgpu, which cannot read tensors synchronously in Deno);
 * - per example, an image of B(x0, eps) and [0,1]: a misclassified one where the attack found one,
 *   else the strongest point it reached: the last iterate for FGSM, PGD and HAAT (their defined
 *   output, which training uses), the highest-loss point for APGD and APGD-T, the lowest-margin one
 *   for Square, and x0 for FAB-T (a minimum-distance attack whose failed iterates lie outside the ball).
 *
 * @module
 */
import { tf } from "./tfjs.ts";
import { crossEntropy } from "./losses.ts";
import { read, type Reading, runAsync, runSync, type Values } from "./reading.ts";

/**
 * A model as every attack and metric sees it: logits z = f(x) of NHWC float32 images in [0,1]
 * (SPEC section 8). Normalisation belongs inside f.
 */
export type Classifier = (x: tf.Tensor4D) => tf.Tensor2D;

/** A per-example loss of logits and labels, [n, classes] x [n] -> [n]. */
export type Loss = (logits: tf.Tensor2D, labels: tf.Tensor1D) => tf.Tensor1D;

/** The norm of a perturbation ball. */
export type Norm = "linf" | "l2";

/**
 * Throws unless eps is a number in (0, max]; max is 1 for Linf (the pixel scale) and sqrt(d) for L2.
 *
 * @param attack Name used in the message.
 * @param eps The radius.
 * @param norm The ball's norm.
 * @param dims d, the number of values per image (for the L2 bound).
 * @throws {Error} `Cannot run <attack> as eps must be in (0, max]: current value is <eps>`, or if the norm is
 *   not linf or l2.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { checkEps } from "./core.ts";
 * checkEps("PGD", 8 / 255); // passes
 * assert.throws(() => checkEps("PGD", 3), { message: "Cannot run PGD as eps must be in (0, 1]: current value is 3" });
 * ```
 */
export function checkEps(attack: string, eps: number, norm: Norm = "linf", dims = 3072): void {
  if (norm !== "linf" && norm !== "l2") {
    throw new Error(`Cannot run ${attack} as norm must be linf or l2: current value is ${norm}`);
  }
  const max = norm === "linf" ? 1 : Math.sqrt(dims);
  if (typeof eps !== "number" || !(eps > 0 && eps <= max)) {
    throw new Error(
      `Cannot run ${attack} as eps must be in (0, ${
        norm === "linf" ? 1 : `sqrt(d) = ${max.toFixed(2)}`
      }]: current value is ${eps}`,
    );
  }
}

/** Number of classes of each classifier, learnt from one forward pass, then remembered. */
const classCounts = new WeakMap<Classifier, number>();

/**
 * The number of classes C of a classifier: the width of its logits. Learnt once per classifier from a
 * forward pass of x's first image, outside any gradient, then remembered. One image, not all of x: a
 * metric's x may be far larger than the batches it runs in (1,000 validation images at once would
 * need more memory than a width-64 ResNet18 has in the 2 GiB wasm heap, and the run aborted). (A
 * model in train mode updates its BatchNorm running statistics on that pass, as on every pass an
 * attack makes.)
 *
 * @param f Classifier.
 * @param x A non-empty batch of images it accepts.
 * @returns C.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { type Classifier, numClasses } from "./core.ts";
 * import { tf, useBackend } from "./backend/backend.ts";
 * await useBackend("cpu");
 * const f: Classifier = (x) => tf.zeros([x.shape[0], 10]);
 * const x = tf.zeros([2, 32, 32, 3]) as tf.Tensor4D;
 * assert.strictEqual(numClasses(f, x), 10);
 * x.dispose();
 * ```
 */
export function numClasses(f: Classifier, x: tf.Tensor4D): number {
  const known = classCounts.get(f);
  if (known !== undefined) return known;
  const classes = tf.tidy(() => f(tf.slice(x, [0, 0, 0, 0], [1, -1, -1, -1])).shape[1]);
  classCounts.set(f, classes);
  return classes;
}

/**
 * The name of the backend a tensor's data lives on (TensorFlow.js moves it on its first use on another
 * backend, without a word).
 *
 * @param t A tensor.
 * @returns The backend's name, or undefined for a disposed tensor.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { backendOf } from "./core.ts";
 * import { tf, useBackend } from "./backend/backend.ts";
 * await useBackend("cpu");
 * const t = tf.zeros([1]);
 * assert.strictEqual(backendOf(t), "cpu");
 * t.dispose();
 * ```
 */
export function backendOf(t: tf.Tensor): string | undefined {
  const engine = tf.engine();
  const home = engine.state.tensorInfo.get(t.dataId)?.backend;
  if (home === undefined) return undefined;
  return Object.entries(engine.registry).find(([, backend]) => backend === home)?.[0];
}

/**
 * Throws unless every tensor lives on the active backend, so that no tensor is moved between backends
 * silently (TensorFlow.js would copy it on its first use, and from webgpu it cannot, in Deno).
 *
 * @param name Name of the attack or metric, for the message.
 * @param tensors The tensors, by name.
 * @throws {Error} `Cannot run <name> as <tensor> lives on the <backend> backend, not on <active>, the active one: ...`
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { checkBackend } from "./core.ts";
 * import { tf, useBackend } from "./backend/backend.ts";
 * await useBackend("cpu");
 * const x = tf.zeros([1]);
 * checkBackend("PGD", { x }); // passes
 * x.dispose();
 * assert.throws(() => checkBackend("PGD", { x }), { message: /x is disposed/ });
 * ```
 */
export function checkBackend(name: string, tensors: Record<string, tf.Tensor>): void {
  const active = tf.getBackend();
  for (const [what, t] of Object.entries(tensors)) {
    const home = backendOf(t);
    if (home === undefined) throw new Error(`Cannot run ${name} as ${what} is disposed`);
    if (home !== active) {
      throw new Error(
        `Cannot run ${name} as ${what} lives on the ${home} backend, not on ${active}, the active one: ` +
          `make it after useBackend(), or copy it there (tf.tensor(await ${what}.data(), ${what}.shape, ${what}.dtype))`,
      );
    }
  }
}

/**
 * Throws unless x is a rank-4 batch in [0,1] and y an int32 vector of the same length whose labels
 * are classes of f: integers in 0..C-1, with C the width of f's logits (`numClasses`: one forward
 * pass of x the first time a classifier is seen), both on the active backend (`checkBackend`). Every
 * attack and metric runs this before it computes anything, so that no error is thrown inside a gradient
 * (where TensorFlow.js would leak the tensors it saved for the backward pass). A batch of 0 images
 * passes (callers return an empty result). The pixel range and the labels are read back in one read:
 * run it with `runSync` (as `checkInputs` does) or `runAsync` (`checkInputsAsync`).
 *
 * @param name Name of the attack or metric, used in the message.
 * @param f Classifier.
 * @param x Images, NHWC.
 * @param y Labels.
 * @returns A reading that throws on bad inputs.
 */
export function* checkInputsReading(name: string, f: Classifier, x: tf.Tensor, y: tf.Tensor): Reading<void> {
  if (x.rank !== 4) throw new Error(`Cannot run ${name} as x must be NHWC (rank 4): current shape is [${x.shape}]`);
  if (y.rank !== 1 || y.shape[0] !== x.shape[0]) {
    throw new Error(`Cannot run ${name} as y must have shape [${x.shape[0]}]: current shape is [${y.shape}]`);
  }
  if (y.dtype !== "int32") throw new Error(`Cannot run ${name} as y must be int32: current dtype is ${y.dtype}`);
  checkBackend(name, { x, y });
  if (x.shape[0] === 0) return;
  const range = tf.tidy(() => tf.stack([tf.min(x), tf.max(x)]));
  let lo: number, hi: number, labels: Values;
  try {
    const [values, yValues] = yield* read(range, y);
    [lo, hi] = values, labels = yValues;
  } finally {
    range.dispose();
  }
  if (!(lo >= 0 && hi <= 1)) {
    throw new Error(`Cannot run ${name} as x must be in [0,1]: current range is [${lo}, ${hi}]`);
  }
  const classes = numClasses(f, x as tf.Tensor4D);
  for (let j = 0; j < labels.length; j++) {
    if (!(labels[j] >= 0 && labels[j] < classes)) {
      throw new Error(
        `Cannot run ${name} as labels must be in 0..${classes - 1}: current value is ${labels[j]} (example ${j})`,
      );
    }
  }
}

/**
 * Throws unless x is a rank-4 batch in [0,1] and y an int32 vector of the same length whose labels
 * are classes of f, both on the active backend (`checkInputsReading` has the details), reading them
 * synchronously; `checkInputsAsync` reads asynchronously (on webgpu, the only way).
 *
 * @param name Name of the attack or metric, used in the message.
 * @param f Classifier.
 * @param x Images, NHWC.
 * @param y Labels.
 * @throws {Error} Naming the bad shape, dtype, pixel range, label or backend.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { checkInputs, type Classifier } from "./core.ts";
 * import { tf, useBackend } from "./backend/backend.ts";
 * await useBackend("cpu");
 * const f: Classifier = (x) => tf.zeros([x.shape[0], 10]);
 * const x = tf.fill([2, 32, 32, 3], 0.5) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 12], "int32");
 * assert.throws(() => checkInputs("PGD", f, x, y), {
 *   message: "Cannot run PGD as labels must be in 0..9: current value is 12 (example 1)",
 * });
 * tf.dispose([x, y]);
 * ```
 */
export function checkInputs(name: string, f: Classifier, x: tf.Tensor, y: tf.Tensor): void {
  runSync("checkInputs", checkInputsReading(name, f, x, y));
}

/**
 * `checkInputs`, reading the pixel range and the labels asynchronously.
 *
 * @param name Name of the attack or metric, used in the message.
 * @param f Classifier.
 * @param x Images, NHWC.
 * @param y Labels.
 * @returns Once the inputs are checked.
 * @throws {Error} As `checkInputs`.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { checkInputsAsync, type Classifier } from "./core.ts";
 * import { tf, useBackend } from "./backend/backend.ts";
 * await useBackend("cpu");
 * const f: Classifier = (x) => tf.zeros([x.shape[0], 10]);
 * const x = tf.fill([1, 32, 32, 3], 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3], "int32");
 * await assert.rejects(checkInputsAsync("PGD", f, x, y), {
 *   message: "Cannot run PGD as x must be in [0,1]: current range is [2, 2]",
 * });
 * tf.dispose([x, y]);
 * ```
 */
export async function checkInputsAsync(name: string, f: Classifier, x: tf.Tensor, y: tf.Tensor): Promise<void> {
  await runAsync(checkInputsReading(name, f, x, y));
}

/**
 * Per-example loss, its input gradient g = grad_x sum_i L(f(x_i), y_i) (a sum, so that each row is
 * that example's own gradient), and the logits of the same forward pass.
 *
 * @param f Classifier.
 * @param x Images.
 * @param y Labels.
 * @param loss Per-example loss of logits; default cross-entropy.
 * @returns `{ loss: [n], grad: like x, logits: [n, C] }`; the caller disposes all three.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { lossGradientLogits } from "./core.ts";
 * import { tf, useBackend } from "./backend/backend.ts";
 * await useBackend("cpu");
 * const f = (x: tf.Tensor4D) => tf.reshape(tf.mul(x, 2), [x.shape[0], 3]) as tf.Tensor2D;
 * const x = tf.tensor4d([0.1, 0.2, 0.3], [1, 1, 1, 3]), y = tf.tensor1d([0], "int32");
 * const { loss, grad, logits } = lossGradientLogits(f, x, y);
 * assert.deepStrictEqual(Array.from(logits.dataSync(), (v) => +v.toFixed(6)), [0.2, 0.4, 0.6]);
 * tf.dispose([x, y, loss, grad, logits]);
 * ```
 */
export function lossGradientLogits(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  loss: Loss = crossEntropy,
): { loss: tf.Tensor1D; grad: tf.Tensor4D; logits: tf.Tensor2D } {
  return tf.tidy(() => {
    let perExample: tf.Tensor1D | undefined, logits: tf.Tensor2D | undefined;
    let grad: tf.Tensor4D;
    try {
      grad = tf.grad((xi: tf.Tensor) => {
        // Kept: tf.grad disposes what its function made, except the value it differentiates.
        logits = tf.keep(f(xi as tf.Tensor4D));
        perExample = tf.keep(loss(logits, y));
        return tf.sum(perExample);
      })(x) as tf.Tensor4D;
    } catch (e) {
      tf.dispose([logits, perExample].filter((t) => t !== undefined));
      throw e;
    }
    // Clones are tracked by the caller's scopes, unlike kept tensors (which no tidy ever disposes).
    const out = { loss: tf.clone(perExample!), grad, logits: tf.clone(logits!) };
    tf.dispose([perExample!, logits!]);
    return out;
  });
}

/**
 * Per-example loss and its input gradient g = grad_x sum_i L(f(x_i), y_i): `lossGradientLogits`
 * without the logits. One forward and one backward pass of f.
 *
 * @param f Classifier.
 * @param x Images.
 * @param y Labels.
 * @param loss Per-example loss of logits; default cross-entropy.
 * @returns `{ loss: [n], grad: like x }`; the caller disposes both.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { lossAndGradient } from "./core.ts";
 * import { tf, useBackend } from "./backend/backend.ts";
 * await useBackend("cpu");
 * // f(x) = (x_0, 0): L = log(1 + e^{x_0}) - x_0 for y = 0, so dL/dx_0 = sigmoid(x_0) - 1 = -0.5 at 0.
 * const f = (x: tf.Tensor4D) => tf.concat([tf.reshape(x, [1, 1]), tf.zeros([1, 1])], 1) as tf.Tensor2D;
 * const x = tf.zeros([1, 1, 1, 1]) as tf.Tensor4D, y = tf.tensor1d([0], "int32");
 * const { loss, grad } = lossAndGradient(f, x, y);
 * assert.ok(Math.abs(grad.dataSync()[0] + 0.5) < 1e-6);
 * tf.dispose([x, y, loss, grad]);
 * ```
 */
export function lossAndGradient(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  loss: Loss = crossEntropy,
): { loss: tf.Tensor1D; grad: tf.Tensor4D } {
  const out = lossGradientLogits(f, x, y, loss);
  out.logits.dispose();
  return { loss: out.loss, grad: out.grad };
}

/**
 * Per-example dot products a_i . b_i over all axes but the first.
 *
 * @returns [n]; the caller disposes.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { rowDot } from "./core.ts";
 * import { tf, useBackend } from "./backend/backend.ts";
 * await useBackend("cpu");
 * const a = tf.tensor2d([[1, 2], [3, 4]]);
 * assert.deepStrictEqual(rowDot(a, a).arraySync(), [5, 25]);
 * ```
 */
export function rowDot(a: tf.Tensor, b: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.reshape(tf.mul(a, b), [a.shape[0], -1]), 1) as tf.Tensor1D);
}

/**
 * Divides each row by its L2 norm: v_i / |v_i|_2 (a zero row stays zero).
 *
 * @returns Like v; the caller disposes.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { normalizeRows } from "./core.ts";
 * import { tf, useBackend } from "./backend/backend.ts";
 * await useBackend("cpu");
 * assert.deepStrictEqual(Array.from(normalizeRows(tf.tensor2d([[3, 4]])).dataSync(), (v) => +v.toFixed(6)), [0.6, 0.8]);
 * ```
 */
export function normalizeRows<T extends tf.Tensor>(v: T): T {
  return tf.tidy(() => {
    const norms = tf.sqrt(rowDot(v, v));
    return tf.div(v, tf.reshape(tf.add(norms, 1e-30), [v.shape[0], ...v.shape.slice(1).map(() => 1)])) as T;
  });
}

/**
 * Per-example L2 norm |v_i|_2 of a batch, shaped [n, 1, 1, 1] for broadcasting.
 *
 * @returns [n, 1, 1, 1]; the caller disposes.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { l2Norms } from "./core.ts";
 * import { tf, useBackend } from "./backend/backend.ts";
 * await useBackend("cpu");
 * assert.strictEqual(l2Norms(tf.tensor4d([3, 4], [1, 1, 1, 2])).dataSync()[0], 5);
 * ```
 */
export function l2Norms(v: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.sqrt(tf.sum(tf.square(v), [1, 2, 3], true)) as tf.Tensor4D);
}

/**
 * Per row, a where the mask is true and b elsewhere.
 *
 * @param mask One boolean per row.
 * @param a Rows taken where true.
 * @param b Rows taken where false (same shape as a).
 * @returns A new tensor; the caller disposes.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { whereRows } from "./core.ts";
 * import { tf, useBackend } from "./backend/backend.ts";
 * await useBackend("cpu");
 * const a = tf.tensor2d([[1, 1], [2, 2]]), b = tf.zeros([2, 2]);
 * assert.deepStrictEqual(whereRows([false, true], a, b).arraySync(), [[0, 0], [2, 2]]);
 * ```
 */
export function whereRows<T extends tf.Tensor>(mask: boolean[], a: T, b: T): T {
  return tf.tidy(() => {
    const m = tf.reshape(tf.tensor1d(mask.map(Number), "int32"), [mask.length, ...a.shape.slice(1).map(() => 1)]);
    return tf.where(tf.broadcastTo(tf.cast(m, "bool"), a.shape), a, b) as T;
  });
}

/**
 * A copy of `base` with row j replaced by row m of `values` for each [j, m] in `rows`.
 *
 * @returns A new tensor; the caller disposes.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { replaceRows } from "./core.ts";
 * import { tf, useBackend } from "./backend/backend.ts";
 * await useBackend("cpu");
 * const base = tf.zeros([3, 2]), values = tf.tensor2d([[7, 7]]);
 * assert.deepStrictEqual(replaceRows(base, values, [[2, 0]]).arraySync(), [[0, 0], [0, 0], [7, 7]]);
 * ```
 */
export function replaceRows<T extends tf.Tensor>(base: T, values: T, rows: [number, number][]): T {
  return tf.tidy(() => {
    const index = Array.from({ length: base.shape[0] }, (_, j) => j);
    for (const [j, m] of rows) index[j] = base.shape[0] + m;
    return tf.gather(tf.concat([base, values]), tf.tensor1d(index, "int32")) as T;
  });
}

/**
 * Checks a batch size: an integer >= 1 (0 would never advance through the images, a fraction or a
 * negative one would slice outside them).
 *
 * @param name What runs in batches, for the message.
 * @param batchSize The batch size.
 * @throws {Error} `Cannot run <name> as batchSize must be an integer >= 1: current value is <batchSize>`.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { checkBatchSize } from "./core.ts";
 * checkBatchSize("accuracy", 128); // passes
 * assert.throws(() => checkBatchSize("accuracy", 0), {
 *   message: "Cannot run accuracy as batchSize must be an integer >= 1: current value is 0",
 * });
 * ```
 */
export function checkBatchSize(name: string, batchSize: number): void {
  if (!(Number.isSafeInteger(batchSize) && batchSize >= 1)) {
    throw new Error(`Cannot run ${name} as batchSize must be an integer >= 1: current value is ${batchSize}`);
  }
}

/**
 * Per example, whether the classifier is right: argmax_c f(x_i)_c = y_i, computed in batches and read
 * back once per batch. The one counter of correct predictions that accuracy, evaluation and AutoAttack
 * use; `correctPredictions` runs it synchronously, `correctPredictionsAsync` asynchronously.
 *
 * @param f Classifier.
 * @param x Images NHWC in [0,1].
 * @param y int32 labels.
 * @param batchSize Images per forward pass. @default 256
 * @returns A reading of one boolean per example.
 * @throws {Error} If batchSize is not an integer >= 1.
 */
export function* correctPredictionsReading(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  batchSize = 256,
): Reading<boolean[]> {
  checkBatchSize("correctPredictions", batchSize);
  const out: boolean[] = [];
  for (let start = 0; start < x.shape[0]; start += batchSize) {
    const size = Math.min(batchSize, x.shape[0] - start);
    const hit = tf.tidy(() => {
      const xb = tf.slice(x, [start, 0, 0, 0], [size, -1, -1, -1]);
      return tf.equal(tf.argMax(f(xb), 1), tf.slice(y, [start], [size]));
    });
    try {
      const [values] = yield* read(hit);
      out.push(...Array.from(values, Boolean));
    } finally {
      hit.dispose();
    }
  }
  return out;
}

/**
 * Per example, whether the classifier is right: argmax_c f(x_i)_c = y_i, computed in batches
 * (`correctPredictionsReading`), read synchronously.
 *
 * @param f Classifier.
 * @param x Images NHWC in [0,1].
 * @param y int32 labels.
 * @param batchSize Images per forward pass. @default 256
 * @returns One boolean per example.
 * @throws {Error} If batchSize is not an integer >= 1.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { correctPredictions } from "./core.ts";
 * import { tf, useBackend } from "./backend/backend.ts";
 * await useBackend("cpu");
 * const f = (x: tf.Tensor4D) => tf.reshape(x, [x.shape[0], 2]) as tf.Tensor2D; // logits = the two pixels
 * const x = tf.tensor4d([0.9, 0.1, 0.2, 0.8], [2, 1, 1, 2]), y = tf.tensor1d([0, 0], "int32");
 * assert.deepStrictEqual(correctPredictions(f, x, y), [true, false]);
 * tf.dispose([x, y]);
 * ```
 */
export function correctPredictions(f: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, batchSize = 256): boolean[] {
  return runSync("correctPredictions", correctPredictionsReading(f, x, y, batchSize));
}

/**
 * `correctPredictions`, read asynchronously.
 *
 * @param f Classifier.
 * @param x Images NHWC in [0,1].
 * @param y int32 labels.
 * @param batchSize Images per forward pass. @default 256
 * @returns One boolean per example.
 * @throws {Error} If batchSize is not an integer >= 1.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { correctPredictionsAsync } from "./core.ts";
 * import { tf, useBackend } from "./backend/backend.ts";
 * await useBackend("cpu");
 * const f = (x: tf.Tensor4D) => tf.reshape(x, [x.shape[0], 2]) as tf.Tensor2D; // logits = the two pixels
 * const x = tf.tensor4d([0.9, 0.1, 0.2, 0.8], [2, 1, 1, 2]), y = tf.tensor1d([0, 0], "int32");
 * assert.deepStrictEqual(await correctPredictionsAsync(f, x, y), [true, false]);
 * tf.dispose([x, y]);
 * ```
 */
export function correctPredictionsAsync(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  batchSize = 256,
): Promise<boolean[]> {
  return runAsync(correctPredictionsReading(f, x, y, batchSize));
}
