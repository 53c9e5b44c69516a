/**
 * The asynchronous twins (`pgdAsync`, ..., `autoAttackAsync`, `evaluateAsync`): each gives its synchronous
 * function's exact result, leaks nothing when the model throws midway; every attack refuses inputs, and a
 * ResNet18 its weights, that live on another backend than the active one.
 */
import { assert, assertEquals, assertRejects, assertThrows } from "../_assert.ts";
import {
  apgd,
  apgdAsync,
  apgdTargeted,
  apgdTargetedAsync,
  autoAttack,
  autoAttackAsync,
  type Classifier,
  evaluate,
  evaluateAsync,
  fabTargeted,
  fabTargetedAsync,
  fgsm,
  fgsmAsync,
  haat,
  haatAsync,
  haatWithDiagnostics,
  haatWithDiagnosticsAsync,
  pgd,
  pgdAsync,
  powerIteration,
  powerIterationAsync,
  resnet18,
  square,
  squareAsync,
  tf,
  topEigenvalues,
  topEigenvaluesAsync,
  useBackend,
} from "../../mod.ts";
import { linearClassifier, maxAbsDiff, randomImages, setup } from "../_helpers.ts";

await setup();

/** The labels the classifier predicts for x, so that every point is correct clean and the attacks all run. */
function predicted(f: Classifier, x: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => tf.cast(tf.argMax(f(x), 1), "int32") as tf.Tensor1D);
}

type Attack = (f: Classifier, x: tf.Tensor4D, y: tf.Tensor1D) => tf.Tensor4D;
type AsyncAttack = (f: Classifier, x: tf.Tensor4D, y: tf.Tensor1D) => Promise<tf.Tensor4D>;

/** Each attack with tiny budgets: its name, synchronous and asynchronous forms. */
function pairs(): [string, Attack, AsyncAttack][] {
  const budgets = { budgets: { apgdSteps: 3, fabSteps: 3, squareSteps: 3 } };
  return [
    ["fgsm", (f, x, y) => fgsm(f, x, y), (f, x, y) => fgsmAsync(f, x, y)],
    [
      "pgd",
      (f, x, y) => pgd(f, x, y, { steps: 2, restarts: 2 }),
      (f, x, y) => pgdAsync(f, x, y, { steps: 2, restarts: 2 }),
    ],
    ["haat", (f, x, y) => haat(f, x, y, { steps: 2, k: 2 }), (f, x, y) => haatAsync(f, x, y, { steps: 2, k: 2 })],
    ["apgd", (f, x, y) => apgd(f, x, y, { steps: 5 }), (f, x, y) => apgdAsync(f, x, y, { steps: 5 })],
    [
      "apgdTargeted",
      (f, x, y) => apgdTargeted(f, x, y, { steps: 3, nTargetClasses: 2 }),
      (f, x, y) => apgdTargetedAsync(f, x, y, { steps: 3, nTargetClasses: 2 }),
    ],
    [
      "fabTargeted",
      (f, x, y) => fabTargeted(f, x, y, { steps: 3, nTargetClasses: 2 }),
      (f, x, y) => fabTargetedAsync(f, x, y, { steps: 3, nTargetClasses: 2 }),
    ],
    ["square", (f, x, y) => square(f, x, y, { steps: 5 }), (f, x, y) => squareAsync(f, x, y, { steps: 5 })],
    [
      "autoAttack",
      (f, x, y) => autoAttack(f, x, y, budgets).x,
      async (f, x, y) => (await autoAttackAsync(f, x, y, budgets)).x,
    ],
  ];
}

Deno.test("every asynchronous attack gives its synchronous twin's exact images and leaks nothing", async (t) => {
  const { f, w, b } = linearClassifier(10, 71);
  const x = randomImages(4, 72), y = predicted(f, x);
  for (const [name, sync, async] of pairs()) {
    await t.step(name, async () => {
      const expected = sync(f, x, y);
      const before = tf.memory().numTensors;
      const actual = await async(f, x, y);
      assertEquals(tf.memory().numTensors, before + 1, `${name}Async leaks tensors`);
      assertEquals(maxAbsDiff(actual, expected), 0, name);
      tf.dispose([expected, actual]);
    });
  }
  tf.dispose([x, y, w, b]);
});

Deno.test("every asynchronous attack leaks nothing when the model throws midway", async (t) => {
  const { f, w, b } = linearClassifier(10, 73);
  const x = randomImages(3, 74), y = predicted(f, x);
  for (const [name, , async] of pairs()) {
    // Call 1 learns the class count (outside any gradient), call 2 is the attack's first pass, call 3 a later one.
    for (const failAt of [2, 3]) {
      await t.step(`${name}Async, model fails at call ${failAt}`, async () => {
        let calls = 0;
        const failing: Classifier = (xs) => {
          if (++calls === failAt) throw new Error("model failed");
          return f(xs);
        };
        const before = tf.memory().numTensors;
        let threw = false;
        try {
          tf.dispose(await async(failing, x, y));
        } catch (e) {
          threw = /model failed/.test((e as Error).message);
        }
        assert(threw || (failAt === 3 && calls < 3), `${name}Async did not pass the model's error on`);
        assertEquals(tf.memory().numTensors, before);
      });
    }
  }
  tf.dispose([x, y, w, b]);
});

