/**
 * HAAT (Algorithm 1 of the paper, as SPEC section 1 reads it). From x_0 = x0, at each step t:
 *
 *   1. g = grad_x L(x_t)
 *   2. power iteration (`powerIteration`) for the dominant eigenvector u of H = hess_x L(x_t):
 *        u ~ N(0, I), u <- u / |u|_2; k times: Hu ~ (g(x_t + xi u) - g) / xi; u <- Hu / |Hu|_2
 *   3. orient: u <- sign(u . g) u
 *   4. r1 = eps sign(g);  r2 = eps u / |u|_inf          ("cube", default)
 *                         r2 = eps sqrt(d) u / |u|_inf  ("sqrtd": the paper's line 8 literally)
 *                         r2 = sqrt(d) eps u            ("l2ball": the paper's text, |u|_2 = 1)
 *   5. x_{t+1} = clip01(Proj_{B(x0, eps)}(x_t + w1 r1 + w2 r2))
 *
 * With w1 = 1/4 the first-order step is PGD's alpha = 2/255 at eps = 8/255; with w2 = 0 HAAT is PGD
 * without random start.
 *
 * The power iteration of step t starts from its own seed, `deriveSeed(seed, t)` (the seed itself at
 * t = 0, a hash of (seed, t) after), so that no two steps, nor two calls with nearby seeds, share a
 * start. With `warmStart` (not the paper's) step t > 0 starts instead from step t - 1's vector and runs
 * `warmK` power steps, except for an example whose vector is zero, which starts from step t's own draw
 * (`warmStartVector`). Options, defaults and the cost in passes of the model: `haat_options.ts`.
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import { checkInputsReading, type Classifier, lossAndGradient, rowDot, whereRows } from "../core.ts";
import { changedShare, hessianVectorProduct } from "../hessian/hvp.ts";
import { powerIterationTensors } from "../hessian/power_iteration.ts";
import { read, type Reading, runAsync, runSync, type Values } from "../reading.ts";
import { deriveSeed, normalSeed } from "../random.ts";
import { project } from "./project.ts";
import {
  type HaatCost,
  haatCost,
  type HaatOptions,
  hvpMethod,
  powerSteps,
  resolveHaatOptions,
} from "./haat_options.ts";

export {
  HAAT_DEFAULTS,
  HAAT_OPTION_NAMES,
  type HaatCost,
  haatCost,
  haatDifferences,
  type HaatOptions,
  type HaatSettings,
  hvpMethod,
  powerSteps,
  resolveHaatOptions,
} from "./haat_options.ts";

/** Per-example diagnostics, indexed [attack step][power step][example], and the passes that ran. */
export interface HaatDiagnostics {
  /** Rayleigh quotient u_{j-1} . H u_{j-1} at each power step. */
  rayleigh: number[][][];
  /** |u_j - u_{j-1}|_2 at each power step (the paper's Figure 5 at the last attack step). */
  stepDiff: number[][][];
  /**
   * |u_j . u_{j-1}| at each power step: 1 once converged whatever the sign of the top eigenvalue
   * (where stepDiff is then near 2 for a negative one, and also near 2 when u has not converged).
   */
  alignment: number[][][];
  /** Share of coordinates that x_t + xi u_{j-1} changes in float32, at each power step. */
  changedShare: number[][][];
  /**
   * |u_t . u_{t-1}| of the final vectors of consecutive attack steps, [attack step][example] (from the
   * second step: one row fewer than the steps): how far the top eigenvector moves along the path.
   */
  stepCosine: number[][];
  /** Passes of the model the attack ran, as `haatCost` counts them. */
  passes: HaatCost;
}

