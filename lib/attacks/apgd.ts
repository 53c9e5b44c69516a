/**
 * Auto-PGD (Croce and Hein, ICML 2020), Linf, as the reference AutoAttack runs it: 100 iterations,
 * random start, initial step eta = 2 eps, momentum
 *
 *   z = Proj(x_k + eta sign(g_k)),  x_{k+1} = Proj(x_k + a (z - x_k) + (1 - a)(x_k - x_{k-1}))
 *
 * with a = 1 on the first step and 0.75 after, and step-size halving at the checkpoints
 * w_0 = 0, w_j = ceil(p_j N), p_1 = 0.22, p_{j+1} = p_j + max(p_j - p_{j-1} - 0.03, 0.06) (the reference
 * counts them in integers: intervals 22, 19, 16, ... down to 6). At a checkpoint the step of an example
 * is halved if its loss increased in at most 75% of the steps since the last checkpoint, or if its step
 * was not halved at the last checkpoint and its best loss did not improve since; a halved example then
 * restarts from its best point. `apgdTargeted` runs the same with the targeted DLR loss towards each of
 * the 9 classes with the highest clean logits other than y.
 *
 * @module
 */
import { tf } from "../backend.ts";
import { crossEntropy, dlrLoss, targetedDlrLoss } from "../losses.ts";
import type { Classifier } from "../models/resnet18.ts";
import { checkEps, checkInputs, lossAndGradient, project } from "./project.ts";

/** Options of `apgd`; defaults are the reference AutoAttack's. */
export interface ApgdOptions {
  /** Linf radius, [0,1] pixel scale. @default 8/255 */
  eps?: number;
  /** Iterations. @default 100 */
  nIter?: number;
  /** Loss: cross-entropy or DLR. @default "ce" */
  loss?: "ce" | "dlr";
  /** Share of increasing steps below which the step is halved. @default 0.75 */
  rho?: number;
  /** Seed of the random start. @default 0 */
  seed?: number;
}

/** What one APGD run found, per example. */
export interface ApgdResult {
  /** The highest-loss point. */
  xBest: tf.Tensor4D;
  /** The last misclassified point found (the random start where none was). */
  xBestAdv: tf.Tensor4D;
  /** The best loss reached. */
  lossBest: Float32Array;
  /** Whether a misclassified point was found. */
  fooled: boolean[];
}

/**
 * APGD's checkpoint iterations for `nIter` iterations, in the reference's integer arithmetic: the first
 * after max(floor(0.22 N), 1) iterations, each next interval shorter by max(floor(0.03 N), 1), down to
 * max(floor(0.06 N), 1). For N = 100: 0, 22, 41, 57, 70, 80, 87, 93, 99.
 *
 * @param nIter Iterations N.
 * @returns Iteration counts at which the step size is checked, starting with 0.
 */
export function apgdCheckpoints(nIter: number): number[] {
  const first = Math.max(Math.floor(0.22 * nIter), 1);
  const minimum = Math.max(Math.floor(0.06 * nIter), 1);
  const decrease = Math.max(Math.floor(0.03 * nIter), 1);
  const points = [0];
  for (
    let at = first, interval = first;
    at <= nIter;
    interval = Math.max(interval - decrease, minimum), at += interval
  ) {
    points.push(at);
  }
  return points;
}

/** A [n] boolean mask as a [n, 1, 1, 1] float tensor. */
function mask4d(values: boolean[]): tf.Tensor4D {
  return tf.tensor4d(values.map(Number), [values.length, 1, 1, 1]);
}

