import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { type Classifier, hessianVectorProduct, linearSoftmaxHessian, resnet18, tf } from "../../mod.ts";
import { normalizeRows, rowDot } from "../../lib/core.ts";
import { gaussNewton, gaussNewtonEigen, gaussNewtonRayleigh, symmetricEigen } from "../../lib/hessian/gauss_newton.ts";
import { symmetricEigenvalues } from "../../lib/hessian/lanczos.ts";
import { linearClassifier, randomImages, setup } from "../_helpers.ts";

await setup();

Deno.test("symmetricEigen() reconstructs the matrix, V diag(values) V^T = A, with orthonormal vectors", () => {
  const n = 7;
  const r = Array.from({ length: n * n }, (_, i) => Math.sin(3.7 * i + 1));
  const a = Array.from({ length: n * n }, (_, i) => r[i] + r[(i % n) * n + Math.floor(i / n)]); // symmetric
  const { values, vectors } = symmetricEigen(a, n);
  assert(values.every((v, i) => i === 0 || values[i - 1] >= v), "decreasing");
  const reference = symmetricEigenvalues(a, n).sort((p, q) => q - p);
  values.forEach((v, i) => assert(Math.abs(v - reference[i]) < 1e-10, `value ${i}: ${v} vs ${reference[i]}`));
  for (let p = 0; p < n; p++) {
    for (let q = 0; q < n; q++) {
      const rebuilt = values.reduce((s, v, k) => s + v * vectors[k][p] * vectors[k][q], 0);
      assert(Math.abs(rebuilt - a[p * n + q]) < 1e-10, `A[${p}][${q}]`);
      const gram = vectors[p].reduce((s, v, k) => s + v * vectors[q][k], 0);
      assert(Math.abs(gram - (p === q ? 1 : 0)) < 1e-12, `V^T V [${p}][${q}]`);
    }
  }
});

Deno.test("gaussNewtonEigen() on a linear softmax model gives the closed-form Hessian's eigenpairs, and rank C - 1", () => {
  // 4x4x3 images (d = 48), so that the closed-form Hessians are small.
  const w = tf.randomNormal([48, 10], 0, 0.4, "float32", 21) as tf.Tensor2D;
  const b = tf.randomNormal([10], 0, 0.3, "float32", 22) as tf.Tensor1D;
  const f: Classifier = (xs) =>
    tf.tidy(() => tf.add(tf.matMul(tf.reshape(xs, [xs.shape[0], -1]), w), b) as tf.Tensor2D);
  const x = tf.randomUniform([3, 4, 4, 3], 0, 1, "float32", 23) as tf.Tensor4D, y = tf.tensor1d([0, 4, 8], "int32");
  const factors = gaussNewton(f, x);
  const { values, vectors } = gaussNewtonEigen(factors, 10);
  const hessians = tf.tidy(() => linearSoftmaxHessian(w, b, x, y));
  const hv = tf.tidy(() => tf.matMul(hessians, vectors, false, true)); // [n, d, 10]: column j = H v_j
  const h = hessians.arraySync(), v = vectors.arraySync(), products = hv.arraySync() as number[][][];
  for (let i = 0; i < 3; i++) {
    // Every H v_j = lambda_j v_j for the closed-form H, the 10th eigenvalue is zero, and the eigenvalues
    // are the closed form's ten largest (float64 Jacobi on the 48 x 48 matrix).
    assert(Math.abs(values[i][9]) < 1e-6 * values[i][0], `rank: ${values[i]}`);
    const closedForm = symmetricEigenvalues(h[i].flat(), 48).sort((p, q) => q - p);
    values[i].forEach((l, j) => assert(Math.abs(l - closedForm[j]) < 1e-5 * values[i][0], `${l} vs ${closedForm[j]}`));
    for (let j = 0; j < 9; j++) {
      let residual = 0;
      for (let k = 0; k < 48; k++) residual += (products[i][k][j] - values[i][j] * v[i][j][k]) ** 2;
      assert(Math.sqrt(residual) < 1e-4 * values[i][0], `example ${i}, pair ${j}: residual ${Math.sqrt(residual)}`);
    }
  }
  tf.dispose([x, y, w, b, vectors, hessians, hv]);
  factors.dispose();
});

