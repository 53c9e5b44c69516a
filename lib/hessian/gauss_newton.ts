/**
 * Every eigenpair of the input Hessian of the cross-entropy at once, per example, through the logits'
 * Jacobian (SPEC section 2: ground truth for power iteration on a real model). With z = f(x),
 * J = dz/dx ([C, d]) and p = softmax(z), the Hessian of the exact Hessian-vector product (`hvp.ts`:
 * the whole Hessian of a ReLU network in eval mode, almost everywhere) is
 *
 *   H = J^T A J,   A = diag(p) - p p^T   (C x C, positive semi-definite, A 1 = 0)
 *
 * so H has rank at most C - 1 and does not depend on the label. Its non-zero eigenvalues are those of
 * the C x C matrix
 *
 *   B = A^{1/2} (J J^T) A^{1/2}:   B w = lambda w   =>   H v = lambda v,   v = J^T A^{1/2} w / sqrt(lambda)
 *
 * (H J^T A^{1/2} w = J^T A^{1/2} B w, and |J^T A^{1/2} w|^2 = w^T B w = lambda). J costs C backward
 * passes (one per class), after which every eigenpair, and the Rayleigh quotient
 * u.Hu / u.u = (J u)^T A (J u) / u.u of any vector, costs no pass of the model; power iteration or
 * Lanczos need one product (about 2.5 backward passes) per step, and converge only as the spectral gap
 * allows.
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import { type Classifier, numClasses } from "../core.ts";
import { jacobiSweeps } from "./lanczos.ts";

/** The factors of H = J^T A J, per example; `dispose()` frees both tensors. */
export interface GaussNewtonFactors {
  /** J = dz/dx, [n, C, d] (d = the pixels of one image). */
  jacobian: tf.Tensor3D;
  /** p = softmax(z), [n, C]. */
  probabilities: tf.Tensor2D;
  /** Frees `jacobian` and `probabilities`. */
  dispose(): void;
}

/**
 * The factors J = dz/dx and p = softmax(z) of the input Hessian H = J^T (diag(p) - p p^T) J, per
 * example: one forward and backward pass per class, J's row c = grad_x z_c.
 *
 * @param f Classifier (a ResNet18 in eval mode, so that examples do not interact).
 * @param x Images, NHWC.
 * @returns `{ jacobian, probabilities, dispose }`; the caller disposes.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { gaussNewton } from "./gauss_newton.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * // z = (2 x, 0) on a one-pixel image: J = [[2], [0]].
 * const f = (x: tf.Tensor4D) => tf.concat([tf.mul(tf.reshape(x, [1, 1]), 2), tf.zeros([1, 1])], 1) as tf.Tensor2D;
 * const factors = gaussNewton(f, tf.zeros([1, 1, 1, 1]) as tf.Tensor4D);
 * assert.deepStrictEqual(factors.jacobian.arraySync(), [[[2], [0]]]);
 * assert.deepStrictEqual(factors.probabilities.arraySync(), [[0.5, 0.5]]);
 * factors.dispose();
 * ```
 */
export function gaussNewton(f: Classifier, x: tf.Tensor4D): GaussNewtonFactors {
  const n = x.shape[0], classes = numClasses(f, x);
  const rows: tf.Tensor2D[] = [];
  try {
    for (let c = 0; c < classes; c++) {
      rows.push(tf.tidy(() => {
        const grad = tf.grad((xs: tf.Tensor) => tf.sum(tf.slice(f(xs as tf.Tensor4D), [0, c], [-1, 1])))(x);
        return tf.reshape(grad, [n, -1]) as tf.Tensor2D;
      }));
    }
    const jacobian = tf.stack(rows, 1) as tf.Tensor3D;
    const probabilities = tf.tidy(() => tf.softmax(f(x))) as tf.Tensor2D;
    return { jacobian, probabilities, dispose: () => tf.dispose([jacobian, probabilities]) };
  } finally {
    tf.dispose(rows);
  }
}

