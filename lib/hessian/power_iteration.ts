/**
 * Power iteration for the dominant eigenvector of a Hessian (SPEC section 1, HAAT step 2), batched:
 * axis 0 indexes independent problems (one per example), each normalised on its own.
 *
 *   u_0 = v / |v|_2;  for j = 1..k:  h_j = H u_{j-1};  rho_j = u_{j-1} . h_j;  u_j = h_j / |h_j|_2
 *
 * |u_j - u_1*| shrinks like |lambda_2 / lambda_1|^j (the paper's convergence claim, section 3).
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import { normalizeRows, rowDot } from "../core.ts";

/** What power iteration recorded, per step j (outer index) and example (inner index). */
export interface PowerRecord {
  /** Rayleigh quotient u_{j-1} . H u_{j-1}: the eigenvalue estimate. */
  rayleigh: number[][];
  /** |u_j - u_{j-1}|_2: the paper's Figure 5 quantity (near 2 once converged if lambda_1 < 0). */
  stepDiff: number[][];
  /** |u_j . u_{j-1}|: 1 once converged, whatever the sign of lambda_1. */
  alignment: number[][];
}

/** Options of `powerIteration`. */
export interface PowerIterationOptions {
  /** Number of Hessian-vector products k. @default 5 (the paper's) */
  iterations?: number;
  /** Record rho_j, |u_j - u_{j-1}| and alignment (one read-back per step). @default true */
  record?: boolean;
}

/**
 * Runs k steps of power iteration with a given product v -> Hv.
 *
 * @param hvp The Hessian-vector product, batched along axis 0; must not dispose its argument.
 * @param v0 Starting vectors (need not be normalised).
 * @param options `iterations` (default 5), `record` (default true).
 * @returns `{ vector: u_k, eigenvalue: rho_k per example, record }`; the caller disposes `vector`.
 * @throws {Error} If iterations is not an integer >= 1.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { powerIteration } from "./power_iteration.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const a = tf.tensor2d([[3, 0], [0, 1]]);
 * const { vector, eigenvalue } = powerIteration((v) => tf.matMul(v, a), tf.tensor2d([[1, 1]]), { iterations: 30 });
 * assert.strictEqual(eigenvalue[0].toFixed(3), "3.000");
 * tf.dispose([a, vector]);
 * ```
 */
export function powerIteration(
  hvp: (v: tf.Tensor) => tf.Tensor,
  v0: tf.Tensor,
  options: PowerIterationOptions = {},
): { vector: tf.Tensor; eigenvalue: number[]; record: PowerRecord } {
  const k = options.iterations ?? 5, record = options.record ?? true;
  if (!Number.isInteger(k) || k < 1) {
    throw new Error(`Cannot run power iteration as iterations must be an integer >= 1: current value is ${k}`);
  }
  if (typeof record !== "boolean") {
    throw new Error(`Cannot run power iteration as record must be true or false: current value is ${record}`);
  }
  const rec: PowerRecord = { rayleigh: [], stepDiff: [], alignment: [] };
  let u = normalizeRows(v0);
  let eigenvalue: number[] = [];
  for (let j = 0; j < k; j++) {
    let step: tf.Tensor[];
    try {
      step = tf.tidy(() => {
        const h = hvp(u);
        const next = normalizeRows(h);
        const d = tf.sub(next, u);
        return [next, rowDot(u, h), tf.sqrt(rowDot(d, d)), tf.abs(rowDot(next, u))];
      });
    } catch (e) {
      u.dispose();
      throw e;
    }
    const [next, rho, diff, align] = step;
    if (record || j === k - 1) {
      eigenvalue = Array.from(rho.dataSync());
      if (record) {
        rec.rayleigh.push(eigenvalue);
        rec.stepDiff.push(Array.from(diff.dataSync()));
        rec.alignment.push(Array.from(align.dataSync()));
      }
    }
    tf.dispose([u, rho, diff, align]);
    u = next;
  }
  return { vector: u, eigenvalue, record: rec };
}
