/**
 * What every attack shares: input checks, the projections onto the eps-ball intersected with the
 * image box [0,1], and the input gradient of the loss. SPEC section 1: "all return adversarial images
 * inside B(x0, eps) and [0,1]".
 *
 * @module
 */
import { tf } from "../backend.ts";
import { crossEntropy } from "../losses.ts";
import type { Classifier } from "../models/resnet18.ts";
import { normalSeed } from "../random.ts";

/** The norm of a perturbation ball. */
export type Norm = "linf" | "l2";

/**
 * Throws unless eps is a number in (0, max]; max is 1 for Linf (the pixel scale) and sqrt(d) for L2.
 *
 * @param attack Name used in the message.
 * @param eps The radius.
 * @param norm The ball's norm.
 */
export function checkEps(attack: string, eps: number, norm: Norm = "linf", dims = 3072): void {
  const max = norm === "linf" ? 1 : Math.sqrt(dims);
  if (typeof eps !== "number" || !(eps > 0 && eps <= max)) {
    throw new Error(
      `Cannot run ${attack} as eps must be in (0, ${
        norm === "linf" ? 1 : `sqrt(d) = ${max.toFixed(2)}`
      }]: current value is ${eps}`,
    );
  }
}

/**
 * Throws unless x is a rank-4 float32 batch in [0,1] and y an int32 vector of the same length.
 *
 * @param attack Name used in the message.
 * @param x Images, NHWC.
 * @param y Labels.
 */
export function checkInputs(attack: string, x: tf.Tensor, y: tf.Tensor): void {
  if (x.rank !== 4) throw new Error(`Cannot run ${attack} as x must be NHWC (rank 4): current shape is [${x.shape}]`);
  if (y.rank !== 1 || y.shape[0] !== x.shape[0]) {
    throw new Error(`Cannot run ${attack} as y must have shape [${x.shape[0]}]: current shape is [${y.shape}]`);
  }
  if (y.dtype !== "int32") throw new Error(`Cannot run ${attack} as y must be int32: current dtype is ${y.dtype}`);
  const [lo, hi] = tf.tidy(() => [tf.min(x), tf.max(x)]);
  const range = [lo.dataSync()[0], hi.dataSync()[0]];
  tf.dispose([lo, hi]);
  if (!(range[0] >= 0 && range[1] <= 1)) {
    throw new Error(`Cannot run ${attack} as x must be in [0,1]: current range is [${range[0]}, ${range[1]}]`);
  }
}

/** Per-example L2 norm of a batch, shaped [n, 1, 1, 1] for broadcasting. */
export function l2Norms(v: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.sqrt(tf.sum(tf.square(v), [1, 2, 3], true)) as tf.Tensor4D);
}

/**
 * Proj onto B(x0, eps) intersected with [0,1]^d. Linf: clip(x, x0 - eps, x0 + eps), then clip to
 * [0,1]. L2: x0 + delta min(1, eps / |delta|_2), then clip to [0,1] (which only shrinks |delta|_2).
 *
 * @param x Candidate images.
 * @param x0 Clean images.
 * @param eps Radius, on the [0,1] pixel scale.
 * @param norm Ball norm.
 * @returns The projected images; the caller disposes.
 */
export function project(x: tf.Tensor4D, x0: tf.Tensor4D, eps: number, norm: Norm = "linf"): tf.Tensor4D {
  return tf.tidy(() => {
    let delta = tf.sub(x, x0) as tf.Tensor4D;
    if (norm === "linf") {
      delta = tf.clipByValue(delta, -eps, eps);
    } else {
      const factor = tf.minimum(1, tf.div(eps, tf.add(l2Norms(delta), 1e-12)));
      delta = tf.mul(delta, factor);
    }
    return tf.clipByValue(tf.add(x0, delta), 0, 1) as tf.Tensor4D;
  });
}

