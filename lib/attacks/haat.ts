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
 * Cost of one attack step, in passes of the model (`haatCost`; a backward pass costs about two
 * forward ones):
 *
 * | Hessian-vector product        | forward passes | backward passes | backward of a backward |
 * | ----------------------------- | -------------- | --------------- | ---------------------- |
 * | "fd", difference "forward"    | 1 + k          | 1 + k           | 0                      |
 * | "fd", difference "central"    | 1 + 2k         | 1 + 2k          | 0                      |
 * | "exact"                       | 1 + 2k         | 1 + 2k          | k                      |
 *
 * The power iteration of step t starts from its own seed, `deriveSeed(seed, t)` (the seed itself at
 * t = 0, a hash of (seed, t) after), so that no two steps, nor two calls with nearby seeds, share a
 * start.
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import { checkEps, checkInputs, type Classifier, lossAndGradient, rowDot } from "../core.ts";
import { changedShare, hessianVectorProduct, type HvpMethod } from "../hessian/hvp.ts";
import { powerIteration } from "../hessian/power_iteration.ts";
import { deriveSeed, normalSeed } from "../random.ts";
import { project } from "./project.ts";

/** Options of `haat`; defaults (`HAAT_DEFAULTS`) are SPEC section 1's, the paper's where it gives one. */
export interface HaatOptions {
  /** Linf radius, [0,1] pixel scale. @default 8/255 */
  eps?: number;
  /** Attack steps. @default 10 */
  steps?: number;
  /** Power-iteration steps (Hessian-vector products) per attack step. @default 5 */
  k?: number;
  /** Finite-difference step, absolute. @default 1e-6 (the paper's) */
  xi?: number;
  /** Weight of the first-order step r1. @default 1/4 */
  w1?: number;
  /** Weight of the second-order step r2. @default 1/4 */
  w2?: number;
  /** Finite difference: "forward" (the paper's) or "central". @default "forward" */
  difference?: "forward" | "central";
  /** "fd" (finite differences) or "exact" (double backpropagation) Hessian-vector products. @default "fd" */
  hvp?: "fd" | "exact";
  /** Scale of r2; see the module doc. @default "cube" */
  secondOrderScale?: "cube" | "sqrtd" | "l2ball";
  /** Seed of the power-iteration starts (step t draws with `deriveSeed(seed, t)`). @default 0 */
  seed?: number;
}

/**
 * HAAT's defaults (SPEC section 1), the one copy that training, evaluation and the command line use.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { HAAT_DEFAULTS } from "./haat.ts";
 * assert.strictEqual(HAAT_DEFAULTS.k, 5);
 * assert.strictEqual(HAAT_DEFAULTS.xi, 1e-6);
 * ```
 */
export const HAAT_DEFAULTS: Readonly<Required<HaatOptions>> = Object.freeze({
  eps: 8 / 255,
  steps: 10,
  k: 5,
  xi: 1e-6,
  w1: 1 / 4,
  w2: 1 / 4,
  difference: "forward",
  hvp: "fd",
  secondOrderScale: "cube",
  seed: 0,
});

/** Every HAAT option, filled in and checked (`resolveHaatOptions`): what a report or a run records. */
export type HaatSettings = Required<HaatOptions>;

/**
 * The names of HAAT's options, in `HAAT_DEFAULTS`' order.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { HAAT_OPTION_NAMES } from "./haat.ts";
 * assert.ok(HAAT_OPTION_NAMES.includes("w2"));
 * ```
 */
export const HAAT_OPTION_NAMES: readonly (keyof HaatOptions)[] = Object.freeze(
  Object.keys(HAAT_DEFAULTS) as (keyof HaatOptions)[],
);

/**
 * The Hessian-vector product method (`hessianVectorProduct`'s `method`, SPEC section 8) that HAAT's
 * `hvp` and `difference` (SPEC section 1) name: "exact" for `hvp: "exact"`, else the difference. The one
 * place where the two vocabularies meet.
 *
 * @param options `hvp` and `difference`.
 * @returns "forward", "central" or "exact".
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { hvpMethod } from "./haat.ts";
 * assert.strictEqual(hvpMethod({ hvp: "fd", difference: "central" }), "central");
 * assert.strictEqual(hvpMethod({ hvp: "exact", difference: "forward" }), "exact");
 * ```
 */
export function hvpMethod(options: Pick<HaatSettings, "hvp" | "difference">): HvpMethod {
  return options.hvp === "exact" ? "exact" : options.difference;
}

/**
 * The HAAT options in which two settings differ, each as `name first, not second` (options absent from
 * both are skipped; one absent from only one side counts as differing).
 *
 * @param first Settings (e.g. a saved run's or a progress file's).
 * @param second Settings to hold against them (e.g. this run's).
 * @returns One entry per differing option, in `HAAT_OPTION_NAMES`' order; empty if none.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { haatDifferences } from "./haat.ts";
 * assert.deepStrictEqual(haatDifferences({ k: 5, w2: 0.5 }, { k: 5, w2: 0.25 }), ["w2 0.5, not 0.25"]);
 * ```
 */
export function haatDifferences(first: HaatOptions, second: HaatOptions): string[] {
  return HAAT_OPTION_NAMES.filter((name) => first[name] !== second[name])
    .map((name) => `${name} ${first[name]}, not ${second[name]}`);
}

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
  /** Passes of the model the attack ran, as `haatCost` counts them. */
  passes: HaatCost;
}

/** Passes of the model, as in the module doc's table. */
export interface HaatCost {
  forward: number;
  backward: number;
  /** Backward passes of a backward pass (the exact product's J v). */
  backwardOfBackward: number;
}