Deno.test("haatWithDiagnosticsAsync(), powerIterationAsync() and topEigenvaluesAsync() equal their synchronous twins", async () => {
  const { f, w, b } = linearClassifier(10, 75);
  const x = randomImages(2, 76), y = tf.tensor1d([1, 2], "int32");
  const options = { steps: 2, k: 3, xi: 1e-3, warmStart: true, warmK: 2 };
  const sync = haatWithDiagnostics(f, x, y, options), async = await haatWithDiagnosticsAsync(f, x, y, options);
  assertEquals(async.diagnostics, sync.diagnostics);
  assertEquals(maxAbsDiff(async.x, sync.x), 0);
  const a = tf.tensor2d([[3, 1, 0], [1, 2, 0], [0, 0, -4]]);
  const product = (v: tf.Tensor) => tf.matMul(v, a);
  const v0 = tf.tensor2d([[1, 1, 1], [1, -1, 0]]);
  const p = powerIteration(product, v0, { iterations: 4 }),
    q = await powerIterationAsync(product, v0, { iterations: 4 });
  assertEquals({ eigenvalue: q.eigenvalue, record: q.record }, { eigenvalue: p.eigenvalue, record: p.record });
  assertEquals(maxAbsDiff(q.vector, p.vector), 0);
  const lanczos = { m: 2, iterations: 3, seed: 4 };
  assertEquals(await topEigenvaluesAsync(product, [1, 3], lanczos), topEigenvalues(product, [1, 3], lanczos));
  tf.dispose([sync.x, async.x, a, v0, p.vector, q.vector, x, y, w, b]);
});

Deno.test("evaluateAsync() writes evaluate()'s report, HAAT, AutoAttack and the sweep included", async () => {
  const { f, w, b } = linearClassifier(10, 77);
  const images = Uint8Array.from({ length: 6 * 3072 }, (_, i) => (i * 37 + (i >> 9)) % 256);
  const data = { images, labels: Int32Array.from([0, 1, 2, 3, 4, 5]), size: 6, classNames: "abcdefghij".split("") };
  const options = {
    pgdSteps: 2,
    batchSize: 4,
    haat: { steps: 2, k: 2, xi: 1e-3 },
    autoattack: { version: "fast" as const, n: 6, budgets: { apgdSteps: 3 } },
    sweep: { eps: [0, 4 / 255], n: 6 },
  };
  const before = tf.memory().numTensors;
  const sync = evaluate(f, data, options), async = await evaluateAsync(f, data, options);
  assertEquals(tf.memory().numTensors, before);
  // Everything but the timings.
  const timeless = (r: unknown) => JSON.parse(JSON.stringify(r, (k, v) => (k === "seconds" ? undefined : v)));
  assertEquals(timeless(async), timeless(sync));
  tf.dispose([w, b]);
});

Deno.test("autoAttackAsync() waits for a component that returns a promise; autoAttack() refuses it, naming the twin", async () => {
  const { f, w, b } = linearClassifier(10, 78);
  const x = randomImages(2, 79), y = predicted(f, x);
  const later = {
    name: "later",
    run: (model: Classifier, xs: tf.Tensor4D, ys: tf.Tensor1D) => pgdAsync(model, xs, ys, { steps: 2 }),
  };
  const result = await autoAttackAsync(f, x, y, { attacks: [later] });
  assertEquals(result.perAttack.map((p) => p.attack), ["later"]);
  result.x.dispose();
  const before = tf.memory().numTensors;
  assertThrows(
    () => autoAttack(f, x, y, { attacks: [later] }),
    /^Cannot run autoAttack\(\) with an asynchronous callback, which it cannot wait for: use await autoAttackAsync\(\)$/,
  );
  await new Promise((resolve) => setTimeout(resolve, 50)); // the refused promise settles, and is disposed
  assertEquals(tf.memory().numTensors, before);
  tf.dispose([x, y, w, b]);
});

Deno.test("every attack refuses images or labels that live on another backend, which TensorFlow.js would copy silently", async () => {
  const active = (await useBackend()).name;
  await useBackend("cpu");
  const x = randomImages(2, 80), y = tf.tensor1d([1, 2], "int32");
  await useBackend(active);
  const { f, w, b } = linearClassifier(10, 81);
  if (active !== "cpu") {
    const message = new RegExp(`as x lives on the cpu backend, not on ${tf.getBackend()}, the active one`);
    for (const [, sync, async] of pairs()) {
      assertThrows(() => sync(f, x, y), message);
      await assertRejects(() => async(f, x, y), message);
    }
  }
  tf.dispose([w, b]);
  await useBackend("cpu");
  tf.dispose([x, y]);
  await useBackend(active);
});

Deno.test("a ResNet18 refuses to run on another backend than the one its weights live on", async () => {
  const active = (await useBackend()).name;
  if (active === "cpu") return; // needs two backends
  await useBackend("cpu");
  const model = resnet18({ width: 2, seed: 1 });
  await useBackend(active);
  const x = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
  assertThrows(
    () => model.logits(x),
    new RegExp(
      `^Cannot run ResNet18 as its weights live on the cpu backend, not on ${tf.getBackend()}, the active one`,
    ),
  );
  x.dispose();
  await useBackend("cpu");
  model.dispose();
  await useBackend(active);
});
