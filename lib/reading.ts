/**
 * Computations that read tensors back, written once and run either synchronously or asynchronously.
 *
 * TensorFlow.js's WebGPU backend reads a tensor synchronously (`dataSync`, `arraySync`, `bufferSync`)
 * through a canvas, and Deno has none: there only `await t.data()` reads. So a computation that needs
 * values on the host (an attack's input checks, APGD's step-size rule, FAB's projection, a metric's count)
 * is a `Reading`: a generator that yields each request and is resumed with its answer.
 *
 * - `yield* read(a, b)` asks for the values of tensors (the tensors stay the caller's to dispose);
 * - `yield* settle(value)` waits for a value that may be a promise (a caller's asynchronous callback).
 *
 * `runSync` answers the requests with `dataSync()`, `runAsync` with `await data()`. A public synchronous
 * function `f` that reads is `runSync("f", fReading(...))`, beside its twin `fAsync` that is
 * `runAsync(fReading(...))`: one body, two ways to run it. On a backend that cannot read synchronously
 * (`canReadSync`: webgpu) `runSync` refuses before anything runs, naming the twin.
 *
 * A reading never yields from inside `tf.tidy` (a generator cannot), so no scope spans a wait; it
 * disposes what it made, on a throw too (`runAsync` can put no `tf.tidy` around a run that waits;
 * `runSync` does, as a safety net). When a read fails, the driver throws the error into the reading,
 * so that its `finally` blocks run.
 *
 * @module
 */
import { tf } from "./tfjs.ts";

/** The values of a tensor as `data()` returns them: float32, int32, or bool (as bytes). */
export type Values = Float32Array | Int32Array | Uint8Array;

/** What a reading asks for: the values of some tensors, or the result of a promise. */
export type ReadRequest = { tensors: tf.Tensor[] } | { promise: Promise<unknown> };

/** A computation that reads tensors: a generator of requests whose result is T (run it with `runSync` or `runAsync`). */
export type Reading<T> = Generator<ReadRequest, T, unknown>;

/**
 * Asks for the values of tensors, in order; the tensors stay the caller's.
 *
 * @param tensors The tensors to read.
 * @returns A reading of their values.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { read, runSync } from "./reading.ts";
 * import { tf, useBackend } from "./backend/backend.ts";
 * await useBackend("cpu");
 * const t = tf.tensor1d([1, 2]);
 * const [values] = runSync("sum", read(t));
 * assert.deepStrictEqual(Array.from(values), [1, 2]);
 * t.dispose();
 * ```
 */
export function* read(...tensors: tf.Tensor[]): Reading<Values[]> {
  return (yield { tensors }) as Values[];
}

/**
 * The value of what a caller's callback returned: a plain value (passed through, so that a synchronous
 * run accepts it), a promise (waited for; only `runAsync` can) or a reading (run in place, so that it
 * reads the way the caller's run reads).
 *
 * @param value The value, its promise or its reading.
 * @returns A reading of the value.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { runAsync, runSync, settle } from "./reading.ts";
 * function* three() {
 *   return 3;
 * }
 * assert.strictEqual(runSync("id", settle(3)), 3);
 * assert.strictEqual(runSync("id", settle(three())), 3);
 * assert.strictEqual(await runAsync(settle(Promise.resolve(4))), 4);
 * ```
 */
export function* settle<T>(value: T | Promise<T> | Reading<T>): Reading<T> {
  if (value instanceof Promise) return (yield { promise: value }) as T;
  if (isReading(value)) return yield* value;
  return value as T;
}

/** Whether a value is a reading (a generator object), not a plain value. */
function isReading<T>(value: unknown): value is Reading<T> {
  return typeof value === "object" && value !== null && typeof (value as Reading<T>).next === "function" &&
    typeof (value as Reading<T>)[Symbol.iterator] === "function";
}

/**
 * Whether the active backend reads tensors synchronously: every one but webgpu, whose synchronous read
 * needs a canvas that Deno does not have.
 *
 * @returns True where `dataSync()` works.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { canReadSync } from "./reading.ts";
 * import { useBackend } from "./backend/backend.ts";
 * await useBackend("cpu");
 * assert.strictEqual(canReadSync(), true);
 * ```
 */
