import { assert, assertEquals, assertThrows } from "../_assert.ts";
import {
  accuracy,
  apgd,
  apgdTargeted,
  autoAttack,
  crossEntropy,
  fabTargeted,
  fgsm,
  haat,
  pgd,
  project,
  square,
  tf,
} from "../../mod.ts";
import { assertInBall } from "../../lib/attacks/project.ts";
import { type Classifier, l2Norms } from "../../lib/core.ts";
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

Deno.test("pgd() lowers the accuracy of a random linear model on labels that are its own clean predictions", () => {
  const { f, w, b } = linearClassifier(10, 5);
  const x = randomImages(64, 6);
  const clean = tf.tidy(() => tf.argMax(f(x), 1)) as tf.Tensor1D; // labels = clean predictions: clean accuracy 1
  const xa = pgd(f, x, clean, { eps: 2 / 255, steps: 5 });
  assertEquals(accuracy(f, x, clean), 1);
  const robust = accuracy(f, xa, clean);
  assert(robust < 0.9, `a linear model with random weights is not robust at eps 2/255: ${robust}`);
  tf.dispose([x, clean, xa, w, b]);
});

Deno.test("pgd() with restarts keeps, per example, a fooling restart or one of loss >= the first restart's", () => {
  const { f, w, b } = linearClassifier(10, 15);
  const x = randomImages(48, 16);
  const y = tf.tidy(() => tf.argMax(f(x), 1)) as tf.Tensor1D;
  // Small eps and 2 steps: some points are fooled, others not, and restarts reach different losses.
  const options = { eps: 0.5 / 255, alpha: 0.25 / 255, steps: 2, seed: 3 };
  const one = pgd(f, x, y, options), three = pgd(f, x, y, { ...options, restarts: 3 });
  const measure = (xa: tf.Tensor4D) =>
    tf.tidy(() => {
      const logits = f(xa);
      return {
        loss: Array.from(crossEntropy(logits, y).dataSync()),
        fooled: Array.from(tf.notEqual(tf.argMax(logits, 1), y).dataSync(), Boolean),
      };
    });
  const a = measure(one), c = measure(three);
  const fooledOne = a.fooled.filter(Boolean).length, fooledThree = c.fooled.filter(Boolean).length;
  assert(fooledOne > 0 && fooledOne < 48, `the case must mix fooled and robust points: ${fooledOne}`);
  let higher = 0;
  for (let j = 0; j < 48; j++) {
    assert(c.fooled[j] || !a.fooled[j], `example ${j}: restart 0 fooled, the restarts' result does not`);
    if (!c.fooled[j]) {
      assert(c.loss[j] >= a.loss[j] - 1e-6, `example ${j}: loss ${c.loss[j]} < first restart's ${a.loss[j]}`);
      if (c.loss[j] > a.loss[j] + 1e-6) higher++;
    }
  }
  assert(fooledThree > fooledOne || higher > 0, "the extra restarts changed nothing: they are not independent");
  tf.dispose([x, y, one, three, w, b]);
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

/** Every attack with small budgets, as one list. */
function allAttacks(): [string, (f: Classifier, x: tf.Tensor4D, y: tf.Tensor1D) => tf.Tensor4D][] {
  return [
    ["fgsm", (f, x, y) => fgsm(f, x, y)],
    ["pgd", (f, x, y) => pgd(f, x, y, { steps: 2, restarts: 2 })],
    ["haat", (f, x, y) => haat(f, x, y, { steps: 1, k: 1 })],
    ["apgd", (f, x, y) => apgd(f, x, y, { steps: 3 })],
    ["apgdTargeted", (f, x, y) => apgdTargeted(f, x, y, { steps: 3, nTargetClasses: 2 })],
    ["fabTargeted", (f, x, y) => fabTargeted(f, x, y, { steps: 3, nTargetClasses: 2 })],
    ["square", (f, x, y) => square(f, x, y, { steps: 3 })],
    ["autoAttack", (f, x, y) => autoAttack(f, x, y, { budgets: { apgdSteps: 3, fabSteps: 3, squareSteps: 3 } }).x],
  ];
}

Deno.test("every attack and accuracy() reject a label outside 0..C-1 (C = the logits' width), and leak nothing", async (t) => {
  const { f, w, b } = linearClassifier(10, 31);
  const x = randomImages(2, 32);
  for (const bad of [10, -1]) {
    const y = tf.tensor1d([0, bad], "int32");
    for (const [name, run] of allAttacks()) {
      await t.step(`${name}, label ${bad}`, () => {
        const before = tf.memory().numTensors;
        assertThrows(
          () => run(f, x, y),
          new RegExp(`labels must be in 0\\.\\.9: current value is ${bad} \\(example 1\\)`),
        );
        assertEquals(tf.memory().numTensors, before);
      });
    }
    assertThrows(() => accuracy(f, x, y), /Cannot run accuracy as labels must be in 0\.\.9/);
    y.dispose();
  }
  // A 3-class model makes label 5 bad, which a 10-class model accepts.
  const three: Classifier = (xs) => tf.tidy(() => tf.slice(f(xs), [0, 0], [-1, 3]));
  const y5 = tf.tensor1d([5, 0], "int32");
  assertThrows(() => pgd(three, x, y5), /labels must be in 0\.\.2: current value is 5/);
  tf.dispose(pgd(f, x, y5));
  tf.dispose([x, y5, w, b]);
});

Deno.test("every attack leaks nothing when it throws on a bad option or input", async (t) => {
  const { f, w, b } = linearClassifier(10, 33);
  const x = randomImages(2, 34), y = tf.tensor1d([1, 2], "int32");
  const outside = tf.add(x, 1) as tf.Tensor4D, y1 = tf.tensor1d([1], "int32");
  const cases: [string, () => unknown, RegExp][] = [
    ["fgsm eps", () => fgsm(f, x, y, { eps: 2 }), /eps must be in/],
    ["pgd alpha", () => pgd(f, x, y, { alpha: 0 }), /alpha must be > 0/],
    ["pgd seed", () => pgd(f, x, y, { seed: 0.5 }), /seed must be an integer/],
    ["haat hvp", () => haat(f, x, y, { hvp: "approx" as "fd" }), /hvp must be fd or exact: current value is approx/],
    [
      "haat difference",
      () => haat(f, x, y, { difference: "back" as "forward" }),
      /difference must be forward or central/,
    ],
    ["haat w1", () => haat(f, x, y, { w1: NaN }), /w1 must be a number >= 0/],
    ["apgd steps", () => apgd(f, x, y, { steps: 0 }), /steps must be an integer >= 1/],
    ["apgd rho", () => apgd(f, x, y, { rho: 2 }), /rho must be in \[0, 1\]/],
    ["apgdTargeted x range", () => apgdTargeted(f, outside, y), /x must be in \[0,1\]/],
    ["fabTargeted eta", () => fabTargeted(f, x, y, { eta: 0.5 }), /eta is out of range/],
    ["square steps", () => square(f, x, y, { steps: -1 }), /steps must be an integer >= 0/],
    [
      "autoAttack version",
      () => autoAttack(f, x, y, { version: "rand" as "fast" }),
      /version must be standard or fast/,
    ],
    ["autoAttack y shape", () => autoAttack(f, x, y1), /y must have shape \[2\]/],
  ];
  for (const [name, run, message] of cases) {
    await t.step(name, () => {
      const before = tf.memory().numTensors;
      assertThrows(run, message);
      assertEquals(tf.memory().numTensors, before);
    });
  }
  tf.dispose([x, y, outside, y1, w, b]);
});

Deno.test("every attack returns an empty batch for 0 images and leaks nothing; accuracy() and autoAttack() refuse 0 images", async (t) => {
  const { f, w, b } = linearClassifier(10, 35);
  const x = tf.zeros([0, 32, 32, 3]) as tf.Tensor4D, y = tf.zeros([0], "int32") as tf.Tensor1D;
  for (const [name, run] of allAttacks()) {
    if (name === "autoAttack") continue;
    await t.step(name, () => {
      const before = tf.memory().numTensors;
      const out = run(f, x, y);
      assertEquals(out.shape, [0, 32, 32, 3]);
      out.dispose();
      assertEquals(tf.memory().numTensors, before);
    });
  }
  const before = tf.memory().numTensors;
  assertThrows(() => autoAttack(f, x, y), /Cannot run AutoAttack on 0 images/);
  assertThrows(() => accuracy(f, x, y), /Cannot compute accuracy of 0 images/);
  assertEquals(tf.memory().numTensors, before);
  tf.dispose([x, y, w, b]);
});

Deno.test("every attack leaks nothing when the model throws midway, and autoAttack() none when an attack fails or leaves the ball", async (t) => {
  const { f, w, b } = linearClassifier(10, 37);
  const x = randomImages(3, 38), y = tf.tensor1d([1, 2, 3], "int32");
  for (const [name, run] of allAttacks()) {
    // Call 1 learns the class count (outside any gradient), call 2 is the attack's first pass, call 3 a
    // later one where there is one.
    for (const failAt of [2, 3]) {
      await t.step(`${name}, model fails at call ${failAt}`, () => {
        let calls = 0;
        const failing: Classifier = (xs) => {
          if (++calls === failAt) throw new Error("model failed");
          return f(xs);
        };
        const before = tf.memory().numTensors;
        let threw = false;
        try {
          tf.dispose(run(failing, x, y));
        } catch (e) {
          threw = /model failed/.test((e as Error).message);
        }
        assert(threw || (failAt === 3 && calls < 3), `${name} did not pass the model's error on`);
        assertEquals(tf.memory().numTensors, before);
      });
    }
  }
  await t.step("an AutoAttack component that throws, or returns a point outside the ball", () => {
    const before = tf.memory().numTensors;
    const throwing = {
      name: "throws",
      run: () => {
        throw new Error("attack failed");
      },
    };
    assertThrows(() => autoAttack(f, x, y, { attacks: [throwing] }), /attack failed/);
    const outside = {
      name: "outside",
      run: (_f: Classifier, xs: tf.Tensor4D) => tf.clipByValue(tf.add(xs, 0.5), 0, 1) as tf.Tensor4D,
    };
    assertThrows(() => autoAttack(f, x, y, { attacks: [outside] }), /AutoAttack's outside output left B\(x0, eps\)/);
    assertEquals(tf.memory().numTensors, before);
  });
  tf.dispose([x, y, w, b]);
});

Deno.test("fgsm(), pgd() and project() refuse a norm other than linf or l2, and pgd() a randomStart that is not a boolean", () => {
  const { f, w, b } = linearClassifier(10, 61);
  const x = randomImages(2, 62);
  const y = tf.tensor1d([1, 2], "int32");
  const before = tf.memory().numTensors;
  assertThrows(
    () => fgsm(f, x, y, { norm: "l1" as "l2" }),
    /Cannot run FGSM as norm must be linf or l2: current value is l1/,
  );
  assertThrows(
    () => pgd(f, x, y, { norm: "linf2" as "l2" }),
    /Cannot run PGD as norm must be linf or l2: current value is linf2/,
  );
  assertThrows(
    () => project(x, x, 0.1, "l3" as "l2"),
    /Cannot project as norm must be linf or l2: current value is l3/,
  );
  assertThrows(() => project(x, x, -1), /Cannot project as eps must be a number >= 0: current value is -1/);
  assertThrows(() => project(x, x, NaN), /Cannot project as eps must be a number >= 0: current value is NaN/);
  assertThrows(
    () => pgd(f, x, y, { randomStart: "false" as unknown as boolean, steps: 1 }),
    /Cannot run PGD as randomStart must be true or false: current value is false/,
  );
  assertEquals(tf.memory().numTensors, before);
  tf.dispose([w, b, x, y]);
});
