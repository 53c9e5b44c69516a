/**
 * Learning-rate schedules (SPEC section 4). `progress` is the fraction of training done, in [0, 1].
 *
 * @module
 */

/**
 * One-cycle (the paper's "cyclic" schedule): linear from 0 up to lrMax at `peak` (default 2/5 of
 * training), then linear down to 0 at the end.
 *
 * @param lrMax Peak learning rate (the paper: 0.1).
 * @param progress Fraction of training done, in [0, 1].
 * @param peak Where the peak sits. @default 0.4
 * @returns The learning rate.
 */
export function oneCycle(lrMax: number, progress: number, peak = 0.4): number {
  const p = Math.min(Math.max(progress, 0), 1);
  return p <= peak ? lrMax * p / peak : lrMax * (1 - p) / (1 - peak);
}

/**
 * Piecewise constant: lr, divided by 10 at 50% and again at 75% of training (Madry et al.'s shape).
 *
 * @param lr Initial learning rate.
 * @param progress Fraction of training done, in [0, 1].
 * @returns The learning rate.
 */
export function piecewise(lr: number, progress: number): number {
  return progress < 0.5 ? lr : progress < 0.75 ? lr / 10 : lr / 100;
}
