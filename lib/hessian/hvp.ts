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
 * Cost of one product, in passes of the model (a backward pass costs about two forward ones):
 *
 * | method  | forward passes | backward passes                                       |
 * | ------- | -------------- | ----------------------------------------------------- |
 * | forward | 1              | 1 (g(x) given; 2 and 2 without it)                   |
 * | central | 2              | 2                                                     |
 * | exact   | 2              | 2, plus 1 backward pass of a backward pass (J v)      |
 *
 * In float32 the finite differences fail for small xi: x + xi v rounds back to x wherever
 * xi |v_i| < ulp(x_i) / 2 (about 3e-8 for pixels near 0.5), so with the paper's xi = 1e-6 and a unit
 * vector v in d = 3072 dimensions (|v_i| ~ 0.018) most coordinates do not move at all.
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import { type Classifier, lossAndGradient, numClasses } from "../core.ts";

/** How a Hessian-vector product is computed. */
export type HvpMethod = "forward" | "central" | "exact";

/** The methods `hessianVectorProduct` accepts. */
export const HVP_METHODS: readonly HvpMethod[] = ["forward", "central", "exact"];

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
 * J v for the logits z = f(x), by the double-VJP identity J v = grad_u ((J^T u) . v) at u = 0, with
 * the logits z of the same forward pass. One forward pass, one backward pass, and one backward pass
 * of that backward pass.
 *
 * @param f Classifier.
 * @param x Images.
 * @param v Directions, the shape of x.
 * @returns `{ jv: [n, classes], logits: [n, classes] }`; the caller disposes both.
 * @throws {Error} If an op of f has no gradient of its backward pass in TensorFlow.js (named).
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { jacobianVectorProduct } from "./hvp.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * // z = 3 x (one pixel, three classes): J v = 3 v.
 * const f = (x: tf.Tensor4D) => tf.reshape(tf.mul(x, 3), [1, 3]) as tf.Tensor2D;
 * const x = tf.tensor4d([0.1, 0.2, 0.3], [1, 1, 1, 3]), v = tf.tensor4d([1, 0, 2], [1, 1, 1, 3]);
 * const { jv, logits } = jacobianVectorProduct(f, x, v);
 * assert.deepStrictEqual(jv.arraySync(), [[3, 0, 6]]);
 * tf.dispose([x, v, jv, logits]);
 * ```
 */
export function jacobianVectorProduct(
  f: Classifier,
  x: tf.Tensor4D,
  v: tf.Tensor4D,
): { jv: tf.Tensor2D; logits: tf.Tensor2D } {
  let logits: tf.Tensor2D | undefined;
  const vjp = (u: tf.Tensor) =>
    tf.grad((xi: tf.Tensor) => {
      const z = f(xi as tf.Tensor4D);
      logits = tf.keep(tf.clone(z)); // the forward pass's logits, kept out of tf.grad's disposal
      return tf.sum(tf.mul(z, u));
    })(x);
  try {
    // u's shape [n, C] needs C, the logits' width (learnt once per classifier); J v does not depend on u.
    const classes = numClasses(f, x);
    const jv = tf.tidy(() =>
      tf.grad((u: tf.Tensor) => tf.sum(tf.mul(vjp(u), v)))(tf.zeros([x.shape[0], classes])) as tf.Tensor2D
    );
    const out = { jv, logits: tf.clone(logits!) };
    logits!.dispose();
    return out;
  } catch (e) {
    logits?.dispose();
    const op = String((e as Error).message).match(/not found for (\w+)/)?.[1];
    throw new Error(
      `Cannot compute an exact Hessian-vector product as TensorFlow.js has no gradient of the backward pass of op: ${
        op ?? (e as Error).message
      }`,
    );
  }
}

/**
 * Hessian-vector product of the cross-entropy with respect to the input, per example: H v with
 * H = hess_x L(f(x), y), by the method of the module doc (forward, central or exact).
 *
 * @param f Classifier (in eval mode for ResNet18).
 * @param x Images, NHWC.
 * @param y int32 labels.
 * @param v Vectors, the shape of x.
 * @param options `method` (default "forward"), `xi` (default 1e-6), `grad` (g(x), optional).
 * @returns Hv, the shape of x; the caller disposes.
 * @throws {Error} If the method is unknown, xi is not positive, v's shape differs from x's, or
 *   (exact) an op of f has no second derivative in TensorFlow.js (the message names it).
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { hessianVectorProduct } from "./hvp.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * // Two classes, z = (x, 0) on a one-pixel image: H = p (1 - p) = 0.25 at x = 0.
 * const f = (x: tf.Tensor4D) => tf.concat([tf.reshape(x, [1, 1]), tf.zeros([1, 1])], 1) as tf.Tensor2D;
 * const x = tf.zeros([1, 1, 1, 1]) as tf.Tensor4D, y = tf.tensor1d([0], "int32");
 * const v = tf.ones([1, 1, 1, 1]) as tf.Tensor4D;
 * const hv = hessianVectorProduct(f, x, y, v, { method: "exact" });
 * assert.strictEqual(hv.dataSync()[0], 0.25);
 * tf.dispose([x, y, v, hv]);
 * ```
 */
