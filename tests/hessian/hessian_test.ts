import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { hessianVectorProduct, linearSoftmaxHessian, powerIteration, resnet18, tf, topEigenvalues } from "../../mod.ts";
import { normalizeRows } from "../../lib/core.ts";
import { jacobianVectorProduct } from "../../lib/hessian/hvp.ts";
import { symmetricEigenvalues } from "../../lib/hessian/lanczos.ts";
import { linearClassifier, maxAbsDiff, randomImages, setup } from "../_helpers.ts";

await setup();

/** |a - b|_2 / |b|_2 over the whole tensors. */
function relativeError(a: tf.Tensor, b: tf.Tensor): number {
  const t = tf.tidy(() => tf.div(tf.norm(tf.sub(a, b)), tf.norm(b)));
  const v = t.dataSync()[0];
  t.dispose();
  return v;
}

/** A symmetric d x d matrix with eigenvalues `values`, from a seeded random orthogonal basis. */
function matrixWithSpectrum(values: number[], seed: number): { a: tf.Tensor2D; top: tf.Tensor2D } {
  return tf.tidy(() => {
    const d = values.length;
    // Gram-Schmidt on a random matrix gives an orthonormal basis q (rows).
    const r = tf.randomNormal([d, d], 0, 1, "float32", seed).arraySync() as number[][];
    const q: number[][] = [];
    for (const row of r) {
      const w = row.slice();
      for (const p of q) {
        const c = p.reduce((s, x, i) => s + x * w[i], 0);
        for (let i = 0; i < d; i++) w[i] -= c * p[i];
      }
      const n = Math.hypot(...w);
      q.push(w.map((x) => x / n));
    }
    const qt = tf.tensor2d(q); // rows are eigenvectors
    const a = tf.matMul(tf.matMul(qt, tf.diag(tf.tensor1d(values)), true, false), qt) as tf.Tensor2D;
    return { a, top: tf.slice(qt, [0, 0], [1, -1]) as tf.Tensor2D };
  });
}

Deno.test("hessianVectorProduct() on a linear softmax model agrees with W (diag(p) - p p^T) W^T", async (t) => {
  const { f, w, b } = linearClassifier(10, 11);
  const x = randomImages(3, 12), y = tf.tensor1d([1, 5, 9], "int32");
  const v = normalizeRows(tf.randomNormal([3, 32, 32, 3], 0, 1, "float32", 13)) as tf.Tensor4D;
  const truth = tf.tidy(() =>
    tf.reshape(tf.matMul(linearSoftmaxHessian(w, b, x, y), tf.reshape(v, [3, 3072, 1])), v.shape)
  );
  const error = (method: "forward" | "central" | "exact", xi: number) => {
    const hv = hessianVectorProduct(f, x, y, v, { method, xi });
    const e = relativeError(hv, truth);
    hv.dispose();
    return e;
  };
  await t.step("exact (double VJP): relative error < 1e-4", () => assert(error("exact", 0) < 1e-4));
  await t.step("central, xi = 1e-1: relative error < 1e-2", () => assert(error("central", 1e-1) < 1e-2));
  await t.step("forward, xi = 1e-2: relative error < 5e-2, and central at the same xi is 3x better", () => {
    const forward = error("forward", 1e-2), central = error("central", 1e-2);
    assert(forward < 5e-2, `measured ${forward}`);
    assert(central * 3 < forward, `central ${central} vs forward ${forward}`);
  });
  await t.step("forward, xi = 1e-6 (the paper's) does NOT agree in float32: relative error > 1", () => {
    const e = error("forward", 1e-6);
    assert(e > 1, `measured ${e}`);
  });
  tf.dispose([x, y, v, truth, w, b]);
});