/** One APGD run with a per-example loss of the logits (higher is better for the attacker). */
export function apgdRun(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  loss: (logits: tf.Tensor2D, y: tf.Tensor1D) => tf.Tensor1D,
  options: { eps: number; nIter: number; rho: number; seed: number },
): ApgdResult {
  const { eps, nIter, rho } = options;
  const n = x.shape[0];
  const labels = Array.from(y.dataSync());
  const evaluate = (xs: tf.Tensor4D) => {
    // The predictions come from the logits of the gradient's own forward pass (kept out of its scope).
    let pred: tf.Tensor | undefined;
    const { loss: l, grad } = lossAndGradient(f, xs, y, (logits, yy) => {
      pred = tf.keep(tf.argMax(logits, 1));
      return loss(logits, yy);
    });
    const out = {
      loss: l.dataSync() as Float32Array,
      grad,
      wrong: Array.from(pred!.dataSync(), (p, i) => p !== labels[i]),
    };
    tf.dispose([l, pred!]);
    return out;
  };
  // Random start: x + eps t / |t|_inf, t ~ U(-1, 1)^d.
  let xAdv = tf.tidy(() => {
    const t = tf.randomUniform(x.shape, -1, 1, "float32", options.seed);
    const tInf = tf.reshape(tf.max(tf.abs(tf.reshape(t, [n, -1])), 1), [n, 1, 1, 1]);
    return tf.clipByValue(tf.add(x, tf.mul(eps, tf.div(t, tInf))), 0, 1) as tf.Tensor4D;
  });
  let current = evaluate(xAdv);
  let grad = current.grad;
  let xBest = tf.clone(xAdv), xBestAdv = tf.clone(xAdv), gradBest = tf.clone(grad);
  const fooled = [...current.wrong];
  const lossBest = Float32Array.from(current.loss);
  const stepSize = new Float32Array(n).fill(2 * eps);
  const lossSteps: Float32Array[] = Array.from({ length: nIter }, () => new Float32Array(n));
  let xOld = tf.clone(xAdv);
  const first = Math.max(Math.floor(0.22 * nIter), 1);
  const minimum = Math.max(Math.floor(0.06 * nIter), 1), decrease = Math.max(Math.floor(0.03 * nIter), 1);
  let k = first, counter = 0;
  let lossBestLastCheck = Float32Array.from(lossBest);
  let reducedLastCheck = new Array<boolean>(n).fill(true);
  for (let i = 0; i < nIter; i++) {
    const a = i > 0 ? 0.75 : 1.0;
    const next = tf.tidy(() => {
      const step = tf.tensor4d(stepSize, [n, 1, 1, 1]);
      const momentum = tf.sub(xAdv, xOld);
      const z = project(tf.add(xAdv, tf.mul(step, tf.sign(grad))) as tf.Tensor4D, x, eps);
      const moved = tf.add(tf.add(xAdv, tf.mul(tf.sub(z, xAdv), a)), tf.mul(momentum, 1 - a)) as tf.Tensor4D;
      return project(moved, x, eps);
    });
    xOld.dispose();
    xOld = xAdv;
    xAdv = next;
    grad.dispose();
    current = evaluate(xAdv);
    grad = current.grad;
    // Keep the misclassified points and the best-loss points.
    const improved = Array.from(current.loss, (l, j) => l > lossBest[j]);
    const replace = (target: tf.Tensor4D, source: tf.Tensor4D, where: boolean[]) => {
      const out = tf.tidy(() => tf.where(tf.cast(mask4d(where), "bool"), source, target) as tf.Tensor4D);
      target.dispose();
      return out;
    };
    xBestAdv = replace(xBestAdv, xAdv, current.wrong);
    current.wrong.forEach((w, j) => fooled[j] ||= w);
    xBest = replace(xBest, xAdv, improved);
    gradBest = replace(gradBest, grad, improved);
    improved.forEach((u, j) => u && (lossBest[j] = current.loss[j]));
    lossSteps[i].set(current.loss);
    counter++;
    if (counter === k) {
      // Condition 1: the loss increased in at most rho * k of the last k steps. The reference reads
      // loss_steps[-1] (its last row, still zero) for the step before the first one; so do we.
      const row = (r: number) => lossSteps[(r + nIter) % nIter];
      const halve = new Array<boolean>(n);
      for (let j = 0; j < n; j++) {
        let increases = 0;
        for (let c = 0; c < k; c++) if (row(i - c)[j] > row(i - c - 1)[j]) increases++;
        const oscillating = increases <= k * rho;
        // Condition 2: not halved last time, and the best loss did not improve since.
        const stalled = !reducedLastCheck[j] && lossBestLastCheck[j] >= lossBest[j];
        halve[j] = oscillating || stalled;
      }
      reducedLastCheck = halve;
      lossBestLastCheck = Float32Array.from(lossBest);
      if (halve.some(Boolean)) {
        halve.forEach((h, j) => h && (stepSize[j] /= 2));
        xAdv = replace(xAdv, xBest, halve);
        grad = replace(grad, gradBest, halve);
      }
      counter = 0;
      k = Math.max(k - decrease, minimum);
    }
  }
  tf.dispose([xAdv, xOld, grad, gradBest]);
  return { xBest, xBestAdv, lossBest, fooled };
}