/**
 * Eigenvalues and eigenvectors of a small symmetric matrix, in float64, by cyclic Jacobi rotations
 * (`jacobiSweeps`, with the rotations accumulated): a = V diag(values) V^T.
 *
 * @param a Row-major n x n symmetric matrix (not modified).
 * @param n Size.
 * @returns `values` in decreasing order and `vectors[i]`, the unit eigenvector of `values[i]`.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { symmetricEigen } from "./gauss_newton.ts";
 * const { values, vectors } = symmetricEigen([2, 1, 1, 2], 2);
 * assert.deepStrictEqual(values.map((v) => +v.toFixed(9)), [3, 1]);
 * assert.strictEqual(Math.abs(vectors[0][0] * vectors[0][1]).toFixed(9), "0.500000000"); // (1, 1) / sqrt(2)
 * ```
 */
export function symmetricEigen(a: ArrayLike<number>, n: number): { values: number[]; vectors: number[][] } {
  const m = Float64Array.from(a);
  const v = new Float64Array(n * n); // columns: the eigenvectors
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  jacobiSweeps(m, n, (off, diagonal) => off <= 1e-30 * diagonal || off < 1e-300, v);
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => m[j * n + j] - m[i * n + i]);
  return {
    values: order.map((i) => m[i * n + i]),
    vectors: order.map((i) => Array.from({ length: n }, (_, r) => v[r * n + i])),
  };
}

/**
 * The eigenpairs of H = J^T A J, per example, from its factors (the module doc): the eigenvalues of
 * B = A^{1/2} (J J^T) A^{1/2} (float64, from J J^T in float32) and the unit eigenvectors
 * v = J^T A^{1/2} w / sqrt(lambda). H has at most C - 1 non-zero eigenvalues; a vector whose
 * eigenvalue is not above 1e-12 of the top one is returned as zeros (its direction is not defined by H).
 *
 * @param factors `gaussNewton`'s J and p.
 * @param count How many eigenpairs to return, largest first. @default 1
 * @returns `values[i][j]`, the j-th eigenvalue of example i, and `vectors` [n, count, d]; the caller
 *   disposes `vectors`.
 * @throws {Error} If count is not an integer in 1..C.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { gaussNewton, gaussNewtonEigen } from "./gauss_newton.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * // z = (2 x, 0) at x = 0: H = 2 * (1/4) * 2 = 1, with eigenvector (1).
 * const f = (x: tf.Tensor4D) => tf.concat([tf.mul(tf.reshape(x, [1, 1]), 2), tf.zeros([1, 1])], 1) as tf.Tensor2D;
 * const factors = gaussNewton(f, tf.zeros([1, 1, 1, 1]) as tf.Tensor4D);
 * const { values, vectors } = gaussNewtonEigen(factors);
 * assert.strictEqual(values[0][0].toFixed(6), "1.000000");
 * assert.strictEqual(Math.abs(vectors.dataSync()[0]).toFixed(6), "1.000000");
 * tf.dispose(vectors);
 * factors.dispose();
 * ```
 */