export function hessianVectorProduct(
  f: Classifier,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  v: tf.Tensor4D,
  options: HvpOptions = {},
): tf.Tensor4D {
  const method = options.method ?? "forward", xi = options.xi ?? 1e-6;
  if (!HVP_METHODS.includes(method)) {
    throw new Error(
      `Cannot compute a Hessian-vector product as method must be forward, central or exact: current value is ${method}`,
    );
  }
  if (v.shape.join(",") !== x.shape.join(",")) {
    throw new Error(
      `Cannot compute a Hessian-vector product as v must have x's shape [${x.shape}]: current shape is [${v.shape}]`,
    );
  }
  if (method !== "exact" && !(typeof xi === "number" && xi > 0)) {
    throw new Error(
      `Cannot compute a finite-difference Hessian-vector product as xi must be > 0: current value is ${xi}`,
    );
  }
  if (method === "exact") {
    const { jv, logits } = jacobianVectorProduct(f, x, v);
    return tf.tidy(() => {
      // (diag(p) - p p^T) J v, per example, then J^T of it.
      const p = tf.softmax(logits);
      const w = tf.sub(tf.mul(p, jv), tf.mul(p, tf.sum(tf.mul(p, jv), 1, true)));
      tf.dispose([jv, logits]);
      return tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(f(xi as tf.Tensor4D), w)))(x) as tf.Tensor4D;
    });
  }
  return tf.tidy(() => {
    const plus = lossAndGradient(f, tf.add(x, tf.mul(v, xi)) as tf.Tensor4D, y).grad;
    if (method === "central") {
      const minus = lossAndGradient(f, tf.sub(x, tf.mul(v, xi)) as tf.Tensor4D, y).grad;
      return tf.div(tf.sub(plus, minus), 2 * xi) as tf.Tensor4D;
    }
    const g = options.grad ?? lossAndGradient(f, x, y).grad;
    return tf.div(tf.sub(plus, g), xi) as tf.Tensor4D;
  });
}

/**
 * Share of coordinates, per example, that x + xi v actually changes in float32:
 * mean_i [fl(x_i + xi v_i) != x_i].
 *
 * @param x Images.
 * @param v Directions.
 * @param xi Step.
 * @returns [n] shares in [0, 1]; the caller disposes.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { changedShare } from "./hvp.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const x = tf.fill([1, 1, 1, 2], 0.5) as tf.Tensor4D, v = tf.tensor4d([1, 1e-3], [1, 1, 1, 2]);
 * assert.strictEqual(changedShare(x, v, 1e-6).dataSync()[0], 0.5); // 0.5 + 1e-9 rounds back to 0.5
 * ```
 */
export function changedShare(x: tf.Tensor4D, v: tf.Tensor4D, xi: number): tf.Tensor1D {
  return tf.tidy(() => tf.mean(tf.cast(tf.notEqual(tf.add(x, tf.mul(v, xi)), x), "float32"), [1, 2, 3]) as tf.Tensor1D);
}
