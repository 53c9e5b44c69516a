import { assert, assertEquals, assertThrows } from "../_assert.ts";
import {
  accuracy,
  autoAttack,
  type Classifier,
  evaluate,
  HAAT_DEFAULTS,
  loadCifar10,
  reportTable,
  resnet18,
  robustAccuracy,
  tf,
  toTensors,
} from "../../mod.ts";
import { robustPredictions } from "../../lib/eval/accuracy.ts";
import { HAS_SHARED_DATA, linearClassifier, randomImages, setup, SHARED_DATA, syntheticDataset } from "../_helpers.ts";

await setup();

Deno.test({
  name:
    "evaluate() per-class rows add up to its totals, and its AutoAttack section equals autoAttack() on the same images",
  ignore: !HAS_SHARED_DATA,
  fn: async () => {
    const model = resnet18({ width: 4, seed: 3 });
    model.eval();
    const test = await loadCifar10(SHARED_DATA, "test", { limit: 24 });
    const budgets = { apgdSteps: 10, fabSteps: 5, squareSteps: 50 };
    const report = evaluate(model.logits, test, {
      pgdSteps: 3,
      autoattack: { version: "standard", n: 24, budgets },
      // Row 0 is checked against the clean accuracy and the 8/255 row's place in the table; a 4/255 row, checked by
      // nothing, cost another 100 APGD-CE steps on 24 images (most of this test's time with the 8/255 row).
      sweep: { eps: [0, 8 / 255], n: 24 },
    });
    assertEquals(report.perClass.reduce((s, c) => s + c.n, 0), 24);
    const cleanFromClasses = report.perClass.reduce((s, c) => s + c.clean * c.n, 0) / 24;
    const pgdFromClasses = report.perClass.reduce((s, c) => s + c.pgd * c.n, 0) / 24;
    assert(Math.abs(cleanFromClasses - report.clean) < 1e-9);
    assert(Math.abs(pgdFromClasses - report.pgd) < 1e-9);
    assertEquals(report.sweep!.rows[0], { eps: 0, pgd: report.clean, apgdCe: report.clean });
    const { x, y } = toTensors(test);
    const direct = autoAttack(model.logits, x, y, { budgets });
    assertEquals(report.autoattack!.clean, report.clean);
    assertEquals(report.autoattack!.robust, direct.robustAccuracy);
    assertEquals(
      report.autoattack!.perAttack.map((p) => p.robustAccuracy),
      direct.perAttack.map((p) => p.robustAccuracy),
    );
    // Per image: the points autoAttack() left robust, each of them right clean.
    assertEquals(report.autoattack!.perImage, direct.robust.map((r) => (r ? "1" : "0")).join(""));
    assert([...report.autoattack!.perImage!].every((r, i) => r === "0" || report.perImage!.clean[i] === "1"));
    const table = reportTable(report);
    assert(table.includes("AutoAttack standard (n = 24, shortened budgets"));
    assert(table.includes("| 8/255 |") && table.includes("| airplane |"));
    tf.dispose([x, y, direct.x]);
    model.dispose();
  },
});

Deno.test("accuracy() and robustAccuracy() refuse a batchSize that is not an integer >= 1, and leak nothing", () => {
  const { f, w, b } = linearClassifier(10, 5);
  const x = randomImages(3, 6);
  const y = tf.tensor1d([1, 2, 3], "int32");
  accuracy(f, x, y); // warm-up (class count)
  const before = tf.memory().numTensors;
  for (const batchSize of [0, -5, 1.5, NaN, Infinity]) {
    const message = new RegExp(`batchSize must be an integer >= 1: current value is ${batchSize}`);
    assertThrows(() => accuracy(f, x, y, { batchSize }), message);
    assertThrows(() => robustAccuracy(f, x, y, (xb) => xb.clone(), { name: "copy", eps: 0.1, batchSize }), message);
    assertThrows(() => robustPredictions(f, x, y, (xb) => xb.clone(), { name: "copy", eps: 0.1, batchSize }), message);
  }
  assertEquals(tf.memory().numTensors, before);
  // A batch of one image, and one larger than the images, give the same accuracy as the default.
  assertEquals(accuracy(f, x, y, { batchSize: 1 }), accuracy(f, x, y));
  assertEquals(accuracy(f, x, y, { batchSize: 1000 }), accuracy(f, x, y));
  tf.dispose([w, b, x, y]);
});

Deno.test("robustPredictions() counts a point that is wrong clean as not robust, even if the attack makes it right", () => {
  // Logits = the two pixels of a 1x1x2 image; label 0 is right where pixel 0 is larger.
  const f: Classifier = (x) => tf.tidy(() => tf.reshape(x, [x.shape[0], 2]) as tf.Tensor2D);
  const x = tf.tensor4d([0.6, 0.5, 0.5, 0.52, 0.9, 0.1], [3, 1, 1, 2]);
  const y = tf.tensor1d([0, 0, 0], "int32"); // example 1 is wrong clean
  // An "attack" that helps: +eps on pixel 0 makes every example right.
  const eps = 0.05;
  const helpful = (xb: tf.Tensor4D) => tf.add(xb, tf.tensor4d([eps, 0], [1, 1, 1, 2])) as tf.Tensor4D;
  const { clean, robust } = robustPredictions(f, x, y, helpful, { name: "help", eps });
  assertEquals(clean, [true, false, true]);
  assertEquals(robust, [true, false, true]);
  tf.dispose([x, y]);
});

