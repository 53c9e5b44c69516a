/**
 * The one place that names the TensorFlow.js packages and their pinned versions. The specifiers are
 * full `npm:` URLs rather than import-map names so that `mod.ts` works when imported by URL, from a
 * script with no deno.json of its own.
 *
 * @module
 */
// The union package: it registers every gradient and the cpu backend (tfjs-core alone registers none).
/**
 * TensorFlow.js (the union package `@tensorflow/tfjs`, pinned): the namespace every module uses.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { tf, useBackend } from "../mod.ts";
 * await useBackend("cpu");
 * const sum = tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4]));
 * assert.deepStrictEqual(Array.from(sum.dataSync()), [4, 6]);
 * assert.strictEqual(tf.getBackend(), "cpu");
 * ```
 */
export * as tf from "npm:@tensorflow/tfjs@4.22.0";
export * as tfWasm from "npm:@tensorflow/tfjs-backend-wasm@4.22.0";