export function gaussNewtonEigen(
  factors: Pick<GaussNewtonFactors, "jacobian" | "probabilities">,
  count = 1,
): { values: number[][]; vectors: tf.Tensor3D } {
  const [n, classes] = factors.jacobian.shape;
  if (!(Number.isInteger(count) && count >= 1 && count <= classes)) {
    throw new Error(`Cannot find eigenpairs as count must be an integer in 1..${classes}: current value is ${count}`);
  }
  const gram = tf.tidy(() => tf.matMul(factors.jacobian, factors.jacobian, false, true).arraySync()) as number[][][];
  const probabilities = factors.probabilities.arraySync() as number[][];
  const values: number[][] = [], coefficients: number[][][] = []; // coefficients[i][j]: v_j = J^T coefficients
  for (let i = 0; i < n; i++) {
    const p = probabilities[i];
    const a = p.flatMap((pr, r) => p.map((pc, c) => (r === c ? pr : 0) - pr * pc));
    const aEigen = symmetricEigen(a, classes);
    // A^{1/2} = U diag(sqrt(max(mu, 0))) U^T (A is PSD; rounding can make its zero eigenvalue slightly negative).
    const root = (r: number, c: number) =>
      aEigen.values.reduce(
        (s, mu, k) => s + Math.sqrt(Math.max(mu, 0)) * aEigen.vectors[k][r] * aEigen.vectors[k][c],
        0,
      );
    const s = Array.from({ length: classes }, (_, r) => Array.from({ length: classes }, (_, c) => root(r, c)));
    const b = new Float64Array(classes * classes);
    for (let r = 0; r < classes; r++) {
      for (let c = 0; c < classes; c++) {
        let sum = 0;
        for (let k = 0; k < classes; k++) for (let l = 0; l < classes; l++) sum += s[r][k] * gram[i][k][l] * s[l][c];
        b[r * classes + c] = sum;
      }
    }
    const bEigen = symmetricEigen(b, classes);
    values.push(bEigen.values.slice(0, count));
    const top = Math.max(bEigen.values[0], 0);
    coefficients.push(
      bEigen.vectors.slice(0, count).map((w, j) => {
        const lambda = bEigen.values[j];
        if (!(lambda > 1e-12 * top && lambda > 0)) return new Array(classes).fill(0);
        return s.map((row) => row.reduce((sum, sk, k) => sum + sk * w[k], 0) / Math.sqrt(lambda));
      }),
    );
  }
  const vectors = tf.tidy(() => {
    const raw = tf.matMul(tf.tensor3d(coefficients, [n, count, classes]), factors.jacobian);
    // Normalise in float32 as well: J J^T in float32 leaves |v| within rounding of 1.
    return tf.div(raw, tf.add(tf.norm(raw, 2, 2, true), 1e-30)) as tf.Tensor3D;
  });
  return { values, vectors };
}

/**
 * The Rayleigh quotient of H = J^T A J, per example: u.Hu / u.u = (J u)^T A (J u) / u.u, with
 * (J u)^T A (J u) = sum_c p_c (J u)_c^2 - (sum_c p_c (J u)_c)^2. No pass of the model.
 *
 * @param factors `gaussNewton`'s J and p.
 * @param u Vectors, [n, ...] with d values each (any non-zero length).
 * @returns One quotient per example.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { gaussNewton, gaussNewtonRayleigh } from "./gauss_newton.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const f = (x: tf.Tensor4D) => tf.concat([tf.mul(tf.reshape(x, [1, 1]), 2), tf.zeros([1, 1])], 1) as tf.Tensor2D;
 * const factors = gaussNewton(f, tf.zeros([1, 1, 1, 1]) as tf.Tensor4D);
 * assert.deepStrictEqual(gaussNewtonRayleigh(factors, tf.tensor4d([3], [1, 1, 1, 1])), [1]); // H = 1
 * factors.dispose();
 * ```
 */
export function gaussNewtonRayleigh(
  factors: Pick<GaussNewtonFactors, "jacobian" | "probabilities">,
  u: tf.Tensor,
): number[] {
  return tf.tidy(() => {
    const n = u.shape[0];
    const flat = tf.reshape(u, [n, -1, 1]) as tf.Tensor3D;
    const ju = tf.reshape(tf.matMul(factors.jacobian, flat), [n, -1]); // [n, C]
    const p = factors.probabilities;
    const quadratic = tf.sub(tf.sum(tf.mul(p, tf.square(ju)), 1), tf.square(tf.sum(tf.mul(p, ju), 1)));
    return Array.from(tf.div(quadratic, tf.sum(tf.square(flat), [1, 2])).dataSync());
  });
}
