/**
 * The statistics of a comparison between training methods, beyond one pair of models: Student's t
 * distribution, the image-sampling variance of a paired accuracy difference, and the method-level
 * interval that treats the training seed as a random effect.
 *
 * A method's accuracy varies with its seed (the training run) and with the test images. On fixed test
 * images, two seeds of one method differ by more than the paired test of one model against another can
 * see, so a method-level statement needs both parts:
 *
 *   d = mean_s acc(B, s) - mean_s acc(A, s)
 *   Var(d) = s_A^2 / S_A + s_B^2 / S_B  (seed part: the sample variances of each arm's per-seed accuracies)
 *          + Var_images(d)            (image part: McNemar's paired variance of the seed-averaged outcomes,
 *                                      a floor the estimate cannot go below, however close the seeds lie)
 *
 * with degrees of freedom by Welch-Satterthwaite (the image part counting as infinite).
 *
 * @module
 */

/** ln Gamma(x) for x > 0 (Lanczos' approximation, g = 7, 9 terms; relative error below 1e-13). */
export function lnGamma(x: number): number {
  const c = [
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  x -= 1;
  let a = c[0];
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** The continued fraction of the incomplete beta function (modified Lentz), for x < (a + 1) / (a + b + 2). */
function betaFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1, d = 1 - ((a + b) * x) / (a + 1);
  d = Math.abs(d) < tiny ? tiny : d;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    for (
      const num of [
        (m * (b - m) * x) / ((a + m2 - 1) * (a + m2)),
        -((a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1)),
      ]
    ) {
      d = 1 + num * d;
      d = Math.abs(d) < tiny ? tiny : d;
      c = 1 + num / c;
      c = Math.abs(c) < tiny ? tiny : c;
      d = 1 / d;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-15) break;
  }
  return h;
}

/**
 * The regularised incomplete beta function I_x(a, b) = B(x; a, b) / B(a, b).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { betaRegularized } from "./stats.ts";
 * assert(Math.abs(betaRegularized(0.3, 1, 1) - 0.3) < 1e-12); // Beta(1, 1) is uniform
 * assert(Math.abs(betaRegularized(0.5, 2, 2) - 0.5) < 1e-12); // symmetric
 * ```
 */
export function betaRegularized(x: number, a: number, b: number): number {
  if (!(a > 0 && b > 0)) throw new Error(`Cannot evaluate the incomplete beta as a and b must be > 0: ${a}, ${b}`);
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaFraction(a, b, x)) / a : 1 - (front * betaFraction(b, a, 1 - x)) / b;
}

/**
 * Student's t distribution function P(T <= t) with `df` degrees of freedom (df = Infinity: the normal).
 *
 *   P(T <= t) = 1 - I_{df / (df + t^2)}(df / 2, 1 / 2) / 2  for t >= 0
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { studentTCdf } from "./stats.ts";
 * assert(Math.abs(studentTCdf(1, 1) - 0.75) < 1e-12); // df 1 is Cauchy: 1/2 + atan(t) / pi
 * assert(Math.abs(studentTCdf(2.228138852, 10) - 0.975) < 1e-8); // the table's t_{0.975, 10}
 * ```
 */