/**
 * Step 3: u <- sign(u . g) u per example (u and -u are both eigenvectors; take the one that ascends;
 * where u . g = 0, u is kept).
 *
 * @param u Directions, [n, ...].
 * @param g Gradients, like u.
 * @returns The oriented directions, with u . g >= 0; the caller disposes.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { orient } from "./haat.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const u = tf.tensor2d([[1, 0], [1, 0]]), g = tf.tensor2d([[-2, 1], [3, 1]]);
 * const oriented = Array.from(orient(u, g).dataSync(), (v) => v + 0); // + 0 turns -0 into 0
 * assert.deepStrictEqual(oriented, [-1, 0, 1, 0]);
 * ```
 */
export function orient<T extends tf.Tensor>(u: T, g: T): T {
  return tf.tidy(() => {
    const sign = tf.sign(rowDot(u, g));
    const s = tf.reshape(tf.where(tf.equal(sign, 0), tf.onesLike(sign), sign), [
      u.shape[0],
      ...u.shape.slice(1).map(() => 1),
    ]);
    return tf.mul(u, s) as T;
  });
}

/**
 * Step 4's second-order step r2 of an oriented direction u, per example, by `scale`:
 * "cube" r2 = eps u / |u|_inf (|r2|_inf = eps); "sqrtd" r2 = eps sqrt(d) u / |u|_inf
 * (|r2|_inf = eps sqrt(d)); "l2ball" r2 = sqrt(d) eps u / |u|_2 (|r2|_2 = sqrt(d) eps).
 *
 * @param u Oriented directions, NHWC.
 * @param eps Linf radius.
 * @param scale The reading of the paper's line 8.
 * @returns r2; the caller disposes.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { secondOrderStep } from "./haat.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const u = tf.tensor4d([0.6, -0.8], [1, 1, 1, 2]);
 * const step = secondOrderStep(u, 0.1, "cube").dataSync();
 * assert.deepStrictEqual(Array.from(step, (v) => +v.toFixed(6)), [0.075, -0.1]);
 * ```
 */
export function secondOrderStep(
  u: tf.Tensor4D,
  eps: number,
  scale: "cube" | "sqrtd" | "l2ball",
): tf.Tensor4D {
  return tf.tidy(() => {
    const n = u.shape[0], d = u.size / n;
    if (scale === "l2ball") {
      const l2 = tf.reshape(tf.sqrt(rowDot(u, u)), [n, 1, 1, 1]);
      return tf.mul(tf.div(u, tf.add(l2, 1e-30)), eps * Math.sqrt(d)) as tf.Tensor4D;
    }
    const uInf = tf.reshape(tf.max(tf.abs(tf.reshape(u, [n, -1])), 1), [n, 1, 1, 1]);
    return tf.mul(tf.div(u, tf.add(uInf, 1e-30)), scale === "cube" ? eps : eps * Math.sqrt(d)) as tf.Tensor4D;
  });
}

/**
 * Steps 3 to 5: orient u along g, form r1 = eps sign(g) and r2, and return
 * x_{t+1} = clip01(Proj_{B(x0, eps)}(x_t + w1 r1 + w2 r2)).
 *
 * @param x Current images x_t.
 * @param x0 Clean images.
 * @param g grad_x L(x_t).
 * @param u Dominant eigenvector estimates (any sign).
 * @param options eps, w1, w2, secondOrderScale.
 * @returns x_{t+1}; the caller disposes.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { haatStep } from "./haat.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const x0 = tf.fill([1, 1, 1, 2], 0.5) as tf.Tensor4D;
 * const g = tf.tensor4d([1, -1], [1, 1, 1, 2]), u = tf.tensor4d([-1, 0], [1, 1, 1, 2]);
 * const opts = { eps: 0.1, w1: 0.5, w2: 0.5, secondOrderScale: "cube" as const };
 * // u is flipped to (1, 0); x0 + 0.5 (0.1, -0.1) + 0.5 (0.1, 0) = (0.6, 0.45).
 * assert.deepStrictEqual(Array.from(haatStep(x0, x0, g, u, opts).dataSync(), (v) => +v.toFixed(6)), [0.6, 0.45]);
 * ```
 */
