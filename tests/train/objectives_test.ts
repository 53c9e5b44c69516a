import { assert, assertEquals } from "../_assert.ts";
import { evaluate, loadCifar10, OBJECTIVES, reportTable, resnet18, tf, train } from "../../mod.ts";
import { klDivergence } from "../../lib/losses.ts";
import { sgd } from "../../lib/train/sgd.ts";
import { sgdStep } from "../../lib/train/train.ts";
import { OBJECTIVE_TABLE, trainingImages } from "../../lib/train/objectives.ts";
import { tradesAttack } from "../../lib/attacks/trades.ts";
import { fgsmRs } from "../../lib/attacks/fgsm_rs.ts";
import { haat, lossAndGradient, pgd, project } from "../../mod.ts";
import { randomStart } from "../../lib/attacks/project.ts";
import { HAS_SHARED_DATA, linearClassifier, maxAbsDiff, randomImages, setup, SHARED_DATA } from "../_helpers.ts";

await setup();

const ATTACK = {
  eps: 8 / 255,
  alpha: 2 / 255,
  steps: 3,
  haat: { k: 2, xi: 1e-3, w1: 1 / 4, w2: 1 / 4, difference: "forward" as const },
};

Deno.test("klDivergence() equals the hand value KL((1/2, 1/2) || (3/4, 1/4)) = ln(4/3) / 2, and is 0 on equal inputs", () => {
  const p = tf.tensor2d([[0, 0], [1, 2]]);
  const q = tf.tensor2d([[Math.log(3), 0], [1, 2]]);
  const kl = klDivergence(p, q).arraySync();
  assert(Math.abs(kl[0] - Math.log(4 / 3) / 2) < 1e-6, `KL = ${kl[0]}`);
  assert(Math.abs(kl[1]) < 1e-6);
  tf.dispose([p, q]);
});

Deno.test("trainingImages() of every objective stays in B(x, eps) and [0,1], whole or in chunks", () => {
  const { f, w, b } = linearClassifier(10, 5);
  const x = randomImages(6, 9);
  const y = tf.tensor1d([0, 1, 2, 3, 4, 5], "int32");
  const before = tf.memory().numTensors;
  for (const objective of OBJECTIVES) {
    for (const chunk of [0, 4]) {
      const xTrain = trainingImages(objective, f, x, y, ATTACK, 1, chunk);
      assertEquals(xTrain.shape, x.shape);
      assert(maxAbsDiff(xTrain, x) <= ATTACK.eps + 1e-6, `${objective} left the ball`);
      const [lo, hi] = [tf.min(xTrain), tf.max(xTrain)].map((t) => {
        const v = t.dataSync()[0];
        t.dispose();
        return v;
      });
      assert(lo >= 0 && hi <= 1, `${objective} left [0,1]`);
      if (objective === "standard") assertEquals(maxAbsDiff(xTrain, x), 0);
      else assert(maxAbsDiff(xTrain, x) > 0, `${objective} did not move`);
      tf.dispose(xTrain);
    }
  }
  assertEquals(tf.memory().numTensors, before, "trainingImages() leaks tensors");
  tf.dispose([x, y, w, b]);
});

Deno.test("tradesAttack() raises KL(f(x) || f(x')) well above its random start's", () => {
  const { f, w, b } = linearClassifier(10, 6);
  const x = randomImages(8, 11, 0.2, 0.8);
  const klOf = (xAdv: tf.Tensor4D) => tf.tidy(() => tf.mean(klDivergence(f(x), f(xAdv))).dataSync()[0]);
  const start = tradesAttack(f, x, { eps: 8 / 255, alpha: 2 / 255, steps: 0, seed: 1 });
  const attacked = tradesAttack(f, x, { eps: 8 / 255, alpha: 2 / 255, steps: 10, seed: 1 });
  assert(klOf(attacked) > 100 * klOf(start), `KL ${klOf(start)} -> ${klOf(attacked)}`);
  assert(maxAbsDiff(attacked, x) <= 8 / 255 + 1e-6);
  tf.dispose([x, start, attacked, w, b]);
});

