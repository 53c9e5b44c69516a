import { assert, assertEquals, assertThrows } from "../_assert.ts";
import {
  apgd,
  apgdCheckpoints,
  apgdRun,
  apgdTargeted,
  autoAttack,
  type Classifier,
  crossEntropy,
  dlrLoss,
  fabTargeted,
  fabTargetedRun,
  lossAndGradient,
  pgd,
  projectLinfOntoHyperplane,
  square,
  squareSchedule,
  targetedDlrLoss,
  tf,
} from "../../mod.ts";
import { linearClassifier, maxAbsDiff, randomImages, setup } from "../_helpers.ts";

await setup();

Deno.test("dlrLoss() and targetedDlrLoss() equal hand-computed values on fixed logits", () => {
  const z = tf.tensor2d([[3, 1, 2, 0], [3, 1, 2, 0], [0.5, 4, 1, -2]]);
  const y = tf.tensor1d([0, 2, 1], "int32");
  // Sorted rows: (3, 2, 1, 0), (3, 2, 1, 0), (4, 1, 0.5, -2).
  // Row 1: -(3 - 2) / (3 - 1) = -0.5; row 2: -(2 - 3) / (3 - 1) = 0.5; row 3: -(4 - 1) / (4 - 0.5) = -6/7.
  const dlr = dlrLoss(z, y).arraySync();
  [-0.5, 0.5, -6 / 7].forEach((v, i) => assert(Math.abs(dlr[i] - v) < 1e-6, `DLR[${i}] = ${dlr[i]}, expected ${v}`));
  // Targeted, t = (3, 0, 3): row 1: -(3 - 0) / (3 - (1 + 0)/2) = -1.2; row 2: -(2 - 3) / 2.5 = 0.4;
  // row 3: -(4 - (-2)) / (4 - (0.5 - 2)/2) = -6 / 4.75.
  const t = tf.tensor1d([3, 0, 3], "int32");
  const tdlr = targetedDlrLoss(z, y, t).arraySync();
  [-1.2, 0.4, -6 / 4.75].forEach((v, i) => assert(Math.abs(tdlr[i] - v) < 1e-6, `DLR_t[${i}] = ${tdlr[i]}`));
  tf.dispose([z, y, t]);
});

Deno.test("apgdCheckpoints(100) is the reference sequence 0, 22, 41, 57, 70, 80, 87, 93, 99 = round(p_j N)", () => {
  const p = [0, 0.22];
  while (true) {
    const next = p[p.length - 1] + Math.max(p[p.length - 1] - p[p.length - 2] - 0.03, 0.06);
    if (next > 1) break;
    p.push(next);
  }
  const fromFormula = p.map((v) => Math.round(v * 100));
  assertEquals(fromFormula, [0, 22, 41, 57, 70, 80, 87, 93, 99]);
  assertEquals(apgdCheckpoints(100), fromFormula);
});

Deno.test("squareSchedule() halves p at the reference's query counts", () => {
  assertEquals([0, 10, 11, 50, 51, 200, 201, 4001, 6001, 8001].map((i) => squareSchedule(i, 0.8)), [
    0.8,
    0.8,
    0.4,
    0.4,
    0.2,
    0.2,
    0.1,
    0.8 / 128,
    0.8 / 256,
    0.8 / 512,
  ]);
});

/**
 * A binary linear model z = (0, w . x + b) on flattened images, with its margin g(x) = w . x + b;
 * `blocks` makes w constant in sign and size over 8x8 pixel blocks of each channel (image-like).
 */
function binaryLinear(seed: number, b: number, blocks = false) {
  const w = tf.tidy(() => {
    if (!blocks) return tf.randomNormal([3072], 0, 1, "float32", seed) as tf.Tensor1D;
    const coarse = tf.sign(tf.randomNormal([1, 4, 4, 3], 0, 1, "float32", seed)) as tf.Tensor4D;
    return tf.reshape(tf.image.resizeNearestNeighbor(coarse, [32, 32]), [3072]) as tf.Tensor1D;
  });
  const weights = tf.concat([tf.zeros([3072, 1]), tf.reshape(w, [3072, 1])], 1) as tf.Tensor2D;
  const bias = tf.tensor1d([0, b]);
  const f: Classifier = (x) =>
    tf.tidy(() => tf.add(tf.matMul(tf.reshape(x, [x.shape[0], -1]), weights), bias) as tf.Tensor2D);
  const g = (x: tf.Tensor4D) => tf.tidy(() => tf.add(tf.sum(tf.mul(tf.reshape(x, [x.shape[0], -1]), w), 1), b));
  return { f, g, w, dispose: () => tf.dispose([w, weights, bias]) };
}