Deno.test("hessianVectorProduct() exact on ResNet18 (eval): J v matches logit differences, and H is symmetric and PSD", () => {
  const model = resnet18({ width: 4, seed: 1 });
  model.eval();
  const x = randomImages(2, 3), y = tf.tensor1d([1, 2], "int32");
  const v = normalizeRows(tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 4)) as tf.Tensor4D;
  const u = normalizeRows(tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 5)) as tf.Tensor4D;
  const { jv, logits } = jacobianVectorProduct(model.logits, x, v);
  assert(maxAbsDiff(logits, model.logits(x)) < 1e-5, "the logits of J v's own forward pass are f(x)");
  const fd = tf.tidy(() => {
    const xi = 1e-3;
    return tf.div(
      tf.sub(
        model.logits(tf.add(x, tf.mul(v, xi)) as tf.Tensor4D),
        model.logits(tf.sub(x, tf.mul(v, xi)) as tf.Tensor4D),
      ),
      2 * xi,
    );
  });
  assert(relativeError(jv, fd) < 0.05, `J v vs central logit difference: ${relativeError(jv, fd)}`);
  const hv = hessianVectorProduct(model.logits, x, y, v, { method: "exact" });
  const hu = hessianVectorProduct(model.logits, x, y, u, { method: "exact" });
  const [uhv, vhu, vhv] = [tf.sum(tf.mul(u, hv)), tf.sum(tf.mul(v, hu)), tf.sum(tf.mul(v, hv))].map((s) =>
    s.dataSync()[0]
  );
  assert(Math.abs(uhv - vhu) <= 1e-4 * Math.max(Math.abs(uhv), 1e-8), `u.Hv ${uhv} vs v.Hu ${vhu}`);
  assert(vhv >= 0, `v.Hv = ${vhv}`);
  tf.dispose([x, y, v, u, jv, logits, fd, hv, hu]);
  model.dispose();
});