export function studentTCdf(t: number, df: number): number {
  if (!(df > 0)) throw new Error(`Cannot evaluate Student's t as df must be > 0: current value is ${df}`);
  if (df === Infinity) return 0.5 * (1 + erf(t / Math.SQRT2));
  const tail = 0.5 * betaRegularized(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The error function (Abramowitz and Stegun 7.1.26 is too coarse here: a series and a continued fraction). */
function erf(x: number): number {
  // erf(x) = P(1/2, x^2) for x >= 0, the regularised lower incomplete gamma function.
  const a = 0.5, z = x * x;
  let value: number;
  if (z < a + 1) {
    let sum = 1 / a, term = 1 / a;
    for (let n = 1; n < 500 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) sum += term *= z / (a + n);
    value = sum * Math.exp(-z + a * Math.log(z) - lnGamma(a));
  } else {
    // Continued fraction for Q(a, z), modified Lentz.
    const tiny = 1e-300;
    let b = z + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
    for (let i = 1; i < 500; i++) {
      const an = -i * (i - a);
      b += 2;
      d = an * d + b;
      d = Math.abs(d) < tiny ? tiny : 1 / d;
      c = b + an / c;
      c = Math.abs(c) < tiny ? tiny : c;
      h *= d * c;
      if (Math.abs(d * c - 1) < 1e-16) break;
    }
    value = 1 - Math.exp(-z + a * Math.log(z) - lnGamma(a)) * h;
  }
  return x >= 0 ? value : -value;
}

/**
 * The t quantile: the t with P(T <= t) = p (bisection on `studentTCdf` to 1e-12).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { studentTQuantile } from "./stats.ts";
 * assert(Math.abs(studentTQuantile(0.975, 1) - 12.7062047) < 1e-6); // the table's t_{0.975, 1}
 * assert(Math.abs(studentTQuantile(0.975, Infinity) - 1.959963985) < 1e-8);
 * ```
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`Cannot take a t quantile as p must be in (0, 1): current value is ${p}`);
  let lo = -1, hi = 1;
  while (studentTCdf(lo, df) > p) lo *= 2;
  while (studentTCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, Math.abs(hi)); i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * The image-sampling variance of a paired accuracy difference acc(b) - acc(a) on the same n images,
 * from the per-image outcomes ("1" right, "0" wrong): with p10 the share right under `b` only and p01
 * under `a` only,
 *
 *   Var = (p10 + p01 - (p10 - p01)^2) / n
 *
 * the variance behind McNemar's test.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { pairedDifferenceVariance } from "./stats.ts";
 * // 4 images: b alone right on one, a alone right on none: p10 = 1/4, p01 = 0.
 * assert.strictEqual(pairedDifferenceVariance("0011", "0111"), (0.25 - 0.0625) / 4);
 * ```
 */
export function pairedDifferenceVariance(a: string, b: string): number {
  if (a.length !== b.length || a.length === 0) {
    throw new Error(`Cannot pair outcomes of ${a.length} and ${b.length} images: they must be the same, non-zero`);
  }
  let p10 = 0, p01 = 0;
  for (let i = 0; i < a.length; i++) {
    if (b[i] === "1" && a[i] !== "1") p10++;
    else if (a[i] === "1" && b[i] !== "1") p01++;
  }
  const n = a.length;
  p10 /= n;
  p01 /= n;
  return (p10 + p01 - (p10 - p01) ** 2) / n;
}

/**
 * The image-sampling variance of the seed-averaged paired difference: with z_i = mean_s (b_{s,i} - a_{s,i})
 * on image i (outcomes 1 or 0), Var = var(z) / n, the sample variance (denominator n) over the images.
 * With one seed it is `pairedDifferenceVariance`; with more it keeps the covariance the shared images
 * put between the seeds' differences.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { imageSamplingVariance, pairedDifferenceVariance } from "./stats.ts";
 * assert.strictEqual(imageSamplingVariance(["0011"], ["0111"]), pairedDifferenceVariance("0011", "0111"));
 * ```
 */
export function imageSamplingVariance(a: string[], b: string[]): number {
  const n = a[0]?.length ?? 0;
  if (n === 0 || a.length !== b.length || [...a, ...b].some((s) => s.length !== n)) {
    throw new Error("Cannot pair outcomes as every seed of both arms must hold the same, non-zero number of images");
  }
  let sum = 0, squares = 0;
  for (let i = 0; i < n; i++) {
    let z = 0;
    for (let s = 0; s < a.length; s++) z += (b[s][i] === "1" ? 1 : 0) - (a[s][i] === "1" ? 1 : 0);
    z /= a.length;
    sum += z;
    squares += z * z;
  }
  const mean = sum / n;
  return (squares / n - mean * mean) / n;
}

/** A method-level comparison of arm B against arm A (see the module's formula). */
export interface MethodLevelResult {
  /** mean_s acc(B, s) - mean_s acc(A, s). */
  difference: number;
  /** The seed part of the variance: s_A^2 / S_A + s_B^2 / S_B. */
  seedVariance: number;
  /** The image part: `imageSamplingVariance(a, b)`. */
  imageVariance: number;
  /** sqrt(seedVariance + imageVariance). */
  standardError: number;
  /** Welch-Satterthwaite degrees of freedom (the image part counted as infinite). */
  df: number;
  /** The two-sided interval difference -/+ t_{1 - alpha/2, df} standardError, at `level`. */
  interval: [number, number];
  level: number;
  /** The smallest true difference a two-sided test at 5% finds with 80% power: (t_0.975 + t_0.8) SE. */
  detectable: number;
  /** The two-sided p of difference / standardError on df. */
  pValue: number;
}

/**
 * The method-level comparison of arm B against arm A from each seed's per-image outcomes on the same test
 * images. Seeds are paired by position for the image part (seed s of A with seed s of B).
 *
 * @param a Arm A's per-image outcomes, one string per seed (at least 2 seeds).
 * @param b Arm B's, the same number of seeds and images.
 * @param level The interval's coverage. @default 0.95
 * @returns See `MethodLevelResult`.
 * @throws {Error} With fewer than 2 seeds per arm, or outcomes of different lengths.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { methodLevel } from "./stats.ts";
 * const r = methodLevel(["1100", "1000"], ["1110", "1100"]);
 * assert.strictEqual(r.difference, 0.25); // 0.625 - 0.375
 * assert(r.interval[0] < 0.25 && r.interval[1] > 0.25);
 * ```
 */
export function methodLevel(a: string[], b: string[], level = 0.95): MethodLevelResult {
  if (a.length < 2 || b.length !== a.length) {
    throw new Error(`Cannot compare methods with ${a.length} and ${b.length} seeds: it needs 2 or more each, as many`);
  }
  const acc = (s: string) => [...s].filter((c) => c === "1").length / s.length;
  const meanVar = (xs: number[]) => {
    const m = xs.reduce((s, x) => s + x, 0) / xs.length;
    return [m, xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1)];
  };
  const [mA, vA] = meanVar(a.map(acc)), [mB, vB] = meanVar(b.map(acc));
  const S = a.length;
  const partA = vA / S, partB = vB / S;
  const imageVariance = imageSamplingVariance(a, b);
  const total = partA + partB + imageVariance;
  const denominator = (partA ** 2 + partB ** 2) / (S - 1);
  const df = denominator === 0 ? Infinity : total ** 2 / denominator;
  const se = Math.sqrt(total);
  const difference = mB - mA;
  const half = studentTQuantile(1 - (1 - level) / 2, df) * se;
  return {
    difference,
    seedVariance: partA + partB,
    imageVariance,
    standardError: se,
    df,
    interval: [difference - half, difference + half],
    level,
    detectable: (studentTQuantile(0.975, df) + studentTQuantile(0.8, df)) * se,
    pValue: 2 * (1 - studentTCdf(Math.abs(difference) / se, df)),
  };
}

/**
 * The naive seed-level paired t-test: the per-seed differences d_s = acc(B, s) - acc(A, s), and
 * t = mean(d) / (sd(d) / sqrt(S)) on S - 1 degrees of freedom. It ignores that each d_s carries the
 * image-sampling noise of its own test: with 2 seeds it has 1 degree of freedom, and two d_s that happen
 * to lie close give a tiny sd and a small p. `methodLevel` is the comparison to report.
 *
 * @returns The per-seed differences, t, df and the two-sided p.
 */
export function naiveSeedTTest(
  a: string[],
  b: string[],
): { differences: number[]; t: number; df: number; pValue: number } {
  const acc = (s: string) => [...s].filter((c) => c === "1").length / s.length;
  const d = a.map((s, i) => acc(b[i]) - acc(s));
  const m = d.reduce((s, x) => s + x, 0) / d.length;
  const sd = Math.sqrt(d.reduce((s, x) => s + (x - m) ** 2, 0) / (d.length - 1));
  const t = m / (sd / Math.sqrt(d.length));
  const df = d.length - 1;
  return { differences: d, t, df, pValue: 2 * (1 - studentTCdf(Math.abs(t), df)) };
}