/**
 * The passes of the model that one HAAT attack step runs (the module doc's table), times `steps`.
 *
 * @param options `k`, `hvp`, `difference`, `steps` (defaults `HAAT_DEFAULTS`).
 * @returns Forward, backward and backward-of-backward passes.
 * @throws {Error} As `resolveHaatOptions`, for an option out of range.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { haatCost } from "./haat.ts";
 * assert.deepStrictEqual(haatCost({ k: 5, steps: 1 }), { forward: 6, backward: 6, backwardOfBackward: 0 });
 * ```
 */
export function haatCost(options: HaatOptions = {}): HaatCost {
  const o = resolveHaatOptions(options); // a cost of k = 1.5 or -1 passes would be no cost at all
  const perProduct = o.hvp === "exact"
    ? { forward: 2, backward: 2, backwardOfBackward: 1 }
    : o.difference === "central"
    ? { forward: 2, backward: 2, backwardOfBackward: 0 }
    : { forward: 1, backward: 1, backwardOfBackward: 0 };
  return {
    forward: o.steps * (1 + o.k * perProduct.forward),
    backward: o.steps * (1 + o.k * perProduct.backward),
    backwardOfBackward: o.steps * o.k * perProduct.backwardOfBackward,
  };
}

/**
 * `HAAT_DEFAULTS` overridden by `options`, checked: throws on the first bad value. The one check of
 * HAAT's options: training's config, evaluation and the command line all call it, so each bad option has
 * one message. An option given as `undefined` is bad, not the default.
 *
 * @param options HAAT's options.
 * @returns Every option, filled in.
 * @throws {Error} `Cannot run HAAT as <option> must be ...: current value is ...`.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { resolveHaatOptions } from "./haat.ts";
 * assert.strictEqual(resolveHaatOptions({ k: 2 }).k, 2);
 * ```
 */
export function resolveHaatOptions(options: HaatOptions = {}): HaatSettings {
  const o = { ...HAAT_DEFAULTS, ...options };
  checkEps("HAAT", o.eps);
  const fail = (name: string, rule: string, value: unknown) => {
    throw new Error(`Cannot run HAAT as ${name} must be ${rule}: current value is ${value}`);
  };
  if (!Number.isInteger(o.steps) || o.steps < 0) fail("steps", "an integer >= 0", o.steps);
  if (!Number.isInteger(o.k) || o.k < 1) fail("k", "an integer >= 1", o.k);
  if (typeof o.xi !== "number" || !(o.xi > 0 && o.xi < Infinity)) fail("xi", "> 0", o.xi);
  if (typeof o.w1 !== "number" || !(o.w1 >= 0 && o.w1 < Infinity)) fail("w1", "a number >= 0", o.w1);
  if (typeof o.w2 !== "number" || !(o.w2 >= 0 && o.w2 < Infinity)) fail("w2", "a number >= 0", o.w2);
  if (!["forward", "central"].includes(o.difference)) fail("difference", "forward or central", o.difference);
  if (!["fd", "exact"].includes(o.hvp)) fail("hvp", "fd or exact", o.hvp);
  if (!["cube", "sqrtd", "l2ball"].includes(o.secondOrderScale)) {
    fail("secondOrderScale", "cube, sqrtd or l2ball", o.secondOrderScale);
  }
  if (!Number.isInteger(o.seed)) fail("seed", "an integer", o.seed);
  return o;
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

function run(
  f: Classifier,
  x0: tf.Tensor4D,
  y: tf.Tensor1D,
  options: HaatOptions,
  diagnose: boolean,
): { x: tf.Tensor4D; diagnostics: HaatDiagnostics } {
  const o = resolveHaatOptions(options);
  checkInputs("HAAT", f, x0, y);
  const diagnostics: HaatDiagnostics = {
    rayleigh: [],
    stepDiff: [],
    alignment: [],
    changedShare: [],
    passes: { forward: 0, backward: 0, backwardOfBackward: 0 },
  };
  if (x0.shape[0] === 0) return { x: tf.clone(x0), diagnostics };
  // On a throw (the model's, say), tf.tidy disposes every tensor made here.
  const xAdv = tf.tidy(() => {
    const method = hvpMethod(o);
    const perStep = haatCost({ ...o, steps: 1 });
    let x = tf.clone(x0);
    for (let t = 0; t < o.steps; t++) {
      const g = tf.tidy(() => lossAndGradient(f, x, y).grad);
      const changed: number[][] = [];
      const hvp = (v: tf.Tensor) => {
        if (diagnose) {
          const share = changedShare(x, v as tf.Tensor4D, o.xi);
          changed.push(Array.from(share.dataSync()));
          share.dispose();
        }
        return hessianVectorProduct(f, x, y, v as tf.Tensor4D, { method, xi: o.xi, grad: g });
      };
      const start = tf.randomNormal(x.shape, 0, 1, "float32", normalSeed(deriveSeed(o.seed, t)));
      const power = powerIteration(hvp, start, { iterations: o.k, record: diagnose });
      const next = haatStep(x, x0, g, power.vector as tf.Tensor4D, o);
      tf.dispose([g, start, power.vector, x]);
      x = next;
      diagnostics.passes.forward += perStep.forward;
      diagnostics.passes.backward += perStep.backward;
      diagnostics.passes.backwardOfBackward += perStep.backwardOfBackward;
      if (diagnose) {
        diagnostics.rayleigh.push(power.record.rayleigh);
        diagnostics.stepDiff.push(power.record.stepDiff);
        diagnostics.alignment.push(power.record.alignment);
        diagnostics.changedShare.push(changed);
      }
    }
    return x;
  });
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
  return run(f, x, y, options, false).x;
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
  return run(f, x, y, options, true);
}
