/**
 * Lanczos with full reorthogonalisation, for the eigenvalues of largest magnitude of one Hessian
 * (SPEC section 2), to measure the spectral gap |lambda_2 / lambda_1| that governs power iteration.
 *
 *   q_1 = v / |v|;  w = H q_j - beta_{j-1} q_{j-1};  alpha_j = q_j . w;  w -= alpha_j q_j;
 *   w -= sum_i (q_i . w) q_i (twice);  beta_j = |w|;  q_{j+1} = w / beta_j
 *
 * The eigenvalues of the tridiagonal T = tridiag(beta, alpha, beta) (the Ritz values) approximate
 * the extreme eigenvalues of H; they are found by the cyclic Jacobi method.
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import { seededRandom } from "../random.ts";
import { read, type Reading, runAsync, runSync } from "../reading.ts";

/**
 * Eigenvalues of a small symmetric matrix by cyclic Jacobi rotations.
 *
 * @param a Row-major n x n symmetric matrix (not modified).
 * @param n Size.
 * @returns The eigenvalues, unsorted.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { symmetricEigenvalues } from "./lanczos.ts";
 * const values = symmetricEigenvalues([2, 1, 1, 2], 2).sort((a, b) => a - b);
 * assert.deepStrictEqual(values.map((v) => +v.toFixed(9)), [1, 3]);
 * ```
 */
export function symmetricEigenvalues(a: Float64Array | number[], n: number): number[] {
  const m = Float64Array.from(a);
  jacobiSweeps(m, n, (off) => off < 1e-22);
  return Array.from({ length: n }, (_, i) => m[i * n + i]);
}

/**
 * Cyclic Jacobi rotations of a small symmetric matrix, in place: each rotation zeroes m[p][q], m <- G^T m G,
 * and, when `v` is given, v <- v G, so that v's columns (from the identity) become the eigenvectors. Stops
 * before a sweep once `converged(off, diagonal)` holds, off and diagonal the sums of squares of m's upper
 * off-diagonal and diagonal entries (or after 100 sweeps). The one Jacobi method of `symmetricEigenvalues`
 * and `symmetricEigen` (gauss_newton.ts).
 *
 * @param m Row-major n x n symmetric matrix, float64: diagonalised in place.
 * @param n Size.
 * @param converged The stopping rule.
 * @param v Row-major n x n matrix whose columns are rotated with m's, or none.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { jacobiSweeps } from "./lanczos.ts";
 * const m = Float64Array.from([2, 1, 1, 2]);
 * jacobiSweeps(m, 2, (off) => off < 1e-22);
 * assert.deepStrictEqual([m[0], m[3]].map((v) => +v.toFixed(9)).sort(), [1, 3]);
 * ```
 */
export function jacobiSweeps(
  m: Float64Array,
  n: number,
  converged: (off: number, diagonal: number) => boolean,
  v?: Float64Array,
): void {
  const rotate = (x: Float64Array, i: (r: number) => number, j: (r: number) => number, c: number, s: number) => {
    for (let r = 0; r < n; r++) {
      const xi = x[i(r)], xj = x[j(r)];
      x[i(r)] = c * xi - s * xj;
      x[j(r)] = s * xi + c * xj;
    }
  };
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0, diagonal = 0;
    for (let p = 0; p < n; p++) {
      diagonal += m[p * n + p] ** 2;
      for (let q = p + 1; q < n; q++) off += m[p * n + q] ** 2;
    }
    if (converged(off, diagonal)) return;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (m[q * n + q] - m[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        rotate(m, (r) => r * n + p, (r) => r * n + q, c, s); // columns p and q
        rotate(m, (r) => p * n + r, (r) => q * n + r, c, s); // rows p and q
        if (v) rotate(v, (r) => r * n + p, (r) => r * n + q, c, s);
      }
    }
  }
}

/** Options of `topEigenvalues`. */
export interface TopEigenvaluesOptions {
  /** How many eigenvalues of largest magnitude to return. @default 2 */
  m?: number;
  /** Lanczos steps (Hessian-vector products). @default 30 */
  iterations?: number;
  /** Seed of the starting vector. @default 0 */
  seed?: number;
}

/**
 * The m eigenvalues of largest magnitude of a symmetric operator v -> Hv on tensors of `shape`, each
 * product read back synchronously (Lanczos orthogonalises on the host, in float64);
 * `topEigenvaluesAsync` reads asynchronously.
 *
 * @param hvp The product; must not dispose its argument.
 * @param shape Shape of one vector (e.g. [1, 32, 32, 3] for one image).
 * @param options `m` (default 2), `iterations` (default 30), `seed` (default 0).
 * @returns `{ values }` sorted by decreasing magnitude, `ritz` (all Ritz values), and `gap` =
 *   |values[1] / values[0]|.
 * @throws {Error} If m, iterations, seed or shape is not an integer (list) in range, or m exceeds the
 *   Lanczos steps.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { topEigenvalues } from "./lanczos.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const a = tf.tensor2d([[4, 0, 0], [0, -2, 0], [0, 0, 1]]);
 * const { values, gap } = topEigenvalues((v) => tf.matMul(v, a), [1, 3], { m: 2, iterations: 3 });
 * assert.deepStrictEqual(values.map((v) => v.toFixed(3)), ["4.000", "-2.000"]);
 * assert.strictEqual(gap.toFixed(3), "0.500");
 * a.dispose();
 * ```
 */
