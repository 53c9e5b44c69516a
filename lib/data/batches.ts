/**
 * Batching, the SPEC's augmentation (4-pixel zero pad, random 32x32 crop, horizontal flip) and the
 * validation split, over `Dataset` bytes. Tensors are made per batch; the caller disposes them.
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import { permutation, type Random, seededRandom } from "../random.ts";
import type { Dataset } from "./cifar10.ts";

const SIDE = 32, CHANNELS = 3, IMAGE = SIDE * SIDE * CHANNELS;

/** One batch: images in [0,1] and int32 labels. The caller disposes both. */
export interface Batch {
  x: tf.Tensor4D;
  y: tf.Tensor1D;
  /** Indices into the dataset. */
  indices: Int32Array;
}

/** Options of `batches`. */
export interface BatchOptions {
  /** Images per batch. @default 128 (the paper's batch size) */
  batchSize?: number;
  /** Shuffle the order each call. @default false */
  shuffle?: boolean;
  /** Pad 4 pixels with zeros, crop 32x32 at random, flip horizontally with probability 1/2. @default false */
  augment?: boolean;
  /** Seed of shuffle and augmentation. @default 0 */
  seed?: number;
  /** Skip a last batch smaller than batchSize. @default false */
  dropLast?: boolean;
  /** Start at this batch (to resume an epoch). @default 0 */
  startBatch?: number;
}

/**
 * Picks images `indices` of a dataset as a new dataset (bytes are copied).
 *
 * @param dataset Source.
 * @param indices Which images, in order.
 * @returns The subset.
 */
export function subset(dataset: Dataset, indices: ArrayLike<number>): Dataset {
  const images = new Uint8Array(indices.length * IMAGE);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i];
    if (!(k >= 0 && k < dataset.size)) {
      throw new Error(`Cannot take a subset as index ${i} is outside 0..${dataset.size - 1}: ${k}`);
    }
    images.set(dataset.images.subarray(k * IMAGE, (k + 1) * IMAGE), i * IMAGE);
    labels[i] = dataset.labels[k];
  }
  return { images, labels, size: indices.length, classNames: dataset.classNames };
}

/**
 * Holds out `size` images, chosen at random with `seed`, as a validation set.
 *
 * @param dataset The training set.
 * @param options `size` (default 1000, SPEC section 4) and `seed` (default 0).
 * @returns `{ train, validation }`, disjoint, together the whole set.
 * @throws {Error} If size is not in [0, dataset.size).
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { type Dataset, splitValidation } from "../../mod.ts";
 * const labels = Int32Array.from({ length: 10 }, (_, i) => i);
 * const data: Dataset = { images: new Uint8Array(10 * 3072), labels, size: 10, classNames: [] };
 * const { train, validation } = splitValidation(data, { size: 3, seed: 0 });
 * assert.strictEqual(validation.size, 3);
 * assert.deepStrictEqual([...train.labels, ...validation.labels].sort((a, b) => a - b), Array.from(labels));
 * ```
 */
export function splitValidation(
  dataset: Dataset,
  options: { size?: number; seed?: number } = {},
): { train: Dataset; validation: Dataset } {
  const size = options.size ?? 1000;
  if (!Number.isInteger(size) || size < 0 || size >= dataset.size) {
    throw new Error(
      `Cannot split a validation set as size must be an integer in [0, ${dataset.size}): current value is ${size}`,
    );
  }
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed)) {
    throw new Error(`Cannot split a validation set as seed must be an integer: current value is ${seed}`);
  }
  const order = permutation(dataset.size, seededRandom(seed));
  const held = Array.from(order.subarray(0, size)).sort((a, b) => a - b);
  const kept = Array.from(order.subarray(size)).sort((a, b) => a - b);
  return { train: subset(dataset, kept), validation: subset(dataset, held) };
}

/** Writes image k of `src`, padded by 4 and cropped at (dy, dx), maybe flipped, into `out` at `at`. */
function augmentInto(src: Uint8Array, k: number, out: Float32Array, at: number, random: Random): void {
  const dy = Math.floor(random() * 9) - 4, dx = Math.floor(random() * 9) - 4;
  const flip = random() < 0.5;
  const base = k * IMAGE;
  for (let r = 0; r < SIDE; r++) {
    const sr = r + dy;
    for (let c = 0; c < SIDE; c++) {
      const sc = (flip ? SIDE - 1 - c : c) + dx;
      const o = at + (r * SIDE + c) * CHANNELS;
      if (sr < 0 || sr >= SIDE || sc < 0 || sc >= SIDE) {
        out[o] = out[o + 1] = out[o + 2] = 0;
      } else {
        const s = base + (sr * SIDE + sc) * CHANNELS;
        out[o] = src[s] / 255;
        out[o + 1] = src[s + 1] / 255;
        out[o + 2] = src[s + 2] / 255;
      }
    }
  }
}

