/**
 * Paired comparison of two models on the same test images: McNemar's exact test on the images where
 * exactly one of them is right.
 *
 * @module
 */

/** The 2x2 table of two models' per-image outcomes and McNemar's exact test on it. */
export interface McNemarResult {
  /** Images compared. */
  n: number;
  /** Right by both. */
  both: number;
  /** Right by the first only (b). */
  onlyFirst: number;
  /** Right by the second only (c). */
  onlySecond: number;
  /** Right by neither. */
  neither: number;
  /** Share of images where the models disagree, (b + c) / n. */
  disagreement: number;
  /** Accuracy difference, first minus second, (b - c) / n. */
  difference: number;
  /**
   * Two-sided exact p-value: under H0 (either model is as likely to be the one right), b ~ Binomial(b + c, 1/2),
   * p = min(1, 2 sum_{i <= min(b, c)} C(b + c, i) / 2^(b + c)); 1 when b + c = 0.
   */
  pValue: number;
}

/** log C(m, i) by sums of logs (exact enough for m up to millions). */
function logChoose(m: number, i: number): number {
  let s = 0;
  for (let j = 1; j <= i; j++) s += Math.log(m - i + j) - Math.log(j);
  return s;
}

/**
 * McNemar's exact test of two models' per-image correctness on the same images.
 *
 * b = #(first right, second wrong), c = #(first wrong, second right);
 * p = min(1, 2 sum_{i=0}^{min(b,c)} C(b+c, i) 2^-(b+c)).
 *
 * @param first Per image, whether the first model is right (clean, or robust under an attack).
 * @param second The same images, the second model.
 * @returns The table, the disagreement share, the accuracy difference and the p-value.
 * @throws {Error} If the two lists differ in length or are empty.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { mcnemar } from "./paired.ts";
 * // b = 8 images only the first gets right, c = 2 only the second: p = 2 (1 + 10 + 45) / 1024 = 0.109.
 * const first = [...Array(8).fill(true), false, false, true];
 * const second = [...Array(8).fill(false), true, true, true];
 * assert.strictEqual(mcnemar(first, second).pValue.toFixed(3), "0.109");
 * ```
 */
export function mcnemar(first: readonly boolean[], second: readonly boolean[]): McNemarResult {
  if (first.length !== second.length) {
    throw new Error(
      `Cannot pair the models as they were scored on different numbers of images: ${first.length} and ${second.length}`,
    );
  }
  if (first.length === 0) throw new Error("Cannot pair the models on 0 images");
  let both = 0, onlyFirst = 0, onlySecond = 0;
  for (let i = 0; i < first.length; i++) {
    if (first[i] && second[i]) both++;
    else if (first[i]) onlyFirst++;
    else if (second[i]) onlySecond++;
  }
  const n = first.length, m = onlyFirst + onlySecond;
  let pValue = 1;
  if (m > 0) {
    const k = Math.min(onlyFirst, onlySecond);
    let tail = 0;
    for (let i = 0; i <= k; i++) tail += Math.exp(logChoose(m, i) - m * Math.LN2);
    pValue = Math.min(1, 2 * tail);
  }
  return {
    n,
    both,
    onlyFirst,
    onlySecond,
    neither: n - both - m,
    disagreement: m / n,
    difference: (onlyFirst - onlySecond) / n,
    pValue,
  };
}

/**
 * Per-image outcomes as a string of "0" and "1" (how reports store them), and back.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { outcomesFromString, outcomesToString } from "./paired.ts";
 * assert.strictEqual(outcomesToString([true, false, true]), "101");
 * assert.deepStrictEqual(outcomesFromString("101"), [true, false, true]);
 * ```
 */
export function outcomesToString(outcomes: readonly boolean[]): string {
  return outcomes.map((o) => (o ? "1" : "0")).join("");
}

/** The inverse of `outcomesToString`; throws on any character but 0 and 1. */
export function outcomesFromString(s: string): boolean[] {
  if (!/^[01]*$/.test(s)) throw new Error("Cannot read per-image outcomes: they must be a string of 0 and 1");
  return [...s].map((c) => c === "1");
}