export function topEigenvalues(
  hvp: (v: tf.Tensor) => tf.Tensor,
  shape: number[],
  options: TopEigenvaluesOptions = {},
): { values: number[]; ritz: number[]; gap: number } {
  return runSync("topEigenvalues", topEigenvaluesReading(hvp, shape, options));
}

/**
 * `topEigenvalues`, reading each product asynchronously: the way to run it on the webgpu backend.
 *
 * @param hvp The product; must not dispose its argument.
 * @param shape Shape of one vector.
 * @param options `m` (default 2), `iterations` (default 30), `seed` (default 0).
 * @returns As `topEigenvalues`.
 * @throws {Error} As `topEigenvalues`.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { topEigenvaluesAsync } from "./lanczos.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const a = tf.tensor2d([[4, 0], [0, -2]]);
 * const { values } = await topEigenvaluesAsync((v) => tf.matMul(v, a), [1, 2], { m: 2, iterations: 2 });
 * assert.deepStrictEqual(values.map((v) => v.toFixed(3)), ["4.000", "-2.000"]);
 * a.dispose();
 * ```
 */
export function topEigenvaluesAsync(
  hvp: (v: tf.Tensor) => tf.Tensor,
  shape: number[],
  options: TopEigenvaluesOptions = {},
): Promise<{ values: number[]; ritz: number[]; gap: number }> {
  return runAsync(topEigenvaluesReading(hvp, shape, options));
}

/**
 * Lanczos (`topEigenvalues`) as a reading: one read per product.
 *
 * @param hvp The product; must not dispose its argument.
 * @param shape Shape of one vector.
 * @param options `m`, `iterations`, `seed`.
 * @returns A reading of `{ values, ritz, gap }`.
 */
export function* topEigenvaluesReading(
  hvp: (v: tf.Tensor) => tf.Tensor,
  shape: number[],
  options: TopEigenvaluesOptions = {},
): Reading<{ values: number[]; ritz: number[]; gap: number }> {
  const m = options.m ?? 2, seed = options.seed ?? 0, asked = options.iterations ?? 30;
  const fail = (what: string, value: unknown): never => {
    throw new Error(`Cannot run Lanczos as ${what}: current value is ${value}`);
  };
  if (!(Array.isArray(shape) && shape.length > 0 && shape.every((n) => Number.isSafeInteger(n) && n >= 1))) {
    fail("shape must be a list of integers >= 1", JSON.stringify(shape));
  }
  if (!(Number.isSafeInteger(m) && m >= 1)) fail("m must be an integer >= 1", m);
  if (!(Number.isSafeInteger(asked) && asked >= 1)) fail("iterations must be an integer >= 1", asked);
  if (!Number.isSafeInteger(seed)) fail("seed must be an integer", seed);
  const d = shape.reduce((a, b) => a * b, 1);
  const iterations = Math.min(asked, d);
  if (m > iterations) {
    throw new Error(`Cannot find ${m} eigenvalues with ${iterations} Lanczos steps: raise iterations`);
  }
  const random = seededRandom(seed);
  const q: Float64Array[] = [];
  let v = Float64Array.from({ length: d }, () => random() - 0.5);
  const norm = (a: Float64Array) => Math.sqrt(a.reduce((s, x) => s + x * x, 0));
  const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, x, i) => s + x * b[i], 0);
  v = v.map((x) => x / norm(v));
  const alpha: number[] = [], beta: number[] = [];
  for (let j = 0; j < iterations; j++) {
    q.push(v);
    const hv = tf.tidy(() => hvp(tf.tensor(Float32Array.from(v), shape)));
    let w: Float64Array;
    try {
      w = Float64Array.from((yield* read(hv))[0]);
    } finally {
      hv.dispose();
    }
    const a = dot(v, w);
    alpha.push(a);
    for (let i = 0; i < d; i++) w[i] -= a * v[i] + (j > 0 ? beta[j - 1] * q[j - 1][i] : 0);
    for (let pass = 0; pass < 2; pass++) {
      for (const qi of q) {
        const c = dot(qi, w);
        for (let i = 0; i < d; i++) w[i] -= c * qi[i];
      }
    }
    const b = norm(w);
    if (j === iterations - 1 || b < 1e-10) break;
    beta.push(b);
    v = w.map((x) => x / b);
  }
  const n = alpha.length;
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    t[i * n + i] = alpha[i];
    if (i + 1 < n) t[i * n + i + 1] = t[(i + 1) * n + i] = beta[i];
  }
  const ritz = symmetricEigenvalues(t, n).sort((x, y) => Math.abs(y) - Math.abs(x));
  const values = ritz.slice(0, m);
  return { values, ritz, gap: values.length > 1 ? Math.abs(values[1] / values[0]) : NaN };
}
