/**
 * What the attacks share beyond `lib/core.ts`: the projection onto the eps-ball intersected with the
 * image box [0,1], the ascent direction, the random start and the check of an attack's output. SPEC
 * section 1: "all return adversarial images inside B(x0, eps) and [0,1]".
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import { l2Norms, type Norm } from "../core.ts";
import { deriveSeed, normalSeed } from "../random.ts";
import { read, type Reading, runAsync, runSync, type Values } from "../reading.ts";

// Re-exported for lib/train, which imports them from here; their home is lib/core.ts.

/**
 * Proj onto B(x0, eps) intersected with [0,1]^d. Linf: clip(x, x0 - eps, x0 + eps), then clip to
 * [0,1]. L2: x0 + delta min(1, eps / |delta|_2), then clip to [0,1] (which only shrinks |delta|_2).
 *
 * @param x Candidate images.
 * @param x0 Clean images.
 * @param eps Radius, on the [0,1] pixel scale.
 * @param norm Ball norm.
 * @returns The projected images; the caller disposes.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { project } from "./project.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const x0 = tf.fill([1, 1, 1, 2], 0.5) as tf.Tensor4D, x = tf.tensor4d([0.9, 0.45], [1, 1, 1, 2]);
 * assert.deepStrictEqual(Array.from(project(x, x0, 0.1).dataSync(), (v) => +v.toFixed(6)), [0.6, 0.45]);
 * ```
 */
export function project(x: tf.Tensor4D, x0: tf.Tensor4D, eps: number, norm: Norm = "linf"): tf.Tensor4D {
  if (norm !== "linf" && norm !== "l2") {
    throw new Error(`Cannot project as norm must be linf or l2: current value is ${norm}`);
  }
  if (!(typeof eps === "number" && eps >= 0 && eps < Infinity)) {
    throw new Error(`Cannot project as eps must be a number >= 0: current value is ${eps}`);
  }
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
 * The steepest-ascent step of unit size in a norm: sign(g) for Linf, g / |g|_2 for L2.
 *
 * @param g Gradient.
 * @param norm Norm.
 * @returns The direction; the caller disposes.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { ascentDirection } from "./project.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const direction = ascentDirection(tf.tensor4d([3, -4], [1, 1, 1, 2]), "l2").dataSync();
 * assert.deepStrictEqual(Array.from(direction, (v) => +v.toFixed(6)), [0.6, -0.8]);
 * ```
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
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { randomStart } from "./project.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const x0 = tf.fill([1, 4, 4, 3], 0.5) as tf.Tensor4D;
 * const start = randomStart(x0, 0.1, "linf", 0);
 * assert.ok(tf.max(tf.abs(tf.sub(start, x0))).dataSync()[0] <= 0.1 + 1e-7);
 * ```
 */
export function randomStart(x0: tf.Tensor4D, eps: number, norm: Norm, seed: number): tf.Tensor4D {
  return tf.tidy(() => {
    let delta: tf.Tensor4D;
    if (norm === "linf") {
      delta = tf.randomUniform(x0.shape, -eps, eps, "float32", seed);
    } else {
      const d = x0.size / x0.shape[0];
      const v = tf.randomNormal(x0.shape, 0, 1, "float32", normalSeed(seed)) as tf.Tensor4D;
      const u = tf.randomUniform([x0.shape[0], 1, 1, 1], 0, 1, "float32", deriveSeed(seed, 1));
      delta = tf.mul(tf.div(v, l2Norms(v)), tf.mul(eps, tf.pow(u, 1 / d))) as tf.Tensor4D;
    }
    return tf.clipByValue(tf.add(x0, delta), 0, 1) as tf.Tensor4D;
  });
}

/**
 * Throws unless every image of an attack's output lies in B(x0, eps) in Linf (1e-6 slack for float
 * rounding) and in [0,1]; a NaN fails too. |delta|_inf and the range are read back in one read: run it
 * with `runSync` (`assertInBall`) or `runAsync` (`assertInBallAsync`).
 *
 * @param attack Attack name, for the message.
 * @param xAdv The attack's output.
 * @param x0 The clean images.
 * @param eps Linf radius.
 * @returns A reading that throws where an image is outside.
 */
export function* assertInBallReading(attack: string, xAdv: tf.Tensor4D, x0: tf.Tensor4D, eps: number): Reading<void> {
  const stats = tf.tidy(() => tf.stack([tf.max(tf.abs(tf.sub(xAdv, x0))), tf.min(xAdv), tf.max(xAdv)]));
  let values: Values;
  try {
    [values] = yield* read(stats);
  } finally {
    stats.dispose();
  }
  const [linf, lo, hi] = values;
  if (!(linf <= eps + 1e-6 && lo >= 0 && hi <= 1)) {
    throw new Error(`${attack} output left B(x0, eps) or [0,1]: |delta|_inf = ${linf}, range [${lo}, ${hi}]`);
  }
}

/**
 * Throws unless every image of an attack's output lies in B(x0, eps) in Linf (1e-6 slack for float
 * rounding) and in [0,1]; a NaN fails too. Reads synchronously; `assertInBallAsync` reads asynchronously.
 *
 * @param attack Attack name, for the message.
 * @param xAdv The attack's output.
 * @param x0 The clean images.
 * @param eps Linf radius.
 * @throws {Error} Naming the attack, |delta|_inf and the range.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { assertInBall } from "./project.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const x0 = tf.fill([1, 1, 1, 1], 0.5) as tf.Tensor4D;
 * assert.throws(() => assertInBall("PGD", tf.add(x0, 0.2) as tf.Tensor4D, x0, 0.1), {
 *   message: /^PGD output left B\(x0, eps\) or \[0,1\]: \|delta\|_inf = 0\.(2|19999)/,
 * });
 * ```
 */
export function assertInBall(attack: string, xAdv: tf.Tensor4D, x0: tf.Tensor4D, eps: number): void {
  runSync("assertInBall", assertInBallReading(attack, xAdv, x0, eps));
}

/**
 * `assertInBall`, reading asynchronously.
 *
 * @param attack Attack name, for the message.
 * @param xAdv The attack's output.
 * @param x0 The clean images.
 * @param eps Linf radius.
 * @returns Once checked.
 * @throws {Error} Naming the attack, |delta|_inf and the range.
 * @example
 * ```ts
 * import { assertInBallAsync } from "./project.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const x0 = tf.fill([1, 1, 1, 1], 0.5) as tf.Tensor4D;
 * await assertInBallAsync("PGD", tf.add(x0, 0.05) as tf.Tensor4D, x0, 0.1); // passes
 * ```
 */
export async function assertInBallAsync(
  attack: string,
  xAdv: tf.Tensor4D,
  x0: tf.Tensor4D,
  eps: number,
): Promise<void> {
  await runAsync(assertInBallReading(attack, xAdv, x0, eps));
}
