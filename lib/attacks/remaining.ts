/**
 * The loop that AutoAttack and its targeted attacks share (auto-attack's habit): attack only the
 * examples not yet fooled, in chunks, and write each success into the running result.
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import { replaceRows } from "../core.ts";
import { type Reading, runSync } from "../reading.ts";

/** What one round of an attack on a chunk of remaining examples found, row by row of the chunk. */
export interface RoundResult {
  /** The attack's output for the chunk; disposed by `attackRemaining`. */
  x: tf.Tensor4D;
  /** Rows that fooled the model: written into the result and marked done. */
  fooled: boolean[];
  /** Rows written into the result although not fooled (e.g. a higher loss than kept so far). */
  keep?: boolean[];
}

/**
 * One round: for each chunk of at most `batchSize` examples j with `done[j]` false, runs `attack` on
 * x[j], y[j] and writes its rows into `adv` where they fooled (marking `done[j]`) or are to be kept.
 *
 * @param x Clean images.
 * @param y Labels.
 * @param adv The running result (disposed here when replaced).
 * @param done Per example, already fooled; updated.
 * @param attack Runs on a chunk: its images, labels, the chunk's row indices into x, and the chunk
 *   number; returns a `RoundResult` for the chunk.
 * @param batchSize Chunk size. @default Infinity (one chunk)
 * @returns The updated result; the caller disposes. On a throw, `adv` is disposed too.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { attackRemaining } from "./remaining.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const x = tf.zeros([3, 1, 1, 1]) as tf.Tensor4D, y = tf.tensor1d([0, 0, 0], "int32");
 * const done = [false, true, false];
 * // An "attack" that adds 1 and fools every row it sees.
 * const adv = attackRemaining(x, y, tf.clone(x), done, (xs) => ({
 *   x: tf.add(xs, 1) as tf.Tensor4D,
 *   fooled: new Array(xs.shape[0]).fill(true),
 * }));
 * assert.deepStrictEqual(Array.from(adv.dataSync()), [1, 0, 1]);
 * assert.deepStrictEqual(done, [true, true, true]);
 * tf.dispose([x, y, adv]);
 * ```
 */
export function attackRemaining(
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  adv: tf.Tensor4D,
  done: boolean[],
  attack: (xs: tf.Tensor4D, ys: tf.Tensor1D, rows: number[], chunk: number) => RoundResult,
  batchSize = Infinity,
): tf.Tensor4D {
  // deno-lint-ignore require-yield
  const reading = function* (xs: tf.Tensor4D, ys: tf.Tensor1D, rows: number[], chunk: number): Reading<RoundResult> {
    return attack(xs, ys, rows, chunk);
  };
  return runSync("attackRemaining", attackRemainingReading(x, y, adv, done, reading, batchSize));
}

/**
 * `attackRemaining` with an attack that is itself a reading (one that reads tensors back, as APGD,
 * FAB-T and Square do), so that the loop runs synchronously or asynchronously with it.
 *
 * @param x Clean images.
 * @param y Labels.
 * @param adv The running result (disposed here when replaced).
 * @param done Per example, already fooled; updated.
 * @param attack Runs on a chunk, as a reading of its `RoundResult`.
 * @param batchSize Chunk size. @default Infinity (one chunk)
 * @returns A reading of the updated result; the caller disposes. On a throw, `adv` is disposed too.
 */
export function* attackRemainingReading(
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  adv: tf.Tensor4D,
  done: boolean[],
  attack: (xs: tf.Tensor4D, ys: tf.Tensor1D, rows: number[], chunk: number) => Reading<RoundResult>,
  batchSize = Infinity,
): Reading<tf.Tensor4D> {
  const todo = done.flatMap((d, j) => d ? [] : [j]);
  for (let start = 0, chunk = 0; start < todo.length; start += batchSize, chunk++) {
    const rows = todo.slice(start, start + batchSize);
    const idx = tf.tensor1d(rows, "int32");
    const xs = tf.gather(x, idx) as tf.Tensor4D, ys = tf.gather(y, idx) as tf.Tensor1D;
    let round: RoundResult;
    try {
      round = yield* attack(xs, ys, rows, chunk);
    } catch (e) {
      tf.dispose([idx, xs, ys, adv]);
      throw e;
    }
    const writes = rows.flatMap((j, m): [number, number][] => round.fooled[m] || round.keep?.[m] ? [[j, m]] : []);
    if (writes.length > 0) {
      const next = replaceRows(adv, round.x, writes);
      adv.dispose();
      adv = next;
    }
    rows.forEach((j, m) => round.fooled[m] && (done[j] = true));
    tf.dispose([idx, xs, ys, round.x]);
  }
  return adv;
}
