/**
 * `lib/reading.ts`: one reading, run synchronously or asynchronously, gives the same result; a failed read is
 * thrown into the reading so that it cleans up; a synchronous run refuses to wait for a promise.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "./_assert.ts";
import { tf } from "../mod.ts";
import { read, type Reading, runAsync, runSync, settle } from "../lib/reading.ts";
import { setup } from "./_helpers.ts";

await setup();

/** Sums a tensor's values on the host, disposing what it made whatever happens; `cleaned` says it did. */
function* hostSum(t: tf.Tensor, cleaned: { done: boolean }): Reading<number> {
  const copy = tf.clone(t);
  try {
    const [values] = yield* read(copy);
    return Array.from(values).reduce((a, b) => a + b, 0);
  } finally {
    copy.dispose();
    cleaned.done = true;
  }
}

Deno.test("runSync() and runAsync() give a reading's same result and leave no tensor behind", async () => {
  const t = tf.tensor1d([1, 2, 3.5]);
  const before = tf.memory().numTensors;
  assertEquals(runSync("hostSum", hostSum(t, { done: false })), 6.5);
  assertEquals(await runAsync(hostSum(t, { done: false })), 6.5);
  assertEquals(tf.memory().numTensors, before);
  t.dispose();
});

Deno.test("a failed read is thrown into the reading, whose finally blocks run, by either driver", async () => {
  const t = tf.tensor1d([1]);
  t.dispose(); // reading a disposed tensor fails
  const before = tf.memory().numTensors;
  const syncCleaned = { done: false }, asyncCleaned = { done: false };
  function* readDisposed(cleaned: { done: boolean }): Reading<number> {
    const other = tf.zeros([2]);
    try {
      yield* read(t);
      return 0;
    } finally {
      other.dispose();
      cleaned.done = true;
    }
  }
  assertThrows(() => runSync("readDisposed", readDisposed(syncCleaned)), /disposed/);
  await assertRejects(() => runAsync(readDisposed(asyncCleaned)), /disposed/);
  assert(syncCleaned.done && asyncCleaned.done, "a finally block did not run");
  assertEquals(tf.memory().numTensors, before);
});

Deno.test("runSync() refuses a reading that waits for a promise, naming the asynchronous twin; runAsync() waits", async () => {
  function* waits(value: Promise<number>): Reading<number> {
    return 1 + (yield* settle(value));
  }
  assertThrows(
    () => runSync("twice", waits(Promise.resolve(1))),
    /^Cannot run twice\(\) with an asynchronous callback, which it cannot wait for: use await twiceAsync\(\)$/,
  );
  assertEquals(await runAsync(waits(Promise.resolve(1))), 2);
});

Deno.test("runSync() disposes what a reading's callback left behind; settle() runs a nested reading in place", () => {
  const before = tf.memory().numTensors;
  function* leaky(): Reading<tf.Tensor> {
    tf.add(tf.ones([2]), 1); // two tensors nobody disposes
    const kept = tf.ones([3]);
    const [values] = yield* read(kept);
    assertEquals(Array.from(values), [1, 1, 1]);
    return kept;
  }
  const out = runSync("leaky", settle(leaky()));
  assertEquals(out.shape, [3]);
  out.dispose();
  assertEquals(tf.memory().numTensors, before);
});