Deno.test("hessianVectorProduct() rejects an unknown method, a v of another shape and a non-positive xi, leaking nothing", () => {
  const { f, w, b } = linearClassifier(10, 1);
  const x = randomImages(2, 1), y = tf.tensor1d([0, 1], "int32"), v3 = randomImages(3, 2);
  const before = tf.memory().numTensors;
  assertThrows(() => hessianVectorProduct(f, x, y, v3), /v must have x's shape/);
  assertThrows(() => hessianVectorProduct(f, x, y, x, { xi: 0 }), /xi must be > 0: current value is 0/);
  assertThrows(
    () => hessianVectorProduct(f, x, y, x, { method: "fd" as "forward" }),
    /method must be forward, central or exact: current value is fd/,
  );
  assertEquals(tf.memory().numTensors, before);
  tf.dispose([x, y, v3, w, b]);
});

Deno.test("hessianVectorProduct() (every method), powerIteration() and topEigenvalues() do not leak tensors", async (t) => {
  const { f, w, b } = linearClassifier(10, 2);
  const x = randomImages(2, 3), y = tf.tensor1d([0, 1], "int32");
  const v = normalizeRows(randomImages(2, 4)) as tf.Tensor4D;
  for (const method of ["forward", "central", "exact"] as const) {
    await t.step(method, () => {
      tf.dispose(hessianVectorProduct(f, x, y, v, { method, xi: 1e-3 })); // warm-up (class count)
      const before = tf.memory().numTensors;
      for (let i = 0; i < 5; i++) tf.dispose(hessianVectorProduct(f, x, y, v, { method, xi: 1e-3 }));
      assertEquals(tf.memory().numTensors, before);
    });
  }
  await t.step("powerIteration and topEigenvalues, with a failing product too", () => {
    const hvp = (u: tf.Tensor) => hessianVectorProduct(f, x, y, u as tf.Tensor4D, { method: "exact" });
    const before = tf.memory().numTensors;
    powerIteration(hvp, v, { iterations: 3 }).vector.dispose();
    topEigenvalues(
      (u) =>
        hessianVectorProduct(f, tf.slice(x, [0, 0, 0, 0], [1, -1, -1, -1]), tf.slice(y, [0], [1]), u as tf.Tensor4D, {
          method: "exact",
        }),
      [1, 32, 32, 3],
      { m: 2, iterations: 4 },
    );
    let calls = 0;
    const failing = (u: tf.Tensor) => {
      if (++calls === 2) throw new Error("product failed");
      return hvp(u);
    };
    assertThrows(() => powerIteration(failing, v, { iterations: 3 }), /product failed/);
    assertEquals(tf.memory().numTensors, before);
  });
  tf.dispose([x, y, v, w, b]);
});

Deno.test("powerIteration() record: a negative top eigenvalue gives stepDiff ~ 2 with alignment ~ 1, unlike an unconverged u", () => {
  const { a } = matrixWithSpectrum([-5, 1, 0.5, 0.2], 51);
  const v0 = tf.randomNormal([1, 4], 0, 1, "float32", 52);
  const { vector, record, eigenvalue } = powerIteration((v) => tf.matMul(v, a), v0, { iterations: 30 });
  assert(Math.abs(eigenvalue[0] + 5) < 1e-3, `Rayleigh quotient ${eigenvalue}`);
  assert(Math.abs(record.stepDiff[29][0] - 2) < 1e-3, `stepDiff ${record.stepDiff[29][0]}`);
  assert(record.alignment[29][0] > 0.9999, `alignment ${record.alignment[29][0]}`);
  // Unconverged, with eigenvalues of both signs and similar size: u swings (stepDiff large) but is not aligned.
  const { a: slow } = matrixWithSpectrum([-1, 0.95, 0.9, 0.85], 53);
  const early = powerIteration((v) => tf.matMul(v, slow), v0, { iterations: 2 });
  assert(early.record.stepDiff[1][0] > 0.5, `stepDiff ${early.record.stepDiff[1][0]}`);
  assert(early.record.alignment[1][0] < 0.9, `alignment ${early.record.alignment[1][0]}`);
  tf.dispose([a, slow, v0, vector, early.vector]);
});

Deno.test("powerIteration() converges to the top eigenvector (|cos| > 0.999) when the gap is large", () => {
  const { a, top } = matrixWithSpectrum([10, 2, 1, 0.5, -1, 0.1], 21);
  const v0 = tf.randomNormal([1, 6], 0, 1, "float32", 22);
  const { vector, eigenvalue, record } = powerIteration((v) => tf.matMul(v, a), v0, { iterations: 12 });
  const cos = Math.abs(tf.sum(tf.mul(vector, top)).dataSync()[0]);
  assert(cos > 0.999, `|cos| = ${cos}`);
  assert(Math.abs(eigenvalue[0] - 10) < 1e-3);
  assertEquals(record.rayleigh.length, 12);
  tf.dispose([a, top, v0, vector]);
});

Deno.test("powerIteration() error shrinks at the rate (lambda2/lambda1)^k within 5%", () => {
  const ratio = 0.7;
  const { a, top } = matrixWithSpectrum([1, ratio, 0.3, 0.2, 0.1], 31);
  const v0 = tf.randomNormal([1, 5], 0, 1, "float32", 32);
  const sines: number[] = [];
  for (const k of [10, 20]) {
    const { vector } = powerIteration((v) => tf.matMul(v, a), v0, { iterations: k, record: false });
    const cos = Math.abs(tf.sum(tf.mul(vector, top)).dataSync()[0]);
    sines.push(Math.sqrt(Math.max(1 - cos * cos, 0)));
    vector.dispose();
  }
  const measured = (sines[1] / sines[0]) ** (1 / 10);
  assert(Math.abs(measured - ratio) < 0.05 * ratio, `measured rate ${measured}, expected ${ratio}`);
  tf.dispose([a, top, v0]);
});

Deno.test("topEigenvalues() matches a known spectrum, and symmetricEigenvalues() a 2x2 by hand", () => {
  const values = [5, -4, 3, 2, 1, 0.5, 0.25, 0.1];
  const { a } = matrixWithSpectrum(values, 41);
  const found = topEigenvalues((v) => tf.matMul(v, a), [1, 8], { m: 3, iterations: 8 });
  for (const [i, expected] of [5, -4, 3].entries()) {
    assert(Math.abs(found.values[i] - expected) < 1e-3, `${found.values}`);
  }
  assert(Math.abs(found.gap - 0.8) < 1e-3);
  const two = symmetricEigenvalues([2, 1, 1, 2], 2).sort((p, q) => p - q);
  assert(Math.abs(two[0] - 1) < 1e-12 && Math.abs(two[1] - 3) < 1e-12);
  a.dispose();
});

Deno.test("topEigenvalues() refuses m, iterations, seed or a shape that are not integers in range", () => {
  const a = tf.tensor2d([[4, 0, 0], [0, -2, 0], [0, 0, 1]]);
  const hvp = (v: tf.Tensor) => tf.matMul(v, a);
  for (const m of [0, -1, 1.5]) {
    assertThrows(
      () => topEigenvalues(hvp, [1, 3], { m }),
      new RegExp(`Cannot run Lanczos as m must be an integer >= 1: current value is ${m}`),
    );
  }
  for (const iterations of [0, 1.5, NaN]) {
    assertThrows(() => topEigenvalues(hvp, [1, 3], { iterations }), /iterations must be an integer >= 1/);
  }
  assertThrows(() => topEigenvalues(hvp, [1, 3], { seed: 0.5 }), /seed must be an integer: current value is 0\.5/);
  assertThrows(() => topEigenvalues(hvp, [0, 3]), /shape must be a list of integers >= 1: current value is \[0,3\]/);
  assertEquals(topEigenvalues(hvp, [1, 3], { m: 1, iterations: 3 }).values.map((v) => Math.round(v)), [4]);
  const v0 = tf.tensor2d([[1, 1, 1]]);
  assertThrows(
    () => powerIteration(hvp, v0, { record: "no" as unknown as boolean }),
    /Cannot run power iteration as record must be true or false: current value is no/,
  );
  v0.dispose();
  a.dispose();
});