Deno.test("evaluate() refuses an empty dataset, n = 0 and a bad option before running the model, and leaks nothing", () => {
  let calls = 0;
  const { f: linear, w, b } = linearClassifier(10, 3);
  const f: Classifier = (x) => (calls++, linear(x));
  const data = syntheticDataset(4);
  const before = tf.memory().numTensors;
  assertThrows(() => evaluate(f, { ...data, size: 0 }), /Cannot evaluate an empty dataset: it has 0 images/);
  assertThrows(() => evaluate(f, data, { n: 0 }), /n must be an integer >= 1: current value is 0/);
  assertThrows(
    () => evaluate(f, data, { sweep: { eps: [2 / 255, 3] } }),
    /every sweep eps must be in \[0, 1\]: current value is 3/,
  );
  assertThrows(() => evaluate(f, data, { haat: { k: 0 } }), /Cannot run HAAT as k must be an integer >= 1/);
  assertThrows(
    () => evaluate(f, data, { autoattack: { version: "rand" as "fast" } }),
    /version must be standard or fast/,
  );
  assertThrows(() => evaluate(f, data, { autoattack: { n: 0 } }), /autoattack n must be an integer >= 1/);
  assertEquals(calls, 0);
  assertEquals(tf.memory().numTensors, before);
  tf.dispose([w, b]);
});

Deno.test("evaluate() with HAAT, AutoAttack and a sweep leaks no tensor, and labels HAAT with HAAT_DEFAULTS", () => {
  const { f, w, b } = linearClassifier(10, 4);
  const data = syntheticDataset(6);
  evaluate(f, data, { pgdSteps: 1, batchSize: 4 }); // warm-up (class count, kernels)
  const before = tf.memory().numTensors;
  const report = evaluate(f, data, {
    pgdSteps: 2,
    batchSize: 4,
    haat: { steps: 1 },
    autoattack: { version: "fast", n: 6, budgets: { apgdSteps: 3 } },
    sweep: { eps: [0, 2 / 255], n: 6 },
  });
  assertEquals(tf.memory().numTensors, before);
  assertEquals(report.haat!.k, HAAT_DEFAULTS.k);
  assertEquals(report.haat!.xi, HAAT_DEFAULTS.xi);
  // Every HAAT option is recorded, resolved: eps the report's, seed the evaluation's.
  const { accuracy: _accuracy, ...settings } = report.haat!;
  assertEquals(settings, { ...HAAT_DEFAULTS, steps: 1, eps: report.eps, seed: report.seed! });
  assertEquals(report.perClass.reduce((s, c) => s + c.n, 0), 6);
  // Per-image outcomes: one per image, counting to the accuracies, robust only where right clean.
  const { clean, pgd, haat } = report.perImage!;
  for (const outcomes of [clean, pgd, haat!]) assert(/^[01]{6}$/.test(outcomes), `per-image outcomes ${outcomes}`);
  const ones = (o: string) => [...o].filter((c) => c === "1").length;
  assertEquals(ones(clean) / 6, report.clean);
  assertEquals(ones(pgd) / 6, report.pgd);
  assertEquals(ones(haat!) / 6, report.haat!.accuracy);
  assert(
    [...pgd].every((c, i) => c === "0" || clean[i] === "1") &&
      [...haat!].every((c, i) => c === "0" || clean[i] === "1"),
  );
  tf.dispose([w, b]);
});

Deno.test("accuracy() and robustAccuracy() never run the model on more images than batchSize, the first call included", () => {
  // The first metric call on a classifier learns its class count (numClasses): once from all of x, which
  // for 1,000 validation images at width 64 overflowed the wasm heap and aborted a training run.
  const sizes: number[] = [];
  const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 4);
  const f = (x: tf.Tensor4D) => {
    sizes.push(x.shape[0]);
    return tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
  };
  const x = tf.randomUniform([9, 32, 32, 3], 0, 1, "float32", 5) as tf.Tensor4D;
  const y = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7, 8], "int32");
  accuracy(f, x, y, { batchSize: 4 });
  assertEquals(sizes, [1, 4, 4, 1]);
  sizes.length = 0;
  const g = (xx: tf.Tensor4D) => f(xx);
  robustAccuracy(g, x, y, (xb) => tf.clone(xb), { name: "identity", eps: 8 / 255, batchSize: 3 });
  assert(sizes.every((n) => n <= 3) && sizes[0] === 1, `model called on ${sizes}`);
  tf.dispose([w, x, y]);
});

Deno.test("evaluate() refuses a sweep with no eps", () => {
  const { f, w, b } = linearClassifier(10, 66);
  assertThrows(
    () => evaluate(f, syntheticDataset(2), { sweep: { eps: [] } }),
    /Cannot evaluate as sweep\.eps must list at least one eps: current value is \[\]/,
  );
  tf.dispose([w, b]);
});