export function canReadSync(): boolean {
  return tf.getBackend() !== "webgpu";
}

/**
 * Runs a reading synchronously, answering each read with `dataSync()`, inside one `tf.tidy` (so that
 * on a throw every tensor made is disposed, and what a caller's callback leaves behind too).
 *
 * @param name The public function that runs it (e.g. "pgd"); its asynchronous twin is `${name}Async`.
 * @param reading The reading.
 * @returns Its result.
 * @throws {Error} Before anything runs, on a backend that cannot read synchronously (naming `${name}Async`);
 *   if the reading waits for a promise (an asynchronous callback); or the reading's own error.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { read, type Reading, runSync } from "./reading.ts";
 * import { tf, useBackend } from "./backend/backend.ts";
 * await useBackend("cpu");
 * function* total(t: tf.Tensor): Reading<number> {
 *   const s = tf.sum(t);
 *   try {
 *     const [v] = yield* read(s);
 *     return v[0];
 *   } finally {
 *     s.dispose();
 *   }
 * }
 * const t = tf.tensor1d([1, 2, 3]);
 * assert.strictEqual(runSync("total", total(t)), 6);
 * t.dispose();
 * ```
 */
export function runSync<T>(name: string, reading: Reading<T>): T {
  if (!canReadSync()) {
    reading.return(undefined as T); // never started: nothing to clean up
    throw new Error(
      `Cannot run ${name}() on the ${tf.getBackend()} backend, which reads tensors only asynchronously: ` +
        `use await ${name}Async()`,
    );
  }
  // The whole run is one tf.tidy: on a throw it disposes every tensor made, and it disposes what a caller's
  // callback left behind, as the synchronous functions always did.
  return tf.tidy(() => runSteps(name, reading) as tf.TensorContainer) as T;
}

/** Drives a reading with synchronous reads (inside `runSync`'s tidy). */
function runSteps<T>(name: string, reading: Reading<T>): T {
  let step = reading.next();
  while (!step.done) {
    const request = step.value;
    let answer: unknown;
    try {
      if ("promise" in request) {
        // Not waited for: what it resolves to is disposed (where it holds tensors), its failure dropped.
        request.promise.then((value) => tf.dispose(value as tf.TensorContainer), () => {});
        throw new Error(
          `Cannot run ${name}() with an asynchronous callback, which it cannot wait for: use await ${name}Async()`,
        );
      }
      answer = request.tensors.map((t) => t.dataSync() as Values);
    } catch (e) {
      step = reading.throw(e);
      continue;
    }
    step = reading.next(answer);
  }
  return step.value;
}

/**
 * Runs a reading asynchronously, answering each read with `await data()` (the tensors of one request
 * read together) and each wait with the promise's value.
 *
 * @param reading The reading.
 * @returns Its result.
 * @throws {Error} The reading's own error, or a failed read or promise (thrown into the reading first).
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { read, type Reading, runAsync } from "./reading.ts";
 * import { tf, useBackend } from "./backend/backend.ts";
 * await useBackend("cpu");
 * function* total(t: tf.Tensor): Reading<number> {
 *   const s = tf.sum(t);
 *   try {
 *     const [v] = yield* read(s);
 *     return v[0];
 *   } finally {
 *     s.dispose();
 *   }
 * }
 * const t = tf.tensor1d([1, 2, 3]);
 * assert.strictEqual(await runAsync(total(t)), 6);
 * t.dispose();
 * ```
 */
export async function runAsync<T>(reading: Reading<T>): Promise<T> {
  let step = reading.next();
  while (!step.done) {
    const request = step.value;
    let answer: unknown;
    try {
      answer = "promise" in request
        ? await request.promise
        : await Promise.all(request.tensors.map((t) => t.data() as Promise<Values>));
    } catch (e) {
      step = reading.throw(e);
      continue;
    }
    step = reading.next(answer);
  }
  return step.value;
}