/**
 * Per-example loss and its input gradient g = grad_x sum_i L(f(x_i), y_i) (a sum, so that each row is
 * that example's own gradient).
 *
 * @param f Classifier.
 * @param x Images.
 * @param y Labels.
 * @param loss Per-example loss of logits; default cross-entropy.
 * @returns `{ loss: [n], grad: like x }`; the caller disposes both.
 */
export function lossAndGradient(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  loss: (logits: tf.Tensor2D, y: tf.Tensor1D) => tf.Tensor1D = crossEntropy,
): { loss: tf.Tensor1D; grad: tf.Tensor4D } {
  return tf.tidy(() => {
    let perExample: tf.Tensor1D | undefined;
    const grad = tf.grad((xi: tf.Tensor) => {
      // Kept: tf.grad disposes what its function made, except the value it differentiates.
      perExample = tf.keep(loss(f(xi as tf.Tensor4D), y));
      return tf.sum(perExample);
    })(x) as tf.Tensor4D;
    const lossValues = tf.clone(perExample!); // tracked by this tidy, unlike the kept original
    perExample!.dispose();
    return { loss: lossValues, grad };
  });
}

/**
 * The steepest-ascent step of unit size in a norm: sign(g) for Linf, g / |g|_2 for L2.
 *
 * @param g Gradient.
 * @param norm Norm.
 * @returns The direction; the caller disposes.
 */
export function ascentDirection(g: tf.Tensor4D, norm: Norm): tf.Tensor4D {
  return tf.tidy(() => norm === "linf" ? tf.sign(g) : tf.div(g, tf.add(l2Norms(g), 1e-12)) as tf.Tensor4D);
}

/**
 * A uniform random point of B(x0, eps) (Linf: each coordinate in [-eps, eps]; L2: uniform direction,
 * radius eps u^(1/d)), clipped to [0,1].
 *
 * @param x0 Clean images.
 * @param eps Radius.
 * @param norm Ball norm.
 * @param seed Seed of the draw.
 * @returns Starting images; the caller disposes.
 */
export function randomStart(x0: tf.Tensor4D, eps: number, norm: Norm, seed: number): tf.Tensor4D {
  return tf.tidy(() => {
    let delta: tf.Tensor4D;
    if (norm === "linf") {
      delta = tf.randomUniform(x0.shape, -eps, eps, "float32", seed);
    } else {
      const d = x0.size / x0.shape[0];
      const v = tf.randomNormal(x0.shape, 0, 1, "float32", normalSeed(seed)) as tf.Tensor4D;
      const u = tf.randomUniform([x0.shape[0], 1, 1, 1], 0, 1, "float32", seed + 1);
      delta = tf.mul(tf.div(v, l2Norms(v)), tf.mul(eps, tf.pow(u, 1 / d))) as tf.Tensor4D;
    }
    return tf.clipByValue(tf.add(x0, delta), 0, 1) as tf.Tensor4D;
  });
}

/**
 * Throws unless every image of an attack's output lies in B(x0, eps) in Linf (1e-6 slack for float
 * rounding) and in [0,1]; a NaN fails too.
 *
 * @param attack Attack name, for the message.
 * @param xAdv The attack's output.
 * @param x0 The clean images.
 * @param eps Linf radius.
 * @throws {Error} Naming the attack, |delta|_inf and the range.
 */
export function assertInBall(attack: string, xAdv: tf.Tensor4D, x0: tf.Tensor4D, eps: number): void {
  const [linf, lo, hi] = tf.tidy(() => [tf.max(tf.abs(tf.sub(xAdv, x0))), tf.min(xAdv), tf.max(xAdv)]).map((t) => {
    const v = t.dataSync()[0];
    t.dispose();
    return v;
  });
  if (!(linf <= eps + 1e-6 && lo >= 0 && hi <= 1)) {
    throw new Error(`${attack} output left B(x0, eps) or [0,1]: |delta|_inf = ${linf}, range [${lo}, ${hi}]`);
  }
}