Deno.test("projectLinfOntoHyperplane() reaches the hyperplane with the analytic |c| / |w|_1 step away from the box", () => {
  const t = Float32Array.from({ length: 50 }, (_, i) => 0.4 + 0.004 * i);
  const w = Float32Array.from({ length: 50 }, (_, i) => Math.sin(i + 1));
  const wt = t.reduce((s, v, i) => s + v * w[i], 0);
  const b = wt + 0.3;
  const d = projectLinfOntoHyperplane(t, w, b);
  const reached = t.reduce((s, v, i) => s + (v + d[i]) * w[i], 0);
  assert(Math.abs(reached - b) < 1e-4, `w . (t + d) = ${reached}, b = ${b}`);
  const l1 = w.reduce((s, v) => s + Math.abs(v), 0);
  const dInf = Math.max(...Array.from(d, Math.abs));
  assert(Math.abs(dInf - 0.3 / l1) < 1e-6, `|d|_inf = ${dInf}, analytic ${0.3 / l1}`);
});

Deno.test("fabTargeted() on a linear binary model finds a Linf perturbation within 1% of |w.x + b| / |w|_1", () => {
  const model = binaryLinear(3, 0);
  const x = randomImages(6, 4, 0.45, 0.55);
  // Put each point at margin -0.5 (class 0) by choosing the bias per point: shift x along -sign(w) instead.
  const g0 = model.g(x).arraySync() as number[];
  const l1 = tf.tidy(() => tf.sum(tf.abs(model.w)).dataSync()[0]);
  const y = tf.tensor1d(g0.map((g) => (g > 0 ? 1 : 0)), "int32");
  const targets = tf.tensor1d(g0.map((g) => (g > 0 ? 0 : 1)), "int32");
  const r = fabTargetedRun(model.f, x, y, targets, { nIter: 100, alphaMax: 0.1, eta: 1.05, beta: 0.9 });
  for (let j = 0; j < 6; j++) {
    const analytic = Math.abs(g0[j]) / l1;
    assert(analytic < 0.45, "the test point must be away from the box");
    assert(Math.abs(r.distance[j] - analytic) <= 0.01 * analytic, `FAB ${r.distance[j]} vs analytic ${analytic}`);
  }
  const adv = fabTargeted(model.f, x, y, { eps: 1 });
  assertEquals(Array.from(tf.tidy(() => tf.argMax(model.f(adv), 1)).dataSync()), Array.from(targets.dataSync()));
  tf.dispose([x, y, targets, r.x, adv]);
  model.dispose();
});

Deno.test("apgd() with CE reaches a loss at least as high as PGD-100 at the same eps on a linear model", () => {
  const { f, w, b } = linearClassifier(10, 8);
  const x = randomImages(16, 9);
  const y = tf.tensor1d(Array.from({ length: 16 }, (_, i) => i % 10), "int32");
  const eps = 2 / 255;
  const r = apgdRun(f, x, y, crossEntropy, { eps, nIter: 100, rho: 0.75, seed: 1 });
  const xPgd = pgd(f, x, y, { eps, alpha: eps / 4, steps: 100, seed: 1 });
  const pgdLoss = tf.tidy(() => crossEntropy(f(xPgd), y).dataSync());
  for (let j = 0; j < 16; j++) {
    assert(r.lossBest[j] >= pgdLoss[j] - 1e-4, `example ${j}: ${r.lossBest[j]} < ${pgdLoss[j]}`);
  }
  assert(maxAbsDiff(r.xBest, x) <= eps + 1e-6);
  const out = apgd(f, x, y, { eps, loss: "dlr", nIter: 20 });
  assert(maxAbsDiff(out, x) <= eps + 1e-6);
  assertThrows(() => apgd(f, x, y, { eps: 0 }), /eps must be in \(0, 1\]/);
  tf.dispose([x, y, xPgd, w, b, r.xBest, r.xBestAdv, out]);
});

