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
import { read, type Reading, runAsync, runSync, type Values } from "../reading.ts";

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
  /** Record rho_j, |u_j - u_{j-1}| and alignment (read back with the eigenvalue, at the end). @default true */
  record?: boolean;
}

/** Power iteration's record as tensors on the device, one [n] tensor per step (`powerIterationTensors`). */
export interface PowerRecordTensors {
  rayleigh: tf.Tensor1D[];
  stepDiff: tf.Tensor1D[];
  alignment: tf.Tensor1D[];
}

/**
 * Runs k steps of power iteration with a given product v -> Hv, all on the device: nothing is read
 * back, so an attack can run it on any backend and read the record when it likes (HAAT's diagnostics
 * read theirs once, at the end of the attack).
 *
 * @param hvp The Hessian-vector product, batched along axis 0; must not dispose its argument.
 * @param v0 Starting vectors (need not be normalised).
 * @param options `iterations` (default 5), `record` (default true).
 * @returns `{ vector: u_k, eigenvalue: rho_k per example, record }` (the record's lists empty without
 *   `record`); the caller disposes every tensor.
 * @throws {Error} If iterations is not an integer >= 1, or record is not a boolean.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { powerIterationTensors } from "./power_iteration.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const a = tf.tensor2d([[3, 0], [0, 1]]);
 * const r = powerIterationTensors((v) => tf.matMul(v, a), tf.tensor2d([[1, 1]]), { iterations: 30, record: false });
 * assert.strictEqual((await r.eigenvalue.data())[0].toFixed(3), "3.000");
 * assert.strictEqual(r.record.rayleigh.length, 0);
 * tf.dispose([a, r.vector, r.eigenvalue]);
 * ```
 */
export function powerIterationTensors(
  hvp: (v: tf.Tensor) => tf.Tensor,
  v0: tf.Tensor,
  options: PowerIterationOptions = {},
): { vector: tf.Tensor; eigenvalue: tf.Tensor1D; record: PowerRecordTensors } {
  const k = options.iterations ?? 5, record = options.record ?? true;
  if (!Number.isInteger(k) || k < 1) {
    throw new Error(`Cannot run power iteration as iterations must be an integer >= 1: current value is ${k}`);
  }
  if (typeof record !== "boolean") {
    throw new Error(`Cannot run power iteration as record must be true or false: current value is ${record}`);
  }
  const rec: PowerRecordTensors = { rayleigh: [], stepDiff: [], alignment: [] };
  let u = normalizeRows(v0);
  let eigenvalue: tf.Tensor1D | undefined;
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
      tf.dispose([u, ...(eigenvalue ? [eigenvalue] : []), ...rec.rayleigh, ...rec.stepDiff, ...rec.alignment]);
      throw e;
    }
    const [next, rho, diff, align] = step as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
    if (record) {
      rec.rayleigh.push(rho), rec.stepDiff.push(diff), rec.alignment.push(align);
      eigenvalue = rho;
    } else {
      eigenvalue?.dispose();
      eigenvalue = rho;
      tf.dispose([diff, align]);
    }
    u.dispose();
    u = next;
  }
  // With a record, the last Rayleigh quotient is both the eigenvalue and the record's last row: a copy, so
  // that each may be disposed on its own.
  return { vector: u, eigenvalue: record ? tf.clone(eigenvalue!) : eigenvalue!, record: rec };
}

/**
 * Power iteration (`powerIterationTensors`) as a reading: its record and eigenvalue read back in one
 * read at the end. `powerIteration` runs it synchronously, `powerIterationAsync` asynchronously.
 *
 * @param hvp The Hessian-vector product; must not dispose its argument.
 * @param v0 Starting vectors.
 * @param options `iterations`, `record`.
 * @returns A reading of `{ vector, eigenvalue, record }` (as `powerIteration` returns them).
 */
export function* powerIterationReading(
  hvp: (v: tf.Tensor) => tf.Tensor,
  v0: tf.Tensor,
  options: PowerIterationOptions = {},
): Reading<{ vector: tf.Tensor; eigenvalue: number[]; record: PowerRecord }> {
  const { vector, eigenvalue, record } = powerIterationTensors(hvp, v0, options);
  const rows = [...record.rayleigh, ...record.stepDiff, ...record.alignment];
  const k = record.rayleigh.length;
  const all = tf.tidy(() => tf.stack([eigenvalue, ...rows]));
  tf.dispose([eigenvalue, ...rows]);
  let values: Values;
  try {
    [values] = yield* read(all);
  } catch (e) {
    vector.dispose();
    throw e;
  } finally {
    all.dispose();
  }
  const n = values.length / (1 + 3 * k);
  const row = (r: number) => Array.from(values.subarray(r * n, (r + 1) * n));
  const range = (from: number) => Array.from({ length: k }, (_, j) => row(from + j));
  return {
    vector,
    eigenvalue: row(0),
    record: { rayleigh: range(1), stepDiff: range(1 + k), alignment: range(1 + 2 * k) },
  };
}

/**
 * Runs k steps of power iteration with a given product v -> Hv, reading the eigenvalue (and the
 * record) back synchronously at the end; `powerIterationAsync` reads asynchronously.
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
  return runSync("powerIteration", powerIterationReading(hvp, v0, options));
}

/**
 * `powerIteration`, reading asynchronously: the way to run it on the webgpu backend.
 *
 * @param hvp The Hessian-vector product, batched along axis 0; must not dispose its argument.
 * @param v0 Starting vectors (need not be normalised).
 * @param options `iterations` (default 5), `record` (default true).
 * @returns As `powerIteration`; the caller disposes `vector`.
 * @throws {Error} As `powerIteration`.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { powerIterationAsync } from "./power_iteration.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const a = tf.tensor2d([[3, 0], [0, 1]]);
 * const { vector, eigenvalue, record } = await powerIterationAsync((v) => tf.matMul(v, a), tf.tensor2d([[1, 1]]));
 * assert.strictEqual(record.rayleigh.length, 5); // one row per step
 * assert.ok(eigenvalue[0] > 2.9);
 * tf.dispose([a, vector]);
 * ```
 */
export function powerIterationAsync(
  hvp: (v: tf.Tensor) => tf.Tensor,
  v0: tf.Tensor,
  options: PowerIterationOptions = {},
): Promise<{ vector: tf.Tensor; eigenvalue: number[]; record: PowerRecord }> {
  return runAsync(powerIterationReading(hvp, v0, options));
}
