/**
 * The training objectives of SPEC section 4: what each one attacks with, and the loss it minimises.
 *
 *   standard  min  CE(f(x), y)
 *   pgd       min  CE(f(x'), y),  x' = PGD(x)                       (Madry et al. 2018)
 *   haat      min  CE(f(x'), y),  x' = HAAT(x)                      (the paper, Algorithm 1)
 *   fgsm-rs   min  CE(f(x'), y),  x' = Proj(x + U(-eps, eps) + 1.25 eps sign(g))   (Wong et al. 2020)
 *   trades    min  CE(f(x), y) + beta KL(f(x) || f(x')),  x' = argmax_{B(x, eps)} KL(f(x) || f(x'))
 *             by PGD on the KL from x + 0.001 N(0, I)               (Zhang et al. 2019, beta = 6)
 *
 * Every attack runs with the model in eval mode (BatchNorm on running statistics), so that examples
 * of a batch do not interact through the batch statistics; the loss step then runs in train mode.
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import { crossEntropy, klDivergence } from "../losses.ts";
import type { Classifier } from "../core.ts";
import { pgd } from "../attacks/pgd.ts";
import { haat, type HaatOptions } from "../attacks/haat.ts";
import { project, randomStart } from "../attacks/project.ts";
import { lossAndGradient } from "../core.ts";
import { deriveSeed } from "../random.ts";
import { normalSeed } from "../random.ts";

/** Training objectives. */
export const OBJECTIVES = ["standard", "pgd", "haat", "trades", "fgsm-rs"] as const;
/** A training objective. */
export type Objective = typeof OBJECTIVES[number];

/** The attack settings an objective needs. */
export interface ObjectiveAttack {
  /** Linf radius, [0,1] pixel scale. */
  eps: number;
  /** Step of PGD and of TRADES' inner maximisation. */
  alpha: number;
  /** Attack steps (PGD, HAAT, TRADES). */
  steps: number;
  /** HAAT's k, xi, w1, w2, difference, hvp, secondOrderScale. */
  haat: Omit<HaatOptions, "eps" | "steps" | "seed">;
}

/**
 * TRADES' inner maximisation: x' maximising KL(f(x) || f(x')) over B(x, eps) by `steps` signed
 * gradient steps of size `alpha` from x + 0.001 N(0, I), each projected.
 *
 * @returns x' in B(x, eps) and [0,1]; the caller disposes.
 */
export function tradesAttack(
  f: Classifier,
  x: tf.Tensor4D,
  options: { eps: number; alpha: number; steps: number; seed: number },
): tf.Tensor4D {
  const clean = tf.tidy(() => f(x));
  let xAdv = tf.tidy(() =>
    project(
      tf.add(x, tf.mul(tf.randomNormal(x.shape, 0, 1, "float32", normalSeed(options.seed)), 0.001)),
      x,
      options.eps,
    )
  );
  const dummy = tf.zeros([x.shape[0]], "int32") as tf.Tensor1D;
  for (let t = 0; t < options.steps; t++) {
    const next = tf.tidy(() => {
      const { grad } = lossAndGradient(f, xAdv, dummy, (logits) => klDivergence(clean, logits));
      return project(tf.add(xAdv, tf.mul(tf.sign(grad), options.alpha)) as tf.Tensor4D, x, options.eps);
    });
    xAdv.dispose();
    xAdv = next;
  }
  tf.dispose([clean, dummy]);
  return xAdv;
}

/**
 * The images an objective trains on for one batch (computed in chunks of `chunk` images, as the
 * wasm heap allows): a copy of x for `standard`, adversarial images otherwise.
 *
 * @param objective The objective.
 * @param f The model's logits in eval mode.
 * @param x Clean images.
 * @param y Labels.
 * @param attack eps, alpha, steps, HAAT options.
 * @param seed Seed of the random start / power-iteration start.
 * @param chunk Images per attack call (0: all at once).
 * @returns The training images; the caller disposes.
 */
export function trainingImages(
  objective: Objective,
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  attack: ObjectiveAttack,
  seed: number,
  chunk = 0,
): tf.Tensor4D {
  if (objective === "standard") return tf.clone(x);
  const one = (xc: tf.Tensor4D, yc: tf.Tensor1D, s: number): tf.Tensor4D => {
    const { eps, alpha, steps } = attack;
    switch (objective) {
      case "pgd":
        return pgd(f, xc, yc, { eps, alpha, steps, seed: s });
      case "haat":
        return haat(f, xc, yc, { ...attack.haat, eps, steps, seed: s });
      case "trades":
        return tradesAttack(f, xc, { eps, alpha, steps, seed: s });
      case "fgsm-rs":
        return tf.tidy(() => {
          const start = randomStart(xc, eps, "linf", s);
          const { grad } = lossAndGradient(f, start, yc);
          return project(tf.add(start, tf.mul(tf.sign(grad), 1.25 * eps)) as tf.Tensor4D, xc, eps);
        });
    }
  };
  const n = x.shape[0], size = chunk > 0 ? Math.min(chunk, n) : n;
  if (size === n) return one(x, y, seed);
  const parts: tf.Tensor4D[] = [];
  for (let start = 0; start < n; start += size) {
    const m = Math.min(size, n - start);
    const xc = tf.slice(x, [start, 0, 0, 0], [m, -1, -1, -1]);
    const yc = tf.slice(y, [start], [m]);
    parts.push(one(xc, yc, deriveSeed(seed, start / size)));
    tf.dispose([xc, yc]);
  }
  const all = tf.concat(parts) as tf.Tensor4D;
  tf.dispose(parts);
  return all;
}

/**
 * The objective's loss on one chunk, with the model in train mode: mean CE on the training images,
 * or for TRADES mean CE on the clean images plus beta times the mean KL(f(x) || f(x')).
 *
 * @param objective The objective.
 * @param f The model's logits in train mode.
 * @param xTrain The training images of the chunk (x' for TRADES).
 * @param xClean The clean images of the chunk (used by TRADES only).
 * @param y Labels.
 * @param beta TRADES' beta (the paper of TRADES: 6).
 * @returns The mean loss and the logits whose argmax counts as the training accuracy (clean ones for
 *   TRADES); call it inside `tf.tidy` or `tf.variableGrads`, which free the intermediates.
 */
export function objectiveLoss(
  objective: Objective,
  f: Classifier,
  xTrain: tf.Tensor4D,
  xClean: tf.Tensor4D,
  y: tf.Tensor1D,
  beta: number,
): { loss: tf.Scalar; logits: tf.Tensor2D } {
  if (objective !== "trades") {
    const logits = f(xTrain);
    return { loss: tf.mean(crossEntropy(logits, y)) as tf.Scalar, logits };
  }
  const logits = f(xClean);
  const adversarial = f(xTrain);
  const loss = tf.add(tf.mean(crossEntropy(logits, y)), tf.mul(tf.mean(klDivergence(logits, adversarial)), beta));
  return { loss: loss as tf.Scalar, logits };
}
