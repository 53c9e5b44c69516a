/**
 * HAAT (Algorithm 1 of the paper, as SPEC section 1 reads it). From x_0 = x0, at each step t:
 *
 *   1. g = grad_x L(x_t)
 *   2. power iteration for the dominant eigenvector u of H = hess_x L(x_t):
 *        u ~ N(0, I), u <- u / |u|_2; k times: Hu ~ (g(x_t + xi u) - g) / xi; u <- Hu / |Hu|_2
 *   3. orient: u <- sign(u . g) u
 *   4. r1 = eps sign(g);  r2 = eps u / |u|_inf          ("cube", default)
 *                         r2 = eps sqrt(d) u / |u|_inf  ("sqrtd": the paper's line 8 literally)
 *                         r2 = sqrt(d) eps u            ("l2ball": the paper's text, |u|_2 = 1)
 *   5. x_{t+1} = clip01(Proj_{B(x0, eps)}(x_t + w1 r1 + w2 r2))
 *
 * With w1 = 1/4 the first-order step is PGD's alpha = 2/255 at eps = 8/255; with w2 = 0 HAAT is PGD
 * without random start. Each step costs 1 + k input gradients; 1 + 2k with central differences,
 * which need both g(x + xi u) and g(x - xi u) at every power step.
 *
 * @module
 */
import { tf } from "../backend.ts";
import type { Classifier } from "../models/resnet18.ts";
import { changedShare, hessianVectorProduct } from "../hessian/hvp.ts";
import { normalizeRows, rowDot } from "../hessian/power_iteration.ts";
import { checkEps, checkInputs, lossAndGradient, project } from "./project.ts";
import { normalSeed } from "../random.ts";

/** Options of `haat`; defaults are SPEC section 1's (the paper's where it gives one). */
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
  /** Seed of the power-iteration starts (step t uses seed + t). @default 0 */
  seed?: number;
}

/** Per-example diagnostics, indexed [attack step][power step][example]. */
export interface HaatDiagnostics {
  /** Rayleigh quotient u_{j-1} . H u_{j-1} at each power step. */
  rayleigh: number[][][];
  /** |u_j - u_{j-1}|_2 at each power step (the paper's Figure 5 at the last attack step). */
  stepDiff: number[][][];
  /** Share of coordinates that x_t + xi u_{j-1} changes in float32, at each power step. */
  changedShare: number[][][];
  /** Number of input-gradient evaluations the attack made (1 + k per step, 2 + k central). */
  gradientEvaluations: number;
}

function resolve(options: HaatOptions) {
  const o = {
    eps: 8 / 255,
    steps: 10,
    k: 5,
    xi: 1e-6,
    w1: 1 / 4,
    w2: 1 / 4,
    difference: "forward" as const,
    hvp: "fd" as const,
    secondOrderScale: "cube" as const,
    seed: 0,
    ...options,
  };
  checkEps("HAAT", o.eps);
  if (!Number.isInteger(o.steps) || o.steps < 0) {
    throw new Error(`Cannot run HAAT as steps must be an integer >= 0: current value is ${o.steps}`);
  }
  if (!Number.isInteger(o.k) || o.k < 1) {
    throw new Error(`Cannot run HAAT as k must be an integer >= 1: current value is ${o.k}`);
  }
  if (o.hvp === "fd" && !(o.xi > 0)) throw new Error(`Cannot run HAAT as xi must be > 0: current value is ${o.xi}`);
  if (!["cube", "sqrtd", "l2ball"].includes(o.secondOrderScale)) {
    throw new Error(
      `Cannot run HAAT as secondOrderScale must be cube, sqrtd or l2ball: current value is ${o.secondOrderScale}`,
    );
  }
  return o;
}