Deno.test("gaussNewtonRayleigh() equals u . Hu / u . u from the closed form and from exact Hessian-vector products", () => {
  const { f, w, b } = linearClassifier(10, 31);
  const x = randomImages(2, 32), y = tf.tensor1d([3, 6], "int32");
  const u = tf.mul(tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 33), 3) as tf.Tensor4D; // not unit
  const factors = gaussNewton(f, x);
  const measured = gaussNewtonRayleigh(factors, u);
  const closedForm = tf.tidy(() => {
    const flat = tf.reshape(u, [2, 3072, 1]) as tf.Tensor3D;
    const hu = tf.matMul(linearSoftmaxHessian(w, b, x, y), flat);
    return tf.div(tf.sum(tf.mul(flat, hu), [1, 2]), tf.sum(tf.square(flat), [1, 2])).arraySync() as number[];
  });
  const exact = tf.tidy(() => {
    const hu = hessianVectorProduct(f, x, y, u, { method: "exact" });
    return tf.div(rowDot(u, hu), rowDot(u, u)).arraySync() as number[];
  });
  for (let i = 0; i < 2; i++) {
    assert(Math.abs(measured[i] - closedForm[i]) < 1e-4 * closedForm[i], `${measured[i]} vs ${closedForm[i]}`);
    assert(Math.abs(measured[i] - exact[i]) < 1e-4 * exact[i], `${measured[i]} vs ${exact[i]}`);
  }
  tf.dispose([x, y, w, b, u]);
  factors.dispose();
});

Deno.test("gaussNewtonEigen() on a ResNet18 in eval mode: H v1 = lambda1 v1 by the exact product, and no leak", () => {
  const model = resnet18({ width: 4, seed: 5 });
  model.eval();
  const x = randomImages(2, 41), y = tf.tensor1d([1, 2], "int32");
  const warm = gaussNewton(model.logits, x); // the first call learns the class count
  warm.dispose();
  const before = tf.memory().numTensors;
  const factors = gaussNewton(model.logits, x);
  const { values, vectors } = gaussNewtonEigen(factors, 2);
  const top = tf.tidy(() => tf.reshape(tf.slice(vectors, [0, 0, 0], [-1, 1, -1]), x.shape) as tf.Tensor4D);
  const residual = tf.tidy(() => {
    const hv = hessianVectorProduct(model.logits, x, y, top, { method: "exact" });
    const lambda = tf.tensor4d(values.map((v) => v[0]), [2, 1, 1, 1]);
    const r = tf.sub(hv, tf.mul(top, lambda));
    return tf.div(tf.sqrt(rowDot(r, r)), tf.reshape(lambda, [2])).arraySync() as number[];
  });
  residual.forEach((r, i) => assert(r < 1e-3, `example ${i}: |Hv - lambda v| / lambda = ${r}`));
  values.forEach(([l1, l2]) => assert(l1 >= l2 && l2 >= 0, `${l1}, ${l2}`));
  const rayleigh = gaussNewtonRayleigh(factors, top);
  rayleigh.forEach((r, i) => assert(Math.abs(r - values[i][0]) < 1e-4 * values[i][0], `${r} vs ${values[i][0]}`));
  tf.dispose([vectors, top]);
  factors.dispose();
  assertEquals(tf.memory().numTensors, before);
  assertThrows(() => gaussNewtonEigen(warm, 11), /count must be an integer in 1\.\.10: current value is 11/);
  tf.dispose([x, y]);
  model.dispose();
});

Deno.test("gaussNewtonEigen() top vector is what power iteration on exact products converges to", () => {
  const { f, w, b } = linearClassifier(10, 51);
  const x = randomImages(2, 52), y = tf.tensor1d([5, 7], "int32");
  const factors = gaussNewton(f, x);
  const { vectors } = gaussNewtonEigen(factors);
  let u = normalizeRows(tf.randomNormal([2, 32, 32, 3], 0, 1, "float32", 53)) as tf.Tensor4D;
  for (let j = 0; j < 200; j++) {
    const next = tf.tidy(() => normalizeRows(hessianVectorProduct(f, x, y, u, { method: "exact" })));
    u.dispose();
    u = next;
  }
  const cosine = tf.tidy(() => tf.abs(rowDot(tf.reshape(vectors, u.shape), u)).arraySync() as number[]);
  cosine.forEach((c, i) => assert(c > 0.9999, `example ${i}: |cos| = ${c}`));
  tf.dispose([x, y, w, b, vectors, u]);
  factors.dispose();
});