/**
 * Images `indices` of a dataset as tensors in [0,1]; the caller disposes them.
 *
 * @param dataset Source.
 * @param indices Which images (default: all).
 * @returns `{ x, y }`.
 * @throws {Error} If an index is not an image of the dataset.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { type Dataset, tf, toTensors, useBackend } from "../../mod.ts";
 * await useBackend("cpu");
 * const data: Dataset = { images: new Uint8Array(2 * 3072).fill(255), labels: Int32Array.of(4, 9), size: 2, classNames: [] };
 * const { x, y } = toTensors(data, [1]);
 * assert.deepStrictEqual(x.shape, [1, 32, 32, 3]);
 * assert.strictEqual(tf.max(x).dataSync()[0], 1); // bytes 0..255 become [0,1]
 * assert.deepStrictEqual(Array.from(y.dataSync()), [9]);
 * tf.dispose([x, y]);
 * ```
 */
export function toTensors(dataset: Dataset, indices?: ArrayLike<number>): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const idx = indices ?? Int32Array.from({ length: dataset.size }, (_, i) => i);
  for (let i = 0; i < idx.length; i++) {
    if (!(Number.isInteger(idx[i]) && idx[i] >= 0 && idx[i] < dataset.size)) {
      throw new Error(
        `Cannot make tensors as index ${i} must be an integer in 0..${dataset.size - 1}: current value is ${idx[i]}`,
      );
    }
  }
  const x = new Float32Array(idx.length * IMAGE);
  const y = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    const k = idx[i];
    for (let j = 0; j < IMAGE; j++) x[i * IMAGE + j] = dataset.images[k * IMAGE + j] / 255;
    y[i] = dataset.labels[k];
  }
  return { x: tf.tensor4d(x, [idx.length, SIDE, SIDE, CHANNELS]), y: tf.tensor1d(y, "int32") };
}

/**
 * Yields batches of a dataset, optionally shuffled and augmented, reproducibly for a seed.
 *
 * @param dataset Source.
 * @param options See `BatchOptions`.
 * @returns A generator of batches; dispose each batch's tensors.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { batches, type Dataset, tf, useBackend } from "../../mod.ts";
 * await useBackend("cpu");
 * const labels = Int32Array.from({ length: 10 }, (_, i) => i);
 * const train: Dataset = { images: new Uint8Array(10 * 3072), labels, size: 10, classNames: [] };
 * const sizes: number[] = [], seen: number[] = [];
 * for (const { x, y } of batches(train, { batchSize: 4, shuffle: true, augment: true, seed: 1 })) {
 *   sizes.push(x.shape[0]);
 *   seen.push(...y.dataSync());
 *   tf.dispose([x, y]);
 * }
 * assert.deepStrictEqual(sizes, [4, 4, 2]);
 * assert.deepStrictEqual(seen.sort((a, b) => a - b), Array.from(labels)); // each image once
 * ```
 */
export function* batches(dataset: Dataset, options: BatchOptions = {}): Generator<Batch> {
  const batchSize = options.batchSize ?? 128;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new Error(`Cannot make batches as batchSize must be a positive integer: current value is ${batchSize}`);
  }
  const seed = options.seed ?? 0,
    count = options.dropLast ? Math.floor(dataset.size / batchSize) : Math.ceil(dataset.size / batchSize);
  if (!Number.isSafeInteger(seed)) {
    throw new Error(`Cannot make batches as seed must be an integer: current value is ${seed}`);
  }
  const startBatch = options.startBatch ?? 0;
  if (!(Number.isInteger(startBatch) && startBatch >= 0 && startBatch <= count)) {
    throw new Error(
      `Cannot make batches as startBatch must be an integer in 0..${count} (the batches there are): ` +
        `current value is ${startBatch}`,
    );
  }
  const random = seededRandom(seed);
  const order = options.shuffle
    ? permutation(dataset.size, random)
    : Int32Array.from({ length: dataset.size }, (_, i) => i);
  // Draw the augmentation of skipped batches too, so that a resumed epoch sees the same images.
  for (let b = 0; b < count; b++) {
    const indices = order.subarray(b * batchSize, Math.min((b + 1) * batchSize, dataset.size));
    const x = new Float32Array(indices.length * IMAGE);
    if (options.augment) {
      for (let i = 0; i < indices.length; i++) augmentInto(dataset.images, indices[i], x, i * IMAGE, random);
    }
    if (b < startBatch) continue;
    if (!options.augment) {
      for (let i = 0; i < indices.length; i++) {
        const base = indices[i] * IMAGE;
        for (let j = 0; j < IMAGE; j++) x[i * IMAGE + j] = dataset.images[base + j] / 255;
      }
    }
    const y = Int32Array.from(indices, (k) => dataset.labels[k]);
    yield {
      x: tf.tensor4d(x, [indices.length, SIDE, SIDE, CHANNELS]),
      y: tf.tensor1d(y, "int32"),
      indices: Int32Array.from(indices),
    };
  }
}