/**
 * A copy of `base` with row j replaced by row m of `values` for each [j, m] in `rows`.
 *
 * @returns A new tensor; the caller disposes.
 */
export function replaceRows<T extends tf.Tensor>(base: T, values: T, rows: [number, number][]): T {
  return tf.tidy(() => {
    const index = Array.from({ length: base.shape[0] }, (_, j) => j);
    for (const [j, m] of rows) index[j] = base.shape[0] + m;
    return tf.gather(tf.concat([base, values]), tf.tensor1d(index, "int32")) as T;
  });
}

function resolve(options: ApgdOptions) {
  const o = { eps: 8 / 255, nIter: 100, loss: "ce" as "ce" | "dlr", rho: 0.75, seed: 0, ...options };
  checkEps("APGD", o.eps);
  if (!Number.isInteger(o.nIter) || o.nIter < 1) {
    throw new Error(`Cannot run APGD as nIter must be an integer >= 1: current value is ${o.nIter}`);
  }
  return o;
}

/**
 * Untargeted APGD with the CE or DLR loss.
 *
 * @param f Classifier (a model in eval mode).
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels.
 * @param options See `ApgdOptions`.
 * @returns Per example, the misclassified point found, or else the highest-loss point; in B(x, eps)
 *   and [0,1]. The caller disposes.
 */
export function apgd(f: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, options: ApgdOptions = {}): tf.Tensor4D {
  const o = resolve(options);
  checkInputs("APGD", x, y);
  const r = apgdRun(f, x, y, o.loss === "ce" ? crossEntropy : dlrLoss, o);
  const out = tf.tidy(() => tf.where(tf.cast(mask4d(r.fooled), "bool"), r.xBestAdv, r.xBest) as tf.Tensor4D);
  tf.dispose([r.xBest, r.xBestAdv]);
  return out;
}

/** Options of `apgdTargeted`. */
export interface ApgdTargetedOptions extends Omit<ApgdOptions, "loss"> {
  /** Target classes: the 2nd, 3rd, ... highest clean logits. @default 9 */
  nTargetClasses?: number;
}

/**
 * APGD-T: APGD with the targeted DLR loss, once per target class t (the 2nd to the
 * (nTargetClasses + 1)-th highest clean logit), each run on the examples not yet misclassified.
 *
 * @returns Per example, the first misclassified point found, or else the clean image. The caller
 *   disposes.
 */
export function apgdTargeted(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  options: ApgdTargetedOptions = {},
): tf.Tensor4D {
  const o = resolve(options);
  checkInputs("APGD-T", x, y);
  const nTargets = options.nTargetClasses ?? 9;
  const order = tf.tidy(() => {
    const logits = f(x);
    return tf.topk(logits, logits.shape[1]).indices;
  });
  const ranks = order.arraySync() as number[][];
  order.dispose();
  const labels = Array.from(y.dataSync());
  let adv = tf.clone(x);
  const fooled = labels.map(() => false);
  for (let target = 2; target <= nTargets + 1 && target <= ranks[0].length; target++) {
    const todo = fooled.flatMap((done, j) => done ? [] : [j]);
    if (todo.length === 0) break;
    const idx = tf.tensor1d(todo, "int32");
    const xs = tf.gather(x, idx) as tf.Tensor4D, ys = tf.gather(y, idx) as tf.Tensor1D;
    const targets = tf.tensor1d(todo.map((j) => ranks[j][target - 1]), "int32");
    const r = apgdRun(f, xs, ys, (logits, yy) => targetedDlrLoss(logits, yy, targets), { ...o, seed: o.seed });
    const rows = todo.flatMap((j, m): [number, number][] => r.fooled[m] ? [[j, m]] : []);
    if (rows.length > 0) {
      const next = replaceRows(adv, r.xBestAdv, rows);
      adv.dispose();
      adv = next;
      rows.forEach(([j]) => fooled[j] = true);
    }
    tf.dispose([idx, xs, ys, targets, r.xBest, r.xBestAdv]);
  }
  return adv;
}