export function haatStep(
  x: tf.Tensor4D,
  x0: tf.Tensor4D,
  g: tf.Tensor4D,
  u: tf.Tensor4D,
  options: { eps: number; w1: number; w2: number; secondOrderScale: "cube" | "sqrtd" | "l2ball" },
): tf.Tensor4D {
  return tf.tidy(() => {
    const r1 = tf.mul(tf.sign(g), options.eps);
    const r2 = secondOrderStep(orient(u, g), options.eps, options.secondOrderScale);
    const stepped = tf.add(x, tf.add(tf.mul(r1, options.w1), tf.mul(r2, options.w2))) as tf.Tensor4D;
    return project(stepped, x0, options.eps, "linf");
  });
}

/**
/**
 * The start of attack step t's power iteration with `warmStart`, as a reading: step t - 1's final
 * vector u_{t-1}, except in the rows (examples) where it is zero or not finite, which take `fresh()`
 * (step t's cold start). A zero vector is a fixed point of power iteration (H 0 = 0, and normalising
 * keeps a zero row zero), and a forward-difference product does round to exactly 0 in float32 when
 * x + xi u moves the softmax less than float32 resolves and crosses no ReLU kink; a warm start from it
 * would make every later step of that example's attack a first-order (PGD) step. The check reads back
 * one number per example (|u_{t-1}|^2), and `fresh` is called only when a row needs it: a row-wise
 * select over the batch and a random draw at every step would add about 150 ms per 128 images to each
 * warm attack step (wasm + oneDNN, one thread, measured under load), the read under 10 ms.
 *
 * @param previous u_{t-1}, [n, ...].
 * @param fresh Makes step t's random start, like previous (called at most once, only if needed).
 * @returns A reading of where(|u_{t-1}|_2 > 0 and finite, u_{t-1}, fresh()), row by row; the caller
 *   disposes it.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { warmStartVector } from "./haat.ts";
 * import { runSync } from "../reading.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const previous = tf.tensor2d([[0.5, -0.5], [0, 0]]), fresh = () => tf.tensor2d([[1, 2], [3, 4]]);
 * const start = runSync("warmStartVector", warmStartVector(previous, fresh));
 * assert.deepStrictEqual(start.arraySync(), [[0.5, -0.5], [3, 4]]);
 * ```
 */
export function* warmStartVector<T extends tf.Tensor>(previous: T, fresh: () => T): Reading<T> {
  const squared = rowDot(previous, previous);
  let values: Values;
  try {
    [values] = yield* read(squared);
  } finally {
    squared.dispose();
  }
  const usable = Array.from(values, (s) => s > 0 && s < Infinity); // NaN: neither
  if (usable.every(Boolean)) return tf.clone(previous);
  return tf.tidy(() => whereRows(usable, previous, fresh()));
}

/**
 * HAAT as a reading: its reads are the input check, with `warmStart` one read of |u|^2 per example at
 * each step after the first (`warmStartVector`), and, with `diagnose`, one read of every diagnostic at
 * the end (they are kept on the device until then); the steps run on the device.
 *
 * @param f Classifier.
 * @param x0 Clean images, NHWC in [0,1].
 * @param y int32 labels.
 * @param options See `HaatOptions`.
 * @param diagnose Record the diagnostics.
 * @returns A reading of `{ x, diagnostics }` (the diagnostics' lists empty without `diagnose`).
 */
