import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { type Classifier, haat, haatWithDiagnostics, pgd, resnet18, tf } from "../../mod.ts";
import { linearClassifier, maxAbsDiff, randomImages, setup } from "../_helpers.ts";

await setup();

const EPS = 8 / 255;

/** Wraps a classifier to count its calls (each input gradient calls it once). */
function counted(f: Classifier): { f: Classifier; calls: () => number } {
  let n = 0;
  return { f: (x) => (n++, f(x)), calls: () => n };
}

Deno.test("haat() with w2 = 0 equals PGD without random start and alpha = w1 eps", () => {
  const model = resnet18({ width: 4, seed: 2 });
  model.eval();
  const x = randomImages(4, 1), y = tf.tensor1d([0, 1, 2, 3], "int32");
  const a = haat(model.logits, x, y, { w2: 0, steps: 3, k: 1 });
  const b = pgd(model.logits, x, y, { alpha: EPS / 4, steps: 3, randomStart: false });
  assert(maxAbsDiff(a, b) < 1e-6);
  tf.dispose([x, y, a, b]);
  model.dispose();
});

Deno.test("haat() costs exactly 1 + k input gradients per step (1 + 2k with central differences)", () => {
  const { f } = linearClassifier(10, 3);
  const x = randomImages(2, 2), y = tf.tensor1d([4, 5], "int32");
  for (const [difference, k, perStep] of [["forward", 5, 6], ["central", 5, 11], ["forward", 1, 2]] as const) {
    const c = counted(f);
    tf.dispose(haat(c.f, x, y, { steps: 3, k, difference }));
    assertEquals(c.calls(), 3 * perStep);
    const { x: out, diagnostics } = haatWithDiagnostics(f, x, y, { steps: 3, k, difference });
    assertEquals(diagnostics.gradientEvaluations, 3 * perStep);
    out.dispose();
  }
  tf.dispose([x, y]);
});

Deno.test("haat() keeps every output in B(x0, eps) and [0,1] for every secondOrderScale and HVP method", () => {
  const model = resnet18({ width: 4, seed: 3 });
  model.eval();
  const x = randomImages(3, 4), y = tf.tensor1d([7, 8, 9], "int32");
  for (const secondOrderScale of ["cube", "sqrtd", "l2ball"] as const) {
    for (const hvp of ["fd", "exact"] as const) {
      const out = haat(model.logits, x, y, { steps: 2, k: 2, secondOrderScale, hvp, xi: 1e-3 });
      const [lo, hi] = [tf.min(out).dataSync()[0], tf.max(out).dataSync()[0]];
      assert(lo >= 0 && hi <= 1 && maxAbsDiff(out, x) <= EPS + 1e-6, `${secondOrderScale}/${hvp}`);
      out.dispose();
    }
  }
  tf.dispose([x, y]);
  model.dispose();
});

Deno.test("haatWithDiagnostics() records [step][power step][example], and xi = 1e-6 moves few coordinates in float32", () => {
  const { f } = linearClassifier(10, 5);
  const x = randomImages(2, 6, 0.25, 0.75), y = tf.tensor1d([0, 1], "int32");
  const { x: out, diagnostics } = haatWithDiagnostics(f, x, y, { steps: 2, k: 3 });
  assertEquals([diagnostics.rayleigh.length, diagnostics.rayleigh[0].length, diagnostics.rayleigh[0][0].length], [
    2,
    3,
    2,
  ]);
  assertEquals(diagnostics.stepDiff[1][2].length, 2);
  // |u|_2 = 1 in d = 3072: |u_i| ~ 0.018, so xi |u_i| ~ 2e-8 is below half an ulp (3e-8) of most pixels in [0.25, 0.75].
  const share = diagnostics.changedShare[0][0];
  assert(share.every((s) => s < 0.5), `shares ${share}`);
  const big = haatWithDiagnostics(f, x, y, { steps: 1, k: 1, xi: 1e-3 });
  assert(big.diagnostics.changedShare[0][0].every((s) => s > 0.99));
  tf.dispose([x, y, out, big.x]);
});

Deno.test("haat() does not leak tensors over repeated calls, and rejects bad options", () => {
  const { f } = linearClassifier(10, 7);
  const x = randomImages(2, 8), y = tf.tensor1d([2, 3], "int32");
  tf.dispose(haat(f, x, y, { steps: 1, k: 1 }));
  const before = tf.memory().numTensors;
  for (let i = 0; i < 20; i++) tf.dispose(haat(f, x, y, { steps: 2, k: 2, hvp: i % 2 ? "exact" : "fd" }));
  assertEquals(tf.memory().numTensors, before);
  assertThrows(() => haat(f, x, y, { eps: 2 }), /eps must be in \(0, 1\]: current value is 2/);
  assertThrows(() => haat(f, x, y, { k: 0 }), /k must be an integer >= 1: current value is 0/);
  assertThrows(() => haat(f, x, y, { xi: -1 }), /xi must be > 0: current value is -1/);
  assertThrows(
    () => haat(f, x, y, { secondOrderScale: "ball" as "cube" }),
    /secondOrderScale must be cube, sqrtd or l2ball/,
  );
  tf.dispose([x, y]);
});

Deno.test("haat() repeats exactly for a seed, seed 0 included (tf.randomNormal leaves seed 0 unseeded)", () => {
  const { f, w, b } = linearClassifier(10, 21);
  const x = randomImages(3, 22), y = tf.tensor1d([1, 2, 3], "int32");
  for (const seed of [0, 1]) {
    const a = haat(f, x, y, { steps: 2, k: 2, xi: 1e-3, seed });
    const c = haat(f, x, y, { steps: 2, k: 2, xi: 1e-3, seed });
    assertEquals(maxAbsDiff(a, c), 0);
    tf.dispose([a, c]);
  }
  tf.dispose([x, y, w, b]);
});
