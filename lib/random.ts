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
 * import { seededRandom } from "./lib/random.ts";
 * const a = seededRandom(1), b = seededRandom(1);
 * console.log(a() === b()); // true
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
 */
export function normalSeed(seed: number): number {
  return seed + 0.5;
}