function run(
  f: Classifier,
  x0: tf.Tensor4D,
  y: tf.Tensor1D,
  options: HaatOptions,
  diagnose: boolean,
): { x: tf.Tensor4D; diagnostics: HaatDiagnostics } {
  const o = resolve(options);
  checkInputs("HAAT", x0, y);
  const n = x0.shape[0], d = x0.size / n;
  const method = o.hvp === "exact" ? "exact" : o.difference;
  const diagnostics: HaatDiagnostics = { rayleigh: [], stepDiff: [], changedShare: [], gradientEvaluations: 0 };
  const perStepGradients = o.hvp === "exact" ? 1 : o.difference === "central" ? 2 : 1;
  let x = tf.clone(x0);
  for (let t = 0; t < o.steps; t++) {
    const rayleigh: number[][] = [], stepDiff: number[][] = [], changed: number[][] = [];
    const g = tf.tidy(() => lossAndGradient(f, x, y).grad);
    diagnostics.gradientEvaluations += 1;
    // Step 2: power iteration, one problem per example.
    let u = tf.tidy(() =>
      normalizeRows(tf.randomNormal(x.shape, 0, 1, "float32", normalSeed(o.seed + t)) as tf.Tensor4D)
    );
    for (let j = 0; j < o.k; j++) {
      const hu = hessianVectorProduct(f, x, y, u, { method, xi: o.xi, grad: g });
      diagnostics.gradientEvaluations += perStepGradients;
      const next = normalizeRows(hu);
      if (diagnose) {
        const [rho, diff, share] = tf.tidy(() => {
          const delta = tf.sub(next, u);
          return [rowDot(u, hu), tf.sqrt(rowDot(delta, delta)), changedShare(x, u, o.xi)];
        });
        rayleigh.push(Array.from(rho.dataSync()));
        stepDiff.push(Array.from(diff.dataSync()));
        changed.push(Array.from(share.dataSync()));
        tf.dispose([rho, diff, share]);
      }
      tf.dispose([hu, u]);
      u = next;
    }
    // Steps 3-5: orient, scale, step, project.
    const next = tf.tidy(() => {
      const orientation = tf.reshape(tf.sign(rowDot(u, g)), [n, 1, 1, 1]);
      const oriented = tf.mul(u, tf.where(tf.equal(orientation, 0), tf.onesLike(orientation), orientation));
      const r1 = tf.mul(tf.sign(g), o.eps);
      const uInf = tf.max(tf.abs(tf.reshape(oriented, [n, -1])), 1);
      const cubeScaled = tf.div(oriented, tf.reshape(tf.add(uInf, 1e-30), [n, 1, 1, 1]));
      const r2 = o.secondOrderScale === "cube"
        ? tf.mul(cubeScaled, o.eps)
        : o.secondOrderScale === "sqrtd"
        ? tf.mul(cubeScaled, o.eps * Math.sqrt(d))
        : tf.mul(oriented, o.eps * Math.sqrt(d));
      const stepped = tf.add(x, tf.add(tf.mul(r1, o.w1), tf.mul(r2, o.w2))) as tf.Tensor4D;
      return project(stepped, x0, o.eps, "linf");
    });
    tf.dispose([g, u, x]);
    x = next;
    if (diagnose) {
      diagnostics.rayleigh.push(rayleigh);
      diagnostics.stepDiff.push(stepDiff);
      diagnostics.changedShare.push(changed);
    }
  }
  return { x, diagnostics };
}

/**
 * The HAAT attack (SPEC section 1), batched: one power iteration per example.
 *
 * @param f Classifier (a ResNet18 in eval mode, so that examples do not interact).
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels.
 * @param options See `HaatOptions`.
 * @returns Adversarial images in B(x0, eps) and [0,1]; the caller disposes.
 * @throws {Error} If eps, steps, k, xi or secondOrderScale are out of range, or x, y are malformed.
 * @example
 * ```ts ignore
 * const xAdv = haat(model.logits, x, y, { eps: 8 / 255, steps: 10, k: 5, xi: 1e-6 });
 * ```
 */
export function haat(f: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, options: HaatOptions = {}): tf.Tensor4D {
  return run(f, x, y, options, false).x;
}

/**
 * `haat` with its per-example diagnostics: Rayleigh quotients, power-step differences, and the share
 * of coordinates that x + xi u changes in float32 (SPEC section 1).
 *
 * @returns `{ x, diagnostics }`; the caller disposes `x`.
 */
export function haatWithDiagnostics(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  options: HaatOptions = {},
): { x: tf.Tensor4D; diagnostics: HaatDiagnostics } {
  return run(f, x, y, options, true);
}