export function* haatReading(
  f: Classifier,
  x0: tf.Tensor4D,
  y: tf.Tensor1D,
  options: HaatOptions,
  diagnose: boolean,
): Reading<{ x: tf.Tensor4D; diagnostics: HaatDiagnostics }> {
  const o = resolveHaatOptions(options);
  yield* checkInputsReading("HAAT", f, x0, y);
  const diagnostics: HaatDiagnostics = {
    rayleigh: [],
    stepDiff: [],
    alignment: [],
    changedShare: [],
    stepCosine: [],
    passes: { forward: 0, backward: 0, backwardOfBackward: 0 },
  };
  if (x0.shape[0] === 0) return { x: tf.clone(x0), diagnostics };
  // With diagnose, every diagnostic stays on the device as one [n] row of `rows` until the end; `layout`
  // says which rows are which: [attack step][power step] for the power record and changed shares.
  const rows: tf.Tensor[] = [];
  const layout = { rayleigh: [] as number[][], stepDiff: [] as number[][], alignment: [] as number[][] };
  const changedRows: number[][] = [], cosineRows: number[] = [];
  const keep = (t: tf.Tensor) => rows.push(tf.keep(t)) - 1;
  const method = hvpMethod(o);
  const ks = powerSteps(o);
  // Each step runs in its own tf.tidy (a warm start reads between steps, and a reading cannot wait inside
  // one); what lives across steps is x, the last vector and the start, disposed here on a throw.
  let x: tf.Tensor4D = tf.clone(x0);
  let previous: tf.Tensor | undefined; // step t - 1's vector, kept only when needed
  let start: tf.Tensor | undefined;
  try {
    for (let t = 0; t < o.steps; t++) {
      const draw = () => tf.randomNormal(x.shape, 0, 1, "float32", normalSeed(deriveSeed(o.seed, t)));
      start = previous !== undefined && o.warmStart ? yield* warmStartVector(previous, draw) : draw();
      const from = start, at = x, last = previous;
      const step = tf.tidy(() => {
        const g = tf.tidy(() => lossAndGradient(f, at, y).grad);
        const changed: number[] = [];
        const hvp = (v: tf.Tensor) => {
          if (diagnose) changed.push(keep(changedShare(at, v as tf.Tensor4D, o.xi)));
          return hessianVectorProduct(f, at, y, v as tf.Tensor4D, { method, xi: o.xi, grad: g });
        };
        const power = powerIterationTensors(hvp, from, { iterations: ks[t], record: diagnose });
        power.eigenvalue.dispose();
        if (diagnose && last !== undefined) cosineRows.push(keep(tf.abs(rowDot(power.vector, last))));
        if (diagnose) {
          layout.rayleigh.push(power.record.rayleigh.map(keep));
          layout.stepDiff.push(power.record.stepDiff.map(keep));
          layout.alignment.push(power.record.alignment.map(keep));
          changedRows.push(changed);
        }
        return { next: haatStep(at, x0, g, power.vector as tf.Tensor4D, o), vector: power.vector };
      });
      tf.dispose([start, x]);
      start = undefined;
      previous?.dispose();
      x = step.next;
      previous = o.warmStart || diagnose ? step.vector : (step.vector.dispose(), undefined);
    }
  } catch (e) {
    tf.dispose([x, ...(previous ? [previous] : []), ...(start ? [start] : []), ...rows]);
    throw e;
  }
  previous?.dispose();
  diagnostics.passes = haatCost(o); // every step ran: the passes are the options' cost
  const xAdv = x;
  if (!diagnose) return { x: xAdv, diagnostics };
  const all = tf.tidy(() => tf.stack(rows));
  tf.dispose(rows);
  let values: Values;
  try {
    [values] = yield* read(all);
  } catch (e) {
    xAdv.dispose();
    throw e;
  } finally {
    all.dispose();
  }
  const n = x0.shape[0];
  const row = (r: number) => Array.from(values.subarray(r * n, (r + 1) * n));
  diagnostics.rayleigh = layout.rayleigh.map((step) => step.map(row));
  diagnostics.stepDiff = layout.stepDiff.map((step) => step.map(row));
  diagnostics.alignment = layout.alignment.map((step) => step.map(row));
  diagnostics.changedShare = changedRows.map((step) => step.map(row));
  diagnostics.stepCosine = cosineRows.map(row);
  return { x: xAdv, diagnostics };
}