Deno.test("sgdStep() with TRADES lowers CE(f(x)) + 6 KL(f(x) || f(x')) on a fixed batch", () => {
  const model = resnet18({ width: 4, seed: 2 });
  model.train();
  const optimiser = sgd(model.trainableVariables);
  const x = randomImages(8, 3), y = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], "int32");
  const xAdv = tf.tidy(() => tf.clipByValue(tf.add(x, tf.randomUniform(x.shape, -0.03, 0.03, "float32", 4)), 0, 1));
  const losses = [];
  for (let i = 0; i < 5; i++) {
    const { loss, finite } = sgdStep(model, optimiser, xAdv as tf.Tensor4D, y, 0.05, 4, {
      name: "trades",
      xClean: x,
      beta: 6,
    });
    assert(finite);
    losses.push(loss);
  }
  assert(losses[4] < losses[0], `TRADES loss ${losses}`);
  tf.dispose([x, y, xAdv]);
  model.dispose();
  optimiser.dispose();
});

Deno.test({
  name: "train() with the haat objective runs on real images, and evaluate() reports HAAT accuracy <= clean",
  ignore: !HAS_SHARED_DATA,
  fn: async () => {
    const summary = await train({
      objective: "haat",
      dataDir: SHARED_DATA,
      trainSize: 192,
      valSize: 64,
      epochs: 1,
      batchSize: 64,
      width: 4,
      attackSteps: 2,
      haat: {
        k: 2,
        xi: 1e-3,
        w1: 1 / 4,
        w2: 1 / 4,
        difference: "forward",
        hvp: "fd",
        secondOrderScale: "cube",
        warmStart: false,
        warmK: 1,
      },
      valPgdSteps: 2,
      logEvery: 0,
    });
    assert(Number.isFinite(summary.epochs[0].loss));
    const test = await loadCifar10(SHARED_DATA, "test", { limit: 32 });
    const report = evaluate(summary.model.logits, test, { pgdSteps: 3, haat: { steps: 3, k: 2, xi: 1e-3 } });
    assert(report.haat !== undefined && report.haat.accuracy <= report.clean);
    assert(reportTable(report).includes("HAAT-3 (k = 2"));
    summary.model.dispose();
  },
});

Deno.test("OBJECTIVE_TABLE: trainingImages() of each objective is its attack's output, and fgsmRs() is the formula", () => {
  const { f, w, b } = linearClassifier(10, 6);
  const x = randomImages(4, 11);
  const y = tf.tensor1d([1, 2, 3, 4], "int32");
  const expected: Record<string, tf.Tensor4D | null> = {
    standard: null,
    pgd: pgd(f, x, y, { eps: ATTACK.eps, alpha: ATTACK.alpha, steps: ATTACK.steps, seed: 3 }),
    haat: haat(f, x, y, { ...ATTACK.haat, eps: ATTACK.eps, steps: ATTACK.steps, seed: 3 }),
    trades: tradesAttack(f, x, { eps: ATTACK.eps, alpha: ATTACK.alpha, steps: ATTACK.steps, seed: 3 }),
    "fgsm-rs": fgsmRs(f, x, y, { eps: ATTACK.eps, seed: 3 }),
  };
  assertEquals(Object.keys(OBJECTIVE_TABLE).sort(), [...OBJECTIVES].sort());
  for (const objective of OBJECTIVES) {
    const images = trainingImages(objective, f, x, y, ATTACK, 3);
    assertEquals(maxAbsDiff(images, expected[objective] ?? x), 0, objective);
    images.dispose();
  }
  // FGSM-RS by hand: x_s = the uniform start, x' = Proj(x_s + 1.25 eps sign(g(x_s))).
  const byHand = tf.tidy(() => {
    const start = randomStart(x, ATTACK.eps, "linf", 3);
    const { grad } = lossAndGradient(f, start, y);
    return project(tf.add(start, tf.mul(tf.sign(grad), 1.25 * ATTACK.eps)) as tf.Tensor4D, x, ATTACK.eps);
  });
  assertEquals(maxAbsDiff(byHand, expected["fgsm-rs"]!), 0);
  assert(maxAbsDiff(expected["fgsm-rs"]!, x) <= ATTACK.eps + 1e-6);
  assert(maxAbsDiff(expected["fgsm-rs"]!, x) > ATTACK.eps / 2, "FGSM-RS did not move");
  tf.dispose([x, y, w, b, byHand, ...Object.values(expected).filter((t) => t !== null) as tf.Tensor4D[]]);
});
