import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { accuracy, assertInBall, fgsm, l2Norms, pgd, tf } from "../../mod.ts";
import { linearClassifier, maxAbsDiff, randomImages, setup } from "../_helpers.ts";

await setup();

const EPS = 8 / 255;

function maxL2(a: tf.Tensor4D, b: tf.Tensor4D): number {
  const t = tf.tidy(() => tf.max(l2Norms(tf.sub(a, b) as tf.Tensor4D)));
  const v = t.dataSync()[0];
  t.dispose();
  return v;
}

function range(x: tf.Tensor): [number, number] {
  const [lo, hi] = tf.tidy(() => [tf.min(x), tf.max(x)]);
  const r: [number, number] = [lo.dataSync()[0], hi.dataSync()[0]];
  tf.dispose([lo, hi]);
  return r;
}

Deno.test("fgsm() and pgd() keep every output inside B(x0, eps) and [0,1], for Linf and L2", async (t) => {
  const { f } = linearClassifier(10, 1);
  const x = randomImages(16, 2); // spans [0,1], so clipping to the box is exercised
  const y = tf.tensor1d(Array.from({ length: 16 }, (_, i) => i % 10), "int32");
  for (const norm of ["linf", "l2"] as const) {
    const eps = norm === "linf" ? EPS : 0.5;
    await t.step(norm, () => {
      const outputs = [
        fgsm(f, x, y, { eps, norm }),
        pgd(f, x, y, { eps, norm, steps: 5 }),
        pgd(f, x, y, { eps, norm, steps: 3, restarts: 3 }),
      ];
      for (const xa of outputs) {
        const [lo, hi] = range(xa);
        assert(lo >= 0 && hi <= 1, `range [${lo}, ${hi}]`);
        if (norm === "linf") assert(maxAbsDiff(xa, x) <= eps + 1e-6);
        else assert(maxL2(xa, x) <= eps + 1e-5);
      }
      tf.dispose(outputs);
    });
  }
  tf.dispose([x, y]);
});

Deno.test("fgsm() and pgd() on a two-class linear model reach the analytic worst case x0 - eps sign(w_y - w_other)", () => {
  const { f, w } = linearClassifier(2, 3);
  const x = randomImages(6, 4, 0.1, 0.9); // no coordinate is clipped by [0,1]
  const y = tf.tensor1d([0, 1, 0, 1, 1, 0], "int32");
  const expected = tf.tidy(() => {
    const diff = tf.sub(tf.slice(w, [0, 0], [-1, 1]), tf.slice(w, [0, 1], [-1, 1])); // w_0 - w_1, [3072, 1]
    const sign0 = tf.reshape(tf.sign(diff), [1, 32, 32, 3]);
    const s = tf.reshape(tf.sub(1, tf.mul(2, tf.cast(y, "float32"))), [-1, 1, 1, 1]); // +1 for y = 0, -1 for y = 1
    return tf.sub(x, tf.mul(EPS, tf.mul(s, sign0)));
  });
  const xf = fgsm(f, x, y, { eps: EPS });
  const xp = pgd(f, x, y, { eps: EPS, alpha: 2 / 255, steps: 10 });
  assert(maxAbsDiff(xf, expected) < 1e-6);
  assert(maxAbsDiff(xp, expected) < 1e-6);
  tf.dispose([x, y, expected, xf, xp]);
});

Deno.test("pgd() accuracy is not above clean accuracy, and restarts never lower the loss", () => {
  const { f } = linearClassifier(10, 5);
  const x = randomImages(64, 6);
  const clean = tf.tidy(() => tf.argMax(f(x), 1)) as tf.Tensor1D; // labels = clean predictions: clean accuracy 1
  const xa = pgd(f, x, clean, { eps: 2 / 255, steps: 5 });
  const robust = accuracy(f, xa, clean);
  assertEquals(accuracy(f, x, clean), 1);
  assert(robust <= 1);
  assert(robust < 1, "a linear model with random weights is not robust at eps 2/255");
  tf.dispose([x, clean, xa]);
});

Deno.test("fgsm() and pgd() do not leak: tf.memory().numTensors is the same before and after 100 calls", () => {
  const { f, w, b } = linearClassifier(10, 7);
  const x = randomImages(4, 8);
  const y = tf.tensor1d([1, 2, 3, 4], "int32");
  const before = tf.memory().numTensors;
  for (let i = 0; i < 50; i++) {
    tf.dispose(fgsm(f, x, y));
    tf.dispose(pgd(f, x, y, { steps: 2, restarts: i % 2 + 1, norm: i % 3 === 0 ? "l2" : "linf" }));
  }
  assertEquals(tf.memory().numTensors, before);
  tf.dispose([x, y, w, b]);
});

Deno.test("fgsm() and pgd() reject bad eps, alpha, steps and inputs with a clear message", () => {
  const { f } = linearClassifier(10, 9);
  const x = randomImages(2, 10);
  const y = tf.tensor1d([0, 1], "int32");
  assertThrows(() => fgsm(f, x, y, { eps: 3 }), /eps must be in \(0, 1\]: current value is 3/);
  assertThrows(() => pgd(f, x, y, { eps: 0 }), /eps must be in \(0, 1\]: current value is 0/);
  assertThrows(() => pgd(f, x, y, { alpha: -1 }), /alpha must be > 0/);
  assertThrows(() => pgd(f, x, y, { steps: 1.5 }), /steps must be an integer/);
  const bad = tf.mul(x, 2) as tf.Tensor4D;
  assertThrows(() => pgd(f, bad, y), /x must be in \[0,1\]/);
  const y3 = tf.tensor1d([0, 1, 2], "int32");
  assertThrows(() => fgsm(f, x, y3), /y must have shape \[2\]/);
  const yf = tf.tensor1d([0, 1], "float32");
  assertThrows(() => fgsm(f, x, yf as tf.Tensor1D), /y must be int32/);
  tf.dispose([x, y, bad, y3, yf]);
});

Deno.test("assertInBall() passes an image in the ball and names the attack when one leaves it, or is NaN", () => {
  const x0 = tf.fill([1, 32, 32, 3], 0.5) as tf.Tensor4D;
  const inside = tf.add(x0, 8 / 255) as tf.Tensor4D;
  const outside = tf.add(x0, 9 / 255) as tf.Tensor4D;
  const nan = tf.mul(x0, NaN) as tf.Tensor4D;
  assertInBall("PGD", inside, x0, 8 / 255);
  assertThrows(() => assertInBall("PGD", outside, x0, 8 / 255), /PGD output left B\(x0, eps\) or \[0,1\]/);
  assertThrows(() => assertInBall("FAB-T", nan, x0, 8 / 255), /FAB-T output left/);
  tf.dispose([x0, inside, outside, nan]);
});
