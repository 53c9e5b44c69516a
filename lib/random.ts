/**
 * A small seedable random number generator (mulberry32), so that shuffles, augmentation and attack
 * starts repeat exactly for the same seed.
 *
 * @module
 */

/** A function returning uniform numbers in [0, 1). */
export type Random = () => number;

/**
 * Mulberry32: a 32-bit state generator, uniform in [0, 1). The same seed gives the same sequence.
 *
 * @param seed Any integer.
 * @returns The generator.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { seededRandom } from "./random.ts";
 * const a = seededRandom(1), b = seededRandom(1);
 * assert.strictEqual(a(), b());
 * ```
 */
export function seededRandom(seed: number): Random {
  let state = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Fisher-Yates shuffle of 0..n-1 with the given generator.
 *
 * @param n Length of the permutation.
 * @param random Generator from `seededRandom`.
 * @returns A permutation of 0..n-1.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { permutation, seededRandom } from "./random.ts";
 * assert.deepStrictEqual(Array.from(permutation(4, seededRandom(1))).sort(), [0, 1, 2, 3]);
 * ```
 */
export function permutation(n: number, random: Random): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/**
 * The seed to give `tf.randomNormal` for an integer seed. TensorFlow.js draws normals unseeded when
 * the seed is falsy, so seed 0 would not repeat; a half-integer shift keeps every integer distinct
 * and seeded. (`tf.randomUniform` treats only a missing seed as unseeded.)
 *
 * @param seed Any integer.
 * @returns seed + 0.5.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { normalSeed } from "./random.ts";
 * import { tf, useBackend } from "./backend/backend.ts";
 * await useBackend("cpu");
 * const a = tf.randomNormal([2], 0, 1, "float32", normalSeed(0));
 * const b = tf.randomNormal([2], 0, 1, "float32", normalSeed(0));
 * assert.deepStrictEqual(a.dataSync(), b.dataSync());
 * ```
 */
export function normalSeed(seed: number): number {
  if (!Number.isSafeInteger(seed)) {
    throw new Error(`Cannot shift a seed that is not an integer: current value is ${seed}`);
  }
  return seed + 0.5;
}

/**
 * The seed of stream `index` of a base seed. Stream 0 is the base seed itself (so a one-stream use,
 * such as one PGD run or the first HAAT step, draws exactly what `seed` draws); stream i >= 1 is a
 * 32-bit hash (murmur3-style mixing) of (seed, i), so that streams of nearby seeds do not overlap.
 * With additive seeds (seed + i), a call with seed s drew at stream 1 what a call with seed s + 1 drew
 * at stream 0; hashed streams do not.
 *
 * @param seed Base seed (any integer).
 * @param index Stream index (an integer >= 0), e.g. an attack step, a restart or a target class.
 * @returns seed for index 0, else an integer in [0, 2^32).
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { deriveSeed } from "./random.ts";
 * assert.strictEqual(deriveSeed(7, 0), 7);
 * assert.notStrictEqual(deriveSeed(0, 1), deriveSeed(1, 0));
 * assert.strictEqual(deriveSeed(5, 3), deriveSeed(5, 3));
 * ```
 */
export function deriveSeed(seed: number, index: number): number {
  // A fractional seed would be truncated for every stream but stream 0: 1.5 and 1 would share streams.
  if (!Number.isSafeInteger(seed)) throw new Error(`Cannot derive a seed from a non-integer: current value is ${seed}`);
  if (!(Number.isSafeInteger(index) && index >= 0)) {
    throw new Error(`Cannot derive a seed as index must be an integer >= 0: current value is ${index}`);
  }
  if (index === 0) return seed;
  let h = Math.imul(Math.trunc(seed) ^ 0x85ebca6b, 0x9e3779b1) >>> 0;
  h = (h + Math.imul(Math.trunc(index), 0x7feb352d)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
