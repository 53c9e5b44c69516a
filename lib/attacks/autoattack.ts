/**
 * AutoAttack (Croce and Hein, ICML 2020), Linf, as its reference runs it. Version `"standard"`:
 * APGD-CE, APGD-T (9 targets), FAB-T (9 targets), Square (5000 queries), in that order, each on the
 * points that every attack before it failed on; `"fast"` (SPEC section 1): APGD-CE and APGD-T only. A
 * point counts as robust only if every attack fails on it. Before it starts, AutoAttack checks, as the
 * reference does, that the model is deterministic (two forward passes agree); when it ends, that every
 * returned image lies in B(x, eps) and [0,1].
 *
 * @module
 */
import { tf } from "../backend.ts";
import type { Classifier } from "../models/resnet18.ts";
import { apgd, apgdTargeted, replaceRows } from "./apgd.ts";
import { fabTargeted } from "./fab.ts";
import { square } from "./square.ts";
import { assertInBall, checkEps, checkInputs } from "./project.ts";

/** Options of `autoAttack`. */
export interface AutoAttackOptions {
  /** "standard" (4 attacks) or "fast" (APGD-CE, APGD-T). @default "standard" */
  version?: "standard" | "fast";
  /** Linf radius. @default 8/255 */
  eps?: number;
  /** Seed of every attack. @default 0 */
  seed?: number;
  /** Images per attack call. @default 128 */
  batchSize?: number;
  /** Print a line after each attack. @default false */
  verbose?: boolean;
  /** Override attack budgets (tests, quick looks): APGD iterations, FAB iterations, Square queries. */
  budgets?: { apgdIter?: number; fabIter?: number; squareQueries?: number };
}

/** AutoAttack's attacks, in order. */
export const AUTOATTACK_ATTACKS = ["apgd-ce", "apgd-t", "fab-t", "square"] as const;

/** What `autoAttack` found. */
export interface AutoAttackResult {
  /** Adversarial images where an attack succeeded, the clean image elsewhere. */
  x: tf.Tensor4D;
  /** Per example: correctly classified clean and under every attack. */
  robust: boolean[];
  cleanAccuracy: number;
  robustAccuracy: number;
  /** Robust accuracy after each attack, with its time. */
  perAttack: { attack: string; robustAccuracy: number; seconds: number }[];
}

/**
 * Runs AutoAttack.
 *
 * @param f Classifier (a model in eval mode).
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels.
 * @param options See `AutoAttackOptions`.
 * @returns See `AutoAttackResult`; the caller disposes `x`.
 * @throws {Error} If the model is not deterministic, or an output leaves B(x, eps) or [0,1].
 */
export function autoAttack(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  options: AutoAttackOptions = {},
): AutoAttackResult {
  const o = { version: "standard" as const, eps: 8 / 255, seed: 0, batchSize: 128, verbose: false, ...options };
  checkEps("AutoAttack", o.eps);
  checkInputs("AutoAttack", x, y);
  if (o.version !== "standard" && o.version !== "fast") {
    throw new Error(`Cannot run AutoAttack as version must be standard or fast: current value is ${o.version}`);
  }
  const n = x.shape[0];
  const labels = Array.from(y.dataSync());
  // The reference's check: a randomised model would make the evaluation meaningless.
  const drift = tf.tidy(() => {
    const probe = tf.slice(x, [0, 0, 0, 0], [Math.min(n, 8), -1, -1, -1]);
    return tf.max(tf.abs(tf.sub(f(probe), f(probe)))).dataSync()[0];
  });
  if (drift !== 0) {
    throw new Error(`Cannot run AutoAttack as the model is not deterministic (two passes differ by ${drift})`);
  }
  const predict = (xs: tf.Tensor4D): number[] => {
    const out: number[] = [];
    for (let s = 0; s < xs.shape[0]; s += o.batchSize) {
      const p = tf.tidy(() =>
        tf.argMax(f(tf.slice(xs, [s, 0, 0, 0], [Math.min(o.batchSize, xs.shape[0] - s), -1, -1, -1])), 1)
      );
      out.push(...p.dataSync());
      p.dispose();
    }
    return out;
  };
  const robust = predict(x).map((p, j) => p === labels[j]);
  const cleanAccuracy = robust.filter(Boolean).length / n;
  let xAdv = tf.clone(x);
  const perAttack: AutoAttackResult["perAttack"] = [];
  const attacks = o.version === "standard" ? AUTOATTACK_ATTACKS : AUTOATTACK_ATTACKS.slice(0, 2);
  const b = o.budgets ?? {};
  for (const attack of attacks) {
    const t0 = performance.now();
    const todo = robust.flatMap((r, j) => r ? [j] : []);
    for (let s = 0; s < todo.length; s += o.batchSize) {
      const chunk = todo.slice(s, s + o.batchSize);
      const idx = tf.tensor1d(chunk, "int32");
      const xs = tf.gather(x, idx) as tf.Tensor4D, ys = tf.gather(y, idx) as tf.Tensor1D;
      const seed = o.seed;
      const apgdIter = b.apgdIter === undefined ? {} : { nIter: b.apgdIter };
      const found = attack === "apgd-ce"
        ? apgd(f, xs, ys, { eps: o.eps, loss: "ce", seed, ...apgdIter })
        : attack === "apgd-t"
        ? apgdTargeted(f, xs, ys, { eps: o.eps, seed, ...apgdIter })
        : attack === "fab-t"
        ? fabTargeted(f, xs, ys, { eps: o.eps, ...(b.fabIter === undefined ? {} : { nIter: b.fabIter }) })
        : square(f, xs, ys, {
          eps: o.eps,
          seed,
          ...(b.squareQueries === undefined ? {} : { nQueries: b.squareQueries }),
        });
      const pred = predict(found);
      const rows = chunk.flatMap((j, m): [number, number][] => pred[m] !== labels[j] ? [[j, m]] : []);
      if (rows.length > 0) {
        const next = replaceRows(xAdv, found, rows);
        xAdv.dispose();
        xAdv = next;
        for (const [j] of rows) robust[j] = false;
      }
      tf.dispose([idx, xs, ys, found]);
    }
    const line = {
      attack,
      robustAccuracy: robust.filter(Boolean).length / n,
      seconds: (performance.now() - t0) / 1000,
    };
    perAttack.push(line);
    if (o.verbose) {
      console.log(
        `  autoattack ${attack}: robust accuracy ${(100 * line.robustAccuracy).toFixed(2)}% ` +
          `(${todo.length} points attacked, ${line.seconds.toFixed(1)} s)`,
      );
    }
  }
  // The reference's final check.
  try {
    assertInBall("AutoAttack", xAdv, x, o.eps);
  } catch (e) {
    xAdv.dispose();
    throw e;
  }
  return { x: xAdv, robust, cleanAccuracy, robustAccuracy: robust.filter(Boolean).length / n, perAttack };
}
