/**
 * The main comparison at the level of the methods (issue 26): each HAAT arm against PGD-AT, with the seed
 * as a random effect and McNemar's image-sampling variance as a floor (`methodLevel`), the smallest effect
 * the design finds with 80% power, an equivalence check at a margin of 1 point (the 90% interval inside
 * -1..+1), and the naive seed-level t-test beside it to show its trap.
 *
 *   deno run -A results/method_level.ts           Markdown table
 *   deno run -A results/method_level.ts --json    one JSON line per comparison
 *   deno run -A results/method_level.ts --finetune    issue 27's fine-tunes (`FINETUNE_ARMS`), AutoAttack too
 *
 * @module
 */
import type { PairedMetric } from "../lib/eval/compare.ts";
import { methodLevel, naiveSeedTTest } from "../lib/eval/stats.ts";
import { type Arm, armsOf, MAIN_ARMS } from "./summary.ts";

/** The equivalence margin, in accuracy (1 point). */
export const MARGIN = 0.01;

/** One arm against the first on one measurement. */
export interface MethodRow {
  arm: string;
  against: string;
  metric: Metric;
  n: number;
  difference: number;
  interval95: [number, number];
  interval90: [number, number];
  standardError: number;
  imageStandardError: number;
  df: number;
  pValue: number;
  detectable: number;
  /** The 90% interval lies inside -MARGIN..+MARGIN (two one-sided tests at 5%). */
  equivalent: boolean;
  naive: { differences: number[]; t: number; pValue: number };
}

/** The measurements a row can hold: per-image outcomes of a report.json (`PAIRED_METRICS`). */
export type Metric = PairedMetric;

/**
 * Every arm against the first (PGD-AT), on each measurement's per-image outcomes: clean, PGD-20 and HAAT-20
 * over all 10,000 test records, AutoAttack's over the first 932.
 *
 * @param root The results directory.
 * @param arms The arms, the first the one the others are held against. @default MAIN_ARMS
 * @param metrics The measurements. @default clean, PGD-20 and HAAT-20
 */
export async function methodRows(
  root = new URL(".", import.meta.url).pathname,
  arms: Arm[] = MAIN_ARMS,
  metrics: Metric[] = ["clean", "pgd", "haat"],
): Promise<MethodRow[]> {
  const outcomes = async (run: string, metric: Metric) => {
    const report = JSON.parse(await Deno.readTextFile(`${root}/${run}/report.json`));
    const found = metric === "autoattack" ? report.autoattack?.perImage : report.perImage?.[metric];
    if (typeof found !== "string") throw new Error(`Cannot compare as ${root}/${run}/report.json has no ${metric} outcomes`);
    return found as string;
  };
  const missing = [];
  for (const run of arms.flatMap((a) => a.runs)) {
    if (!(await Deno.stat(`${root}/${run}/report.json`).catch(() => null))) missing.push(run);
  }
  if (missing.length > 0) {
    throw new Error(
      `Cannot compare the methods as ${missing.length} run(s) have no report.json yet: ${missing.join(", ")} ` +
        "(their evaluation resumes with the command in results/README.md)",
    );
  }
  const [first, ...others] = arms;
  const rows: MethodRow[] = [];
  for (const arm of others) {
    for (const metric of metrics) {
      const a = await Promise.all(first.runs.map((r) => outcomes(r, metric)));
      const b = await Promise.all(arm.runs.map((r) => outcomes(r, metric)));
      const r95 = methodLevel(a, b, 0.95), r90 = methodLevel(a, b, 0.9);
      const naive = naiveSeedTTest(a, b);
      rows.push({
        arm: arm.name,
        against: first.name,
        metric,
        n: a[0].length,
        difference: r95.difference,
        interval95: r95.interval,
        interval90: r90.interval,
        standardError: r95.standardError,
        imageStandardError: Math.sqrt(r95.imageVariance),
        df: r95.df,
        pValue: r95.pValue,
        detectable: r95.detectable,
        equivalent: r90.interval[0] > -MARGIN && r90.interval[1] < MARGIN,
        naive: { differences: naive.differences, t: naive.t, pValue: naive.pValue },
      });
    }
  }
  return rows;
}

const pts = (v: number) => (100 * v).toFixed(2);

const METRIC_NAMES: Record<Metric, string> = {
  clean: "clean",
  pgd: "PGD-20",
  haat: "HAAT-20",
  autoattack: "AutoAttack",
};

/** The Markdown table of the rows. */
export function methodTable(rows: MethodRow[]): string {
  const lines = [
    "| arm | measurement | difference (points) | 95% interval | SE (images only) | df | p | detectable (80% power) | within +/-1 point (90% interval) | naive seed t-test: differences, p |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.arm} | ${METRIC_NAMES[r.metric]} | ` +
        `${r.difference >= 0 ? "+" : ""}${pts(r.difference)} | ${pts(r.interval95[0])} to ${pts(r.interval95[1])} | ` +
        `${pts(r.standardError)} (${pts(r.imageStandardError)}) | ${r.df.toFixed(1)} | ${r.pValue.toFixed(3)} | ` +
        `${pts(r.detectable)} | ${r.equivalent ? "yes" : "no"} (${pts(r.interval90[0])} to ${pts(r.interval90[1])}) | ` +
        `${r.naive.differences.map(pts).join(", ")}; p = ${r.naive.pValue.toFixed(3)} |`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const finetune = Deno.args.includes("--finetune");
  const rows = await methodRows(
    undefined,
    armsOf(Deno.args),
    finetune ? ["clean", "pgd", "haat", "autoattack"] : undefined,
  );
  if (Deno.args.includes("--json")) for (const r of rows) console.log(JSON.stringify(r));
  else console.log(methodTable(rows));
}