Deno.test("square() flips an image-like linear model where the analytic margin is below eps, with no gradient call", () => {
  const model = binaryLinear(5, 0, true);
  let gradientCalls = 0;
  // The same model, wrapped so that every backward pass through it is counted.
  const counted: Classifier = (x) =>
    tf.customGrad(
      ((xi: tf.Tensor) => {
        return {
          value: model.f(xi as tf.Tensor4D),
          gradFunc: (dy: tf.Tensor) => {
            gradientCalls++;
            const wFull = tf.concat([tf.zeros([3072, 1]), tf.reshape(model.w, [3072, 1])], 1);
            return tf.reshape(tf.matMul(dy, wFull, false, true), xi.shape);
          },
        };
      }) as unknown as Parameters<typeof tf.customGrad>[0],
    )(x) as tf.Tensor2D;
  const eps = 8 / 255;
  const l1 = tf.tidy(() => tf.sum(tf.abs(model.w)).dataSync()[0]);
  // Points at Linf distance 0.5 eps from the boundary, on the class-0 side: x = 0.5 - s sign(w).
  const x = tf.tidy(() => {
    const base = tf.fill([8, 3072], 0.5);
    const g = tf.sum(tf.mul(base, model.w), 1, true); // w . x at the centre
    const shift = tf.div(tf.add(g, 0.5 * eps * l1), l1); // then w . x - shift |w|_1 = -0.5 eps |w|_1
    return tf.reshape(tf.sub(base, tf.mul(shift, tf.sign(model.w))), [8, 32, 32, 3]) as tf.Tensor4D;
  });
  const y = tf.zeros([8], "int32") as tf.Tensor1D;
  const margins = model.g(x).arraySync() as number[];
  margins.forEach((m) => assert(Math.abs(-m / l1 - 0.5 * eps) < 1e-4, `analytic margin ${-m / l1}`));
  const adv = square(counted, x, y, { eps, nQueries: 5000, seed: 2 });
  assertEquals(gradientCalls, 0);
  const flipped = tf.tidy(() => tf.argMax(model.f(adv), 1).arraySync()) as number[];
  assertEquals(flipped, new Array(8).fill(1));
  assert(maxAbsDiff(adv, x) <= eps + 1e-6);
  // The counter does count gradients: one backward pass, one call.
  tf.dispose(Object.values(lossAndGradient(counted, x, y)));
  assertEquals(gradientCalls, 1);
  tf.dispose([x, y, adv]);
  model.dispose();
});

Deno.test("autoAttack() robust accuracy is <= each single attack's, outputs are in the ball, leaks nothing", () => {
  const { f, w, b } = linearClassifier(10, 12);
  const x = randomImages(12, 13);
  const y = tf.tidy(() => tf.argMax(f(x), 1).toInt()) as tf.Tensor1D; // all clean-correct
  const eps = 0.6 / 255;
  const before = tf.memory().numTensors;
  // Budgets shortened to keep the test to seconds; the property holds for any budget.
  const budgets = { apgdIter: 50, fabIter: 20, squareQueries: 500 };
  const result = autoAttack(f, x, y, { eps, seed: 0, budgets });
  assert(maxAbsDiff(result.x, x) <= eps + 1e-6);
  assertEquals(result.perAttack.map((a) => a.attack), ["apgd-ce", "apgd-t", "fab-t", "square"]);
  const robustUnder = (xAdv: tf.Tensor4D) => {
    const acc = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(f(xAdv), 1), y), "float32")).dataSync()[0]);
    xAdv.dispose();
    return acc;
  };
  const single = {
    "apgd-ce": robustUnder(apgd(f, x, y, { eps, nIter: budgets.apgdIter })),
    "apgd-t": robustUnder(apgdTargeted(f, x, y, { eps, nIter: budgets.apgdIter })),
    "fab-t": robustUnder(fabTargeted(f, x, y, { eps, nIter: budgets.fabIter })),
    "square": robustUnder(square(f, x, y, { eps, nQueries: budgets.squareQueries })),
  };
  for (const [attack, acc] of Object.entries(single)) {
    assert(result.robustAccuracy <= acc + 1e-9, `AutoAttack ${result.robustAccuracy} > ${attack} ${acc}`);
  }
  assert(
    result.robustAccuracy > 0 && result.robustAccuracy < 1,
    `eps should leave some points: ${result.robustAccuracy}`,
  );
  assert(Math.abs(robustUnder(tf.clone(result.x)) - result.robustAccuracy) < 1e-6);
  result.x.dispose();
  assertEquals(tf.memory().numTensors, before);
  const fast = autoAttack(f, x, y, { eps, version: "fast", budgets });
  assertEquals(fast.perAttack.map((a) => a.attack), ["apgd-ce", "apgd-t"]);
  fast.x.dispose();
  tf.dispose([x, y, w, b]);
});

Deno.test("autoAttack() refuses a randomised model", () => {
  const { f, w, b } = linearClassifier(10, 14);
  let calls = 0;
  const noisy: Classifier = (x) => tf.tidy(() => tf.add(f(x), calls++ % 2 === 0 ? 0 : 1e-3) as tf.Tensor2D);
  const x = randomImages(4, 15), y = tf.tensor1d([0, 1, 2, 3], "int32");
  assertThrows(() => autoAttack(noisy, x, y), /model is not deterministic/);
  tf.dispose([x, y, w, b]);
});
