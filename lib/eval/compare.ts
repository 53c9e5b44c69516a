/**
 * Paired comparisons of evaluation reports on the same test images: McNemar's exact test (`mcnemar`) of
 * their per-image outcomes, per measurement (clean, PGD, HAAT, AutoAttack), for one pair of reports or pooled over
 * several (each image of each pair one pair of outcomes), and the attack settings in which two reports
 * differ. `deno task compare` and `results/summary.ts` both pair reports with these.
 *
 * @module
 */
import { HAAT_DEFAULTS, HAAT_OPTION_NAMES } from "../attacks/haat.ts";
import type { EvaluationReport } from "./options.ts";
import { mcnemar, type McNemarResult, outcomesFromString } from "./paired.ts";

/** The measurements with per-image outcomes that reports can be paired on. */
export const PAIRED_METRICS = ["clean", "pgd", "haat", "autoattack"] as const;

/** A measurement with per-image outcomes. */
export type PairedMetric = typeof PAIRED_METRICS[number];

/**
 * Per-image outcomes of a report, as strings of 0 and 1: `EvaluationReport.perImage`, and AutoAttack's
 * (`autoattack.perImage`, on its own first images) where one ran.
 */
export type PerImageOutcomes = { clean: string; pgd: string; haat?: string; autoattack?: string };

/** McNemar's exact test of one measurement, with both sides' accuracies. */
export interface PairedComparison extends McNemarResult {
  metric: PairedMetric;
  /** Accuracy of the first side, (both + onlyFirst) / n. */
  firstAccuracy: number;
  /** Accuracy of the second side, (both + onlySecond) / n. */
  secondAccuracy: number;
}

/**
 * McNemar's exact test of each measurement that every pair has, each image of each pair one pair of
 * outcomes: one pair of reports gives the plain test, several (of different seeds, say) the pooled one.
 *
 * With b, c the images only the first (only the second) side gets right, summed over the pairs,
 * p = min(1, 2 sum_{i <= min(b, c)} C(b + c, i) / 2^(b + c)).
 *
 * @param pairs Per pair, the first and the second report's per-image outcomes (the same images).
 * @returns One comparison per measurement in `PAIRED_METRICS` that every outcome of every pair has.
 * @throws {Error} If the two sides of a pair hold different numbers of images, or there are no pairs.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { pairOutcomes } from "./compare.ts";
 * const first = { clean: "1111", pgd: "1100" }, second = { clean: "1110", pgd: "0100" };
 * const [clean, pgd] = pairOutcomes([[first, second]]);
 * assert.strictEqual(clean.metric, "clean");
 * assert.strictEqual(clean.firstAccuracy, 1);
 * assert.strictEqual(clean.secondAccuracy, 0.75);
 * assert.strictEqual(pgd.onlyFirst, 1);
 * ```
 */
export function pairOutcomes(pairs: readonly (readonly [PerImageOutcomes, PerImageOutcomes])[]): PairedComparison[] {
  if (pairs.length === 0) throw new Error("Cannot pair reports as none were given: give at least one pair");
  return PAIRED_METRICS.flatMap((metric) => {
    if (pairs.some(([a, b]) => a[metric] === undefined || b[metric] === undefined)) return [];
    const first = pairs.flatMap(([a]) => outcomesFromString(a[metric]!));
    const second = pairs.flatMap(([, b]) => outcomesFromString(b[metric]!));
    const r = mcnemar(first, second);
    return [{
      metric,
      firstAccuracy: (r.both + r.onlyFirst) / r.n,
      secondAccuracy: (r.both + r.onlySecond) / r.n,
      ...r,
    }];
  });
}

/** What of a report names its attacks' settings (reports of every version: older ones lack some). */
export type ReportSettings = Pick<EvaluationReport, "eps" | "pgdSteps" | "alpha" | "seed" | "batchSize"> & {
  haat?: Partial<EvaluationReport["haat"]>;
};

/**
 * The attack settings in which two reports differ, as `name (first and second)`: PGD's always, HAAT's
 * (every option) where both have it. What a report does not record is what it ran with: reports written
 * before alpha, seed and batch size were recorded used 2/255, 0 and 128, and those written before every
 * HAAT option was recorded `HAAT_DEFAULTS`' (with the report's eps and seed).
 *
 * @param first A report.
 * @param second Another.
 * @returns One entry per differing setting; empty if none.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { settingDifferences } from "./compare.ts";
 * const a = { eps: 8 / 255, pgdSteps: 20, haat: { steps: 20, k: 5, xi: 1e-6 } };
 * const b = { eps: 8 / 255, pgdSteps: 20, haat: { steps: 20, k: 5, xi: 1e-6, w2: 0.5 } };
 * assert.deepStrictEqual(settingDifferences(a, b), ["haat w2 (0.25 and 0.5)"]);
 * ```
 */
export function settingDifferences(first: ReportSettings, second: ReportSettings): string[] {
  const both = first.haat !== undefined && second.haat !== undefined;
  const settings = (r: ReportSettings): Record<string, unknown> => {
    const haat = { ...HAAT_DEFAULTS, eps: r.eps, seed: r.seed ?? 0, ...r.haat };
    return {
      eps: r.eps,
      pgdSteps: r.pgdSteps,
      alpha: r.alpha ?? 2 / 255,
      seed: r.seed ?? 0,
      batchSize: r.batchSize ?? 128,
      ...(both ? Object.fromEntries(HAAT_OPTION_NAMES.map((name) => [`haat ${name}`, haat[name]])) : {}),
    };
  };
  const a = settings(first), b = settings(second);
  return Object.keys(a).filter((k) => a[k] !== b[k]).map((k) => `${k} (${a[k]} and ${b[k]})`);
}