/**
 * The HAAT attack (SPEC section 1), batched: one power iteration per example.
 *
 * @param f Classifier (a ResNet18 in eval mode, so that examples do not interact).
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels, in 0..C-1.
 * @param options See `HaatOptions`; defaults `HAAT_DEFAULTS`.
 * @returns Adversarial images in B(x0, eps) and [0,1] (the last iterate, whether or not it fools
 *   the model); the caller disposes.
 * @throws {Error} If an option is out of range, or x, y are malformed.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { haat } from "./haat.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7], "int32");
 * const xAdv = haat(f, x, y, { steps: 2, k: 2, xi: 1e-3 });
 * assert.ok(tf.max(tf.abs(tf.sub(xAdv, x))).dataSync()[0] <= 8 / 255 + 1e-6);
 * tf.dispose([w, x, y, xAdv]);
 * ```
 */
export function haat(f: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, options: HaatOptions = {}): tf.Tensor4D {
  return runSync("haat", haatReading(f, x, y, options, false)).x;
}

/**
 * `haat` with its per-example diagnostics: Rayleigh quotients, power-step differences and alignments
 * (from `powerIteration`), the share of coordinates that x + xi u changes in float32 (SPEC section 1),
 * and the passes of the model that ran.
 *
 * @param f Classifier.
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels.
 * @param options See `HaatOptions`.
 * @returns `{ x, diagnostics }`; the caller disposes `x`.
 * @throws {Error} As `haat`.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { haatWithDiagnostics } from "./haat.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7], "int32");
 * const { x: xAdv, diagnostics } = haatWithDiagnostics(f, x, y, { steps: 2, k: 3, xi: 1e-3 });
 * assert.strictEqual(diagnostics.rayleigh.length, 2); // one row per attack step
 * assert.strictEqual(diagnostics.rayleigh[0].length, 3); // one value per power step
 * tf.dispose([w, x, y, xAdv]);
 * ```
 */
export function haatWithDiagnostics(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  options: HaatOptions = {},
): { x: tf.Tensor4D; diagnostics: HaatDiagnostics } {
  return runSync("haatWithDiagnostics", haatReading(f, x, y, options, true));
}

/**
 * `haat`, reading its inputs' check asynchronously: the way to run HAAT on the webgpu backend.
 *
 * @param f Classifier (a ResNet18 in eval mode, so that examples do not interact).
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels, in 0..C-1.
 * @param options See `HaatOptions`; defaults `HAAT_DEFAULTS`.
 * @returns As `haat`; the caller disposes.
 * @throws {Error} As `haat`.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { haat, haatAsync } from "./haat.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7], "int32");
 * const a = haat(f, x, y, { steps: 2, k: 2, xi: 1e-3 }), b = await haatAsync(f, x, y, { steps: 2, k: 2, xi: 1e-3 });
 * assert.deepStrictEqual(await b.data(), await a.data());
 * tf.dispose([w, x, y, a, b]);
 * ```
 */
export async function haatAsync(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  options: HaatOptions = {},
): Promise<tf.Tensor4D> {
  return (await runAsync(haatReading(f, x, y, options, false))).x;
}

/**
 * `haatWithDiagnostics`, reading asynchronously (the input check, then every diagnostic in one read at
 * the end): the way to run it on the webgpu backend.
 *
 * @param f Classifier.
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels.
 * @param options See `HaatOptions`.
 * @returns `{ x, diagnostics }`; the caller disposes `x`.
 * @throws {Error} As `haat`.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { haatWithDiagnosticsAsync } from "./haat.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7], "int32");
 * const { x: xAdv, diagnostics } = await haatWithDiagnosticsAsync(f, x, y, { steps: 2, k: 3, xi: 1e-3 });
 * assert.strictEqual(diagnostics.changedShare[1].length, 3); // one value per power step
 * assert.strictEqual(diagnostics.stepCosine.length, 1); // from the second attack step
 * tf.dispose([w, x, y, xAdv]);
 * ```
 */
export function haatWithDiagnosticsAsync(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  options: HaatOptions = {},
): Promise<{ x: tf.Tensor4D; diagnostics: HaatDiagnostics }> {
  return runAsync(haatReading(f, x, y, options, true));
}
