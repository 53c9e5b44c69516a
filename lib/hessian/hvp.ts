/**
 * Hessian-vector products of the loss with respect to the input (SPEC section 2), per example:
 * H = hess_x L(f(x), y), applied to v.
 *
 * - forward:  Hv ~ (g(x + xi v) - g(x)) / xi                 (the paper's finite difference, error O(xi))
 * - central:  Hv ~ (g(x + xi v) - g(x - xi v)) / (2 xi)      (error O(xi^2))
 * - exact:    Hv = J^T (diag(p) - p p^T) J v,  J = dz/dx, p = softmax(z), z = f(x)
 *
 * Why "exact" is that product: by the chain rule hess_x L = J^T (diag(p) - p p^T) J +
 * sum_c (p_c - [c = y]) hess_x z_c. For a classifier whose logits are piecewise affine in x (ReLU
 * networks with BatchNorm in eval mode, average pooling and dense layers: ResNet18 in eval mode, and
 * any linear model) hess_x z_c = 0 off the measure-zero set of ReLU kinks, so the first term is the
 * whole Hessian almost everywhere. We compute it this way because TensorFlow.js cannot differentiate
 * the gradient of the cross-entropy twice: Exp's gradient multiplies by its saved output, which the
 * outer tape does not connect to x (plain double backprop gives a wrong number for a linear softmax
 * model, not an error). J v comes from the double-VJP identity J v = grad_u ((J^T u) . v), which
 * differentiates only the backward pass's linear dependence on u. For a model with curved logits
 * (tanh, softplus) the result is the Gauss-Newton part of the Hessian, not all of it.
 *
 * g = grad_x sum_i L(f(x_i), y_i), so with a model in eval mode (no BatchNorm batch coupling) each
 * example's rows are that example's own gradient and Hessian-vector product.
 *
 * In float32 the finite differences fail for small xi: x + xi v rounds back to x wherever
 * xi |v_i| < ulp(x_i) / 2 (about 3e-8 for pixels near 0.5), so with the paper's xi = 1e-6 and a unit
 * vector v in d = 3072 dimensions (|v_i| ~ 0.018) most coordinates do not move at all.
 *
 * @module
 */
import { tf } from "../backend.ts";
import type { Classifier } from "../models/resnet18.ts";
import { lossAndGradient } from "../attacks/project.ts";

/** How a Hessian-vector product is computed. */
export type HvpMethod = "forward" | "central" | "exact";

/** Options of `hessianVectorProduct`. */
export interface HvpOptions {
  /** Forward or central difference, or exact double backpropagation. @default "forward" (the paper's) */
  method?: HvpMethod;
  /** Finite-difference step, absolute, on the [0,1] pixel scale. @default 1e-6 (the paper's) */
  xi?: number;
  /** g(x) if already computed (the forward difference then costs one gradient, not two). */
  grad?: tf.Tensor4D;
}

/**
 * J v for the logits z = f(x), by the double-VJP identity J v = grad_u ((J^T u) . v) at u = 0.
 *
 * @returns [n, classes]; the caller disposes.
 */
export function jacobianVectorProduct(f: Classifier, x: tf.Tensor4D, v: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => {
    const z = f(x);
    const vjp = (u: tf.Tensor) => tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(f(xi as tf.Tensor4D), u)))(x);
    try {
      return tf.grad((u: tf.Tensor) => tf.sum(tf.mul(vjp(u), v)))(tf.zerosLike(z)) as tf.Tensor2D;
    } catch (e) {
      const op = String((e as Error).message).match(/not found for (\w+)/)?.[1];
      throw new Error(
        `Cannot compute an exact Hessian-vector product as TensorFlow.js has no gradient of the backward pass of op: ${
          op ?? (e as Error).message
        }`,
      );
    }
  });
}

/**
 * Hessian-vector product of the cross-entropy with respect to the input, per example.
 *
 * @param f Classifier (in eval mode for ResNet18).
 * @param x Images, NHWC.
 * @param y int32 labels.
 * @param v Vectors, the shape of x.
 * @param options `method` (default "forward"), `xi` (default 1e-6), `grad` (g(x), optional).
 * @returns Hv, the shape of x; the caller disposes.
 * @throws {Error} If xi is not positive, v's shape differs from x's, or (exact) an op of f has no
 *   second derivative in TensorFlow.js (the message names it).
 */
export function hessianVectorProduct(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  v: tf.Tensor4D,
  options: HvpOptions = {},
): tf.Tensor4D {
  const method = options.method ?? "forward", xi = options.xi ?? 1e-6;
  if (v.shape.join(",") !== x.shape.join(",")) {
    throw new Error(
      `Cannot compute a Hessian-vector product as v must have x's shape [${x.shape}]: current shape is [${v.shape}]`,
    );
  }
  if (method !== "exact" && !(xi > 0)) {
    throw new Error(
      `Cannot compute a finite-difference Hessian-vector product as xi must be > 0: current value is ${xi}`,
    );
  }
  return tf.tidy(() => {
    if (method === "exact") {
      const p = tf.softmax(f(x));
      const jv = jacobianVectorProduct(f, x, v);
      // (diag(p) - p p^T) J v, per example.
      const w = tf.sub(tf.mul(p, jv), tf.mul(p, tf.sum(tf.mul(p, jv), 1, true)));
      return tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(f(xi as tf.Tensor4D), w)))(x) as tf.Tensor4D;
    }
    const plus = lossAndGradient(f, tf.add(x, tf.mul(v, xi)) as tf.Tensor4D, y).grad;
    if (method === "central") {
      const minus = lossAndGradient(f, tf.sub(x, tf.mul(v, xi)) as tf.Tensor4D, y).grad;
      return tf.div(tf.sub(plus, minus), 2 * xi) as tf.Tensor4D;
    }
    if (method !== "forward") {
      throw new Error(
        `Cannot compute a Hessian-vector product as method must be forward, central or exact: current value is ${method}`,
      );
    }
    const g = options.grad ?? lossAndGradient(f, x, y).grad;
    return tf.div(tf.sub(plus, g), xi) as tf.Tensor4D;
  });
}

/**
 * Share of coordinates, per example, that x + xi v actually changes in float32.
 *
 * @param x Images.
 * @param v Directions.
 * @param xi Step.
 * @returns [n] shares in [0, 1]; the caller disposes.
 */
export function changedShare(x: tf.Tensor4D, v: tf.Tensor4D, xi: number): tf.Tensor1D {
  return tf.tidy(() => tf.mean(tf.cast(tf.notEqual(tf.add(x, tf.mul(v, xi)), x), "float32"), [1, 2, 3]) as tf.Tensor1D);
}
