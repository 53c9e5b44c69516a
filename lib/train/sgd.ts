/**
 * SGD with momentum and weight decay, as PyTorch's: v <- m v + (g + wd w); w <- w - lr v. The
 * velocities are variables, so a checkpoint can hold them.
 *
 * @module
 */
import { tf } from "../tfjs.ts";

/** An SGD optimiser over a fixed list of variables. */
export interface Sgd {
  /** One velocity per variable, in the same order. */
  readonly velocities: tf.Variable[];
  /** Applies one step with gradients in the order of the variables; disposes nothing it was given. */
  step(grads: tf.Tensor[], lr: number): void;
  /** Frees the velocities. */
  dispose(): void;
}

/**
 * Makes the optimiser.
 *
 * @param variables Trainable variables.
 * @param options `momentum` (default 0.9) and `weightDecay` (default 5e-4), the paper's SGD.
 * @returns The optimiser.
 */
export function sgd(variables: tf.Variable[], options: { momentum?: number; weightDecay?: number } = {}): Sgd {
  const momentum = options.momentum ?? 0.9, weightDecay = options.weightDecay ?? 5e-4;
  // tf.variable shares its initial value's data and keeps it alive: each zeros tensor is freed here once
  // its variable holds the data, or every optimiser would leak one tensor per variable.
  const velocities = variables.map((v) => {
    const zeros = tf.zerosLike(v);
    const velocity = tf.variable(zeros, false);
    zeros.dispose();
    return velocity;
  });
  return {
    velocities,
    step(grads, lr) {
      tf.tidy(() => {
        for (const [i, w] of variables.entries()) {
          const v = velocities[i];
          v.assign(tf.add(tf.mul(v, momentum), tf.add(grads[i], tf.mul(w, weightDecay))));
          w.assign(tf.sub(w, tf.mul(v, lr)));
        }
      });
    },
    dispose() {
      tf.dispose(velocities);
    },
  };
}
