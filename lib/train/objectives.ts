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
 * `OBJECTIVE_TABLE` maps each objective to its attack (lib/attacks/: pgd.ts, haat.ts, trades.ts,
 * fgsm_rs.ts) and its loss; `trainingImages` and `objectiveLoss` look it up.
 *
 * Every attack runs with the model in eval mode (BatchNorm on running statistics), so that examples
 * of a batch do not interact through the batch statistics; the loss step then runs in train mode.
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import { crossEntropy, klDivergence } from "../losses.ts";
import type { Classifier } from "../core.ts";
import { pgdReading } from "../attacks/pgd.ts";
import { haatReading, type HaatSettings } from "../attacks/haat.ts";
import { tradesAttack } from "../attacks/trades.ts";
import { fgsmRs } from "../attacks/fgsm_rs.ts";
import { deriveSeed } from "../random.ts";
import { type Reading, runAsync, runSync, settle } from "../reading.ts";

/**
 * Training objectives.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { OBJECTIVES } from "./objectives.ts";
 * assert.ok(OBJECTIVES.includes("haat") && OBJECTIVES.includes("pgd"));
 * ```
 */
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
  haat: Partial<Omit<HaatSettings, "eps" | "steps" | "seed">>;
}

/** An objective's loss on one chunk: the mean loss, and the logits whose argmax counts as training accuracy. */
export type ObjectiveLossFn = (
  f: Classifier,
  xTrain: tf.Tensor4D,
  xClean: tf.Tensor4D,
  y: tf.Tensor1D,
  beta: number,
) => { loss: tf.Scalar; logits: tf.Tensor2D };

/** What an objective is: the attack that makes its training images (none: the clean ones) and its loss. */
export interface ObjectiveEntry {
  /**
   * Adversarial images of a chunk, with the model in eval mode (the images, or a reading of them where
   * the attack reads its inputs' check); null for training on clean images.
   */
  attack:
    | ((
      f: Classifier,
      x: tf.Tensor4D,
      y: tf.Tensor1D,
      attack: ObjectiveAttack,
      seed: number,
    ) => tf.Tensor4D | Reading<tf.Tensor4D>)
    | null;
  /** The loss, with the model in train mode. */
  loss: ObjectiveLossFn;
}

/** Mean cross-entropy on the training images. */
const crossEntropyLoss: ObjectiveLossFn = (f, xTrain, _xClean, y) => {
  const logits = f(xTrain);
  return { loss: tf.mean(crossEntropy(logits, y)) as tf.Scalar, logits };
};

/** TRADES: mean CE on the clean images plus beta times the mean KL(f(x) || f(x')); accuracy on the clean ones. */
const tradesLoss: ObjectiveLossFn = (f, xTrain, xClean, y, beta) => {
  const logits = f(xClean);
  const adversarial = f(xTrain);
  const loss = tf.add(tf.mean(crossEntropy(logits, y)), tf.mul(tf.mean(klDivergence(logits, adversarial)), beta));
  return { loss: loss as tf.Scalar, logits };
};

/**
 * Each objective's attack and loss (the module doc's table).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { OBJECTIVE_TABLE, OBJECTIVES } from "./objectives.ts";
 * assert.ok(OBJECTIVES.every((o) => o in OBJECTIVE_TABLE));
 * assert.strictEqual(OBJECTIVE_TABLE.standard.attack, null); // standard training attacks nothing
 * ```
 */
export const OBJECTIVE_TABLE: Readonly<Record<Objective, ObjectiveEntry>> = Object.freeze({
  standard: { attack: null, loss: crossEntropyLoss },
  pgd: {
    attack: (f, x, y, { eps, alpha, steps }, seed) => pgdReading(f, x, y, { eps, alpha, steps, seed }),
    loss: crossEntropyLoss,
  },
  haat: {
    attack: function* (f, x, y, { eps, steps, haat: options }, seed) {
      return (yield* haatReading(f, x, y, { ...options, eps, steps, seed }, false)).x;
    },
    loss: crossEntropyLoss,
  },
  trades: {
    attack: (f, x, _y, { eps, alpha, steps }, seed) => tradesAttack(f, x, { eps, alpha, steps, seed }),
    loss: tradesLoss,
  },
  "fgsm-rs": { attack: (f, x, y, { eps }, seed) => fgsmRs(f, x, y, { eps, seed }), loss: crossEntropyLoss },
});

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
  return runSync("trainingImages", trainingImagesReading(objective, f, x, y, attack, seed, chunk));
}

/**
 * `trainingImages`, reading the attacks' input checks asynchronously: as training makes them, on every
 * backend.
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
export function trainingImagesAsync(
  objective: Objective,
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  attack: ObjectiveAttack,
  seed: number,
  chunk = 0,
): Promise<tf.Tensor4D> {
  return runAsync(trainingImagesReading(objective, f, x, y, attack, seed, chunk));
}

/** `trainingImages` as a reading. */
function* trainingImagesReading(
  objective: Objective,
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  attack: ObjectiveAttack,
  seed: number,
  chunk: number,
): Reading<tf.Tensor4D> {
  const run = OBJECTIVE_TABLE[objective].attack;
  if (run === null) return tf.clone(x);
  const n = x.shape[0], size = chunk > 0 ? Math.min(chunk, n) : n;
  if (size === n) return yield* settle(run(f, x, y, attack, seed));
  const parts: tf.Tensor4D[] = [];
  try {
    for (let start = 0; start < n; start += size) {
      const m = Math.min(size, n - start);
      const xc = tf.slice(x, [start, 0, 0, 0], [m, -1, -1, -1]);
      const yc = tf.slice(y, [start], [m]);
      try {
        parts.push(yield* settle(run(f, xc, yc, attack, deriveSeed(seed, start / size))));
      } finally {
        tf.dispose([xc, yc]);
      }
    }
    return tf.concat(parts) as tf.Tensor4D;
  } finally {
    tf.dispose(parts);
  }
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
  return OBJECTIVE_TABLE[objective].loss(f, xTrain, xClean, y, beta);
}
