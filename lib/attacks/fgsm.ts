/**
 * FGSM (Goodfellow et al. 2014), SPEC section 1: x = clip01(x0 + eps sign(g(x0))), or in L2
 * x = clip01(x0 + eps g / |g|_2).
 *
 * @module
 */
import { tf } from "../backend.ts";
import type { Classifier } from "../models/resnet18.ts";
import { ascentDirection, checkEps, checkInputs, lossAndGradient, type Norm, project } from "./project.ts";

/** Options of `fgsm`. */
export interface FgsmOptions {
  /** Radius on the [0,1] pixel scale. @default 8/255 (the paper's eps) */
  eps?: number;
  /** Ball norm. @default "linf" */
  norm?: Norm;
}

/**
 * Fast gradient sign method: one step of size eps along the ascent direction.
 *
 * @param f Classifier (logits of images in [0,1]).
 * @param x Clean images, NHWC in [0,1].
 * @param y int32 labels.
 * @param options `eps` (default 8/255), `norm` (default "linf").
 * @returns Adversarial images in B(x0, eps) and [0,1]; the caller disposes.
 * @throws {Error} If eps is out of range or x, y have bad shapes or values.
 * @example
 * ```ts ignore
 * const xAdv = fgsm(model.logits, x, y, { eps: 8 / 255 });
 * ```
 */
export function fgsm(f: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, options: FgsmOptions = {}): tf.Tensor4D {
  const eps = options.eps ?? 8 / 255, norm = options.norm ?? "linf";
  checkEps("FGSM", eps, norm, x.size / Math.max(x.shape[0], 1));
  checkInputs("FGSM", x, y);
  return tf.tidy(() => {
    const { grad } = lossAndGradient(f, x, y);
    return project(tf.add(x, tf.mul(ascentDirection(grad, norm), eps)) as tf.Tensor4D, x, eps, norm);
  });
}
