/**
 * The comparison table of issue 13's main experiment, from the run directories alone: per run, how far it
 * trained, its best epoch and epoch times, and (once evaluated) clean, PGD-20, HAAT-20 and AutoAttack
 * accuracy; per arm, the mean over seeds with each seed's value; per seed, McNemar's exact test of each
 * arm against the first on the same test images (`mcnemar`), and the same test over all seeds at once.
 *
 *   deno run -A results/summary.ts            # the main comparison, as Markdown
 *   deno run -A results/summary.ts --json     # the same as JSON lines
 *   deno run -A results/summary.ts --finetune # issue 27's fine-tunes (`FINETUNE_ARMS`; --json too)
 *
 * Notebooks 03 and 05 import `summarize` to present the same numbers.
 *
 * @module
 */
import type { EpochMetrics } from "../mod.ts";
import { outcomesFromString } from "../lib/eval/paired.ts";
import { pairOutcomes, type PairedMetric, type PerImageOutcomes } from "../lib/eval/compare.ts";

/** The first test records whose bytes are the official ones in `cifar10-full` (its README). */
export const OFFICIAL_TEST_RECORDS = 932;

/** One arm of the comparison: a name and its runs (directories under `results/`), one per seed. */
export interface Arm {
  name: string;
  runs: string[];
}

/** The main comparison (`results/arms.sh`): PGD-AT first, the arm the others are paired against. */
export const MAIN_ARMS: Arm[] = [
  { name: "PGD-AT", runs: ["pgd-w16-s0", "pgd-w16-s1"] },
  { name: "HAAT-AT, xi = 1e-6 (paper)", runs: ["haat-paper-w16-s0", "haat-paper-w16-s1"] },
  { name: "HAAT-AT, xi = 1e-5 (resolved)", runs: ["haat-fd-w16-s0", "haat-fd-w16-s1"] },
];

/**
 * Issue 27's question at the operating point (`results/finetune.sh`): fine-tunes of fgsm-rs-w16 with PGD-AT
 * and with warm-started HAAT-AT, the same 10,000 images per seed, seeds 0 to 2. PGD-AT first.
 */
export const FINETUNE_ARMS: Arm[] = [
  { name: "PGD-AT fine-tune", runs: ["finetune/pgd-s0", "finetune/pgd-s1", "finetune/pgd-s2"] },
  {
    name: "warm HAAT-AT fine-tune",
    runs: ["finetune/haat-warm-s0", "finetune/haat-warm-s1", "finetune/haat-warm-s2"],
  },
];

/** The arms a command line names: `--finetune` for `FINETUNE_ARMS`, else `MAIN_ARMS`. */
export function armsOf(args: readonly string[]): Arm[] {
  return args.includes("--finetune") ? FINETUNE_ARMS : MAIN_ARMS;
}

/** What one run's directory says. */
export interface RunSummary {
  run: string;
  seed: number | null;
  epochs: number;
  epochsPlanned: number | null;
  /** The epoch lines of `metrics.jsonl`, one per epoch (the last, where a resumed run logged one twice), in order. */
  epochLines: EpochMetrics[];
  /** Epoch with the best validation PGD accuracy (the `best/` model), and that accuracy. */
  bestEpoch: number | null;
  bestValPgd: number | null;
  /** Wall seconds of the fastest and the median epoch. */
  fastestEpochSeconds: number | null;
  medianEpochSeconds: number | null;
  /** The evaluation of `best/`, once `report.json` exists. */
  report: EvaluationSummary | null;
  /** Per-image outcomes for the paired tests (not printed). */
  perImage: PerImageOutcomes | null;
  /** The test files the report scored, by SHA-256 (paired tests need the same). */
  data: unknown;
}

/** The evaluation numbers of one run. */
export interface EvaluationSummary {
  n: number;
  clean: number;
  pgd: number;
  /** Clean and PGD-20 on the first `OFFICIAL_TEST_RECORDS` (from the per-image outcomes). */
  officialClean: number;
  officialPgd: number;
  haat: number | null;
  autoattack: { n: number; robust: number } | null;
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b), m = s.length >> 1;
  return s.length === 0 ? null : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const share = (outcomes: string, n: number) => outcomesFromString(outcomes.slice(0, n)).filter(Boolean).length / n;

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new Error(`Cannot summarize as ${path} is not JSON: ${(e as Error).message}`);
  }
}

/**
 * Reads one run directory: `config.json`, `metrics.jsonl` (its epoch lines) and `report.json` when present.
 *
 * @param root The `results/` directory.
 * @param run The run's directory name under it.
 * @returns Its summary; a run not started has 0 epochs and nulls.
 */
export async function runSummary(root: string, run: string): Promise<RunSummary> {
  const dir = `${root}/${run}`;
  const config = await readJson(`${dir}/config.json`) as { seed?: number; epochs?: number } | null;
  let lines: string[] = [];
  try {
    lines = (await Deno.readTextFile(`${dir}/metrics.jsonl`)).split("\n").filter((l) => l.trim() !== "");
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  // A resumed run may repeat an epoch it had logged before the stop: the last line of each epoch counts.
  const byEpoch = new Map<number, EpochMetrics>();
  for (const line of lines) {
    const m = JSON.parse(line);
    if (m.kind === "epoch") byEpoch.set(m.epoch, m);
  }
  const epochs = [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
  const best = epochs.reduce<(typeof epochs)[number] | null>(
    (b, e) => (b === null || e.valPgd > b.valPgd ? e : b),
    null,
  );
  const report = await readJson(`${dir}/report.json`) as {
    n: number;
    clean: number;
    pgd: number;
    haat?: { accuracy: number };
    autoattack?: { n: number; robust: number; perImage?: string };
    perImage?: { clean: string; pgd: string; haat?: string };
    data?: unknown;
  } | null;
  const official = report ? Math.min(OFFICIAL_TEST_RECORDS, report.n) : 0;
  return {
    run,
    seed: config?.seed ?? null,
    epochs: epochs.length,
    epochsPlanned: config?.epochs ?? null,
    epochLines: epochs,
    bestEpoch: best?.epoch ?? null,
    bestValPgd: best?.valPgd ?? null,
    fastestEpochSeconds: epochs.length ? Math.min(...epochs.map((e) => e.seconds)) : null,
    medianEpochSeconds: median(epochs.map((e) => e.seconds)),
    report: report && report.perImage
      ? {
        n: report.n,
        clean: report.clean,
        pgd: report.pgd,
        officialClean: share(report.perImage.clean, official),
        officialPgd: share(report.perImage.pgd, official),
        haat: report.haat?.accuracy ?? null,
        autoattack: report.autoattack ? { n: report.autoattack.n, robust: report.autoattack.robust } : null,
      }
      : null,
    perImage: report?.perImage
      ? { ...report.perImage, ...(report.autoattack?.perImage ? { autoattack: report.autoattack.perImage } : {}) }
      : null,
    data: report?.data ?? null,
  };
}

/**
 * One paired test on the same test images, one measurement: a run of `arm` (seed `seed`) against a run of
 * `against` (seed `againstSeed`): an arm against the first arm of the same seed, or an arm's seed 1 against
 * its seed 0 (what a change of seed alone does).
 */
export interface PairedRow {
  arm: string;
  against: string;
  seed: number;
  againstSeed: number;
  metric: PairedMetric;
  n: number;
  /** Accuracy of the arm's run and of the first arm's run. */
  accuracy: number;
  againstAccuracy: number;
  disagreement: number;
  pValue: number;
}

/**
 * McNemar's exact test over several seeds at once: an arm's runs against the first arm's runs of the same
 * seeds, each image of each seed one pair. With b_s, c_s the images only the arm's (only the first arm's) run
 * of seed s gets right, b = sum_s b_s, c = sum_s c_s and p = min(1, 2 sum_{i <= min(b, c)} C(b + c, i) / 2^(b + c)):
 * the exact stratified test of "within each seed, either run is as likely to be the one right". It asks
 * whether these models differ, image by image; whether the training methods differ also needs the spread
 * between seeds (`betweenSeeds`).
 */
export interface PooledRow {
  arm: string;
  against: string;
  /** The seeds pooled (each with both runs evaluated). */
  seeds: number[];
  metric: PairedMetric;
  /** Image pairs: images times seeds. */
  n: number;
  /** Accuracy over the pooled pairs (the mean over seeds, as every seed scored the same images). */
  accuracy: number;
  againstAccuracy: number;
  /** (b + c) / n. */
  disagreement: number;
  pValue: number;
}

/** Everything `summarize` found. */
export interface Summary {
  arms: { arm: Arm; runs: RunSummary[] }[];
  /** Each arm against the first, seed by seed. */
  paired: PairedRow[];
  /** Each arm against the first over every seed both have evaluated, where that is two seeds or more. */
  pooled: PooledRow[];
  /** Each arm's second seed against its first: the size of a difference that a seed alone makes. */
  betweenSeeds: PairedRow[];
}

/** Throws unless both runs scored the same test files. */
function sameImages(run: RunSummary, twin: RunSummary): void {
  if (JSON.stringify(twin.data) !== JSON.stringify(run.data)) {
    throw new Error(`Cannot pair ${run.run} with ${twin.run} as they were scored on different test images`);
  }
}

/** What one McNemar test gives a row: the measurement, the image pairs and the test's figures. */
type Tested = Pick<PairedRow, "metric" | "n" | "accuracy" | "againstAccuracy" | "disagreement" | "pValue">;

/**
 * McNemar's exact test of runs against their twins on clean, PGD-20, HAAT-20 and AutoAttack, each image of
 * each pair one pair of outcomes (one pair of runs: the per-seed test; several: the pooled one). A
 * measurement some run lacks is left out.
 */
function testPairs(pairs: (readonly [RunSummary, RunSummary])[]): Tested[] {
  pairs.forEach(([run, twin]) => sameImages(run, twin));
  return pairOutcomes(pairs.map(([run, twin]) => [run.perImage!, twin.perImage!] as const)).map((r) => ({
    metric: r.metric,
    n: r.n,
    accuracy: r.firstAccuracy,
    againstAccuracy: r.secondAccuracy,
    disagreement: r.disagreement,
    pValue: r.pValue,
  }));
}

/**
 * McNemar's exact test of `run` (of arm `arm`) against `twin` (of arm `against`) on clean, PGD-20, HAAT-20 and
 * AutoAttack.
 */
function pairRuns(arm: string, run: RunSummary, against: string, twin: RunSummary): PairedRow[] {
  if (!twin.perImage || !run.perImage) return [];
  return testPairs([[run, twin]]).map((t) => ({ arm, against, seed: run.seed!, againstSeed: twin.seed!, ...t }));
}

/** `PooledRow`s of `runs` (of arm `arm`) against `twins` (of arm `against`, the same seeds in the same order). */
function poolRuns(arm: string, runs: RunSummary[], against: string, twins: RunSummary[]): PooledRow[] {
  const pairs = runs.map((run, i) => [run, twins[i]] as const).filter(([r, t]) => r.perImage && t.perImage);
  if (pairs.length < 2) return [];
  const seeds = pairs.map(([run]) => run.seed!);
  return testPairs(pairs).map((t) => ({ arm, against, seeds, ...t }));
}

/**
 * Reads every run of `arms`, pairs each evaluated run with the first arm's run of the same seed, each arm
 * with the first over all seeds both have evaluated, and each arm's second run with its first (McNemar's
 * exact test on clean, PGD-20, HAAT-20 and AutoAttack outcomes), when both scored the same test files.
 *
 * @param arms The arms; the first is the one the others are paired against.
 * @param root The `results/` directory. @default this file's directory
 * @returns Per arm its runs, the paired rows, the pooled rows and the between-seeds rows.
 * @throws {Error} If two runs to pair were scored on different test images.
 */
export async function summarize(
  arms: Arm[] = MAIN_ARMS,
  root = new URL(".", import.meta.url).pathname.replace(/\/$/, ""),
): Promise<Summary> {
  const read = await Promise.all(
    arms.map(async (arm) => ({ arm, runs: await Promise.all(arm.runs.map((r) => runSummary(root, r))) })),
  );
  const [base, ...others] = read;
  const paired = others.flatMap(({ arm, runs }) =>
    runs.flatMap((run) => {
      const twin = base.runs.find((b) => b.seed === run.seed);
      return twin ? pairRuns(arm.name, run, base.arm.name, twin) : [];
    })
  );
  const pooled = others.flatMap(({ arm, runs }) => {
    const twinned = runs.flatMap((run) => {
      const twin = base.runs.find((b) => b.seed === run.seed);
      return twin ? [[run, twin] as const] : [];
    });
    return poolRuns(arm.name, twinned.map(([r]) => r), base.arm.name, twinned.map(([, t]) => t));
  });
  const betweenSeeds = read.flatMap(({ arm, runs: [first, ...rest] }) =>
    first ? rest.flatMap((run) => pairRuns(arm.name, run, arm.name, first)) : []
  );
  return { arms: read, paired, pooled, betweenSeeds };
}

const pct = (v: number | null | undefined) => v === null || v === undefined ? "-" : `${(100 * v).toFixed(2)}%`;

/** "mean (seed values)" of a measurement over an arm's runs that have it, or "-". */
function overSeeds(
  runs: RunSummary[],
  get: (r: RunSummary) => number | null | undefined,
  show: (v: number) => string = pct,
): string {
  const values = runs.map(get).filter((v): v is number => typeof v === "number");
  if (values.length === 0) return "-";
  if (values.length === 1) return `${show(values[0])} (one seed)`;
  return `${show(values.reduce((s, v) => s + v, 0) / values.length)} (${values.map(show).join(", ")})`;
}

/**
 * The summary as Markdown: the comparison table (arm, seeds, clean, PGD-20, AutoAttack, HAAT-20, epoch time
 * and its ratio to the first arm's), the runs' progress, and the paired tests.
 *
 * @param summary From `summarize`.
 * @returns Markdown text.
 */
export function summaryMarkdown(summary: Summary): string {
  const seconds = (v: number) => `${v.toFixed(0)} s`;
  const baseFastest = summary.arms[0].runs.map((r) => r.fastestEpochSeconds).filter((v) => v !== null) as number[];
  const baseTime = baseFastest.length ? baseFastest.reduce((s, v) => s + v, 0) / baseFastest.length : null;
  const reports = summary.arms.flatMap((a) => a.runs.flatMap((r) => r.report ? [r.report] : []));
  const n = reports.length ? reports[0].n.toLocaleString("en-US") : "n";
  const official = reports.length ? Math.min(reports[0].n, OFFICIAL_TEST_RECORDS) : OFFICIAL_TEST_RECORDS;
  const lines = [
    `| arm | seeds evaluated | clean (${n}) | PGD-20 (${n}) | clean (first ${official}) | PGD-20 (first ${official}) | ` +
    `AutoAttack (first ${official}) | HAAT-20 (${n}) | fastest epoch | / first arm's |`,
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const { arm, runs } of summary.arms) {
    const evaluated = runs.filter((r) => r.report);
    const fastest = runs.map((r) => r.fastestEpochSeconds).filter((v) => v !== null) as number[];
    const time = fastest.length ? fastest.reduce((s, v) => s + v, 0) / fastest.length : null;
    lines.push(
      `| ${arm.name} | ${evaluated.map((r) => r.seed).join(", ") || "none"} | ` +
        `${overSeeds(evaluated, (r) => r.report!.clean)} | ${overSeeds(evaluated, (r) => r.report!.pgd)} | ` +
        `${overSeeds(evaluated, (r) => r.report!.officialClean)} | ${
          overSeeds(evaluated, (r) => r.report!.officialPgd)
        } | ` +
        `${overSeeds(evaluated, (r) => r.report!.autoattack?.robust)} | ${
          overSeeds(evaluated, (r) => r.report!.haat)
        } | ` +
        `${overSeeds(runs, (r) => r.fastestEpochSeconds, seconds)} | ` +
        `${time !== null && baseTime !== null ? `${(time / baseTime).toFixed(2)}x` : "-"} |`,
    );
  }
  lines.push(
    "",
    "| run | seed | epochs | best epoch (validation PGD-10) | fastest epoch | median epoch | evaluated |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  );
  for (const { runs } of summary.arms) {
    for (const r of runs) {
      lines.push(
        `| \`${r.run}\` | ${r.seed ?? "-"} | ${r.epochs} of ${r.epochsPlanned ?? "-"} | ` +
          `${r.bestEpoch === null ? "-" : `${r.bestEpoch} (${pct(r.bestValPgd)})`} | ` +
          `${r.fastestEpochSeconds === null ? "-" : seconds(r.fastestEpochSeconds)} | ` +
          `${r.medianEpochSeconds === null ? "-" : seconds(r.medianEpochSeconds)} | ${r.report ? "yes" : "no"} |`,
      );
    }
  }
  const row = (p: PairedRow) =>
    `| ${p.arm}, seed ${p.seed} | ${p.against}, seed ${p.againstSeed} | ${p.metric} | ${p.n} | ` +
    `${pct(p.accuracy)} | ${pct(p.againstAccuracy)} | ${pct(p.disagreement)} | ${p.pValue.toPrecision(3)} |`;
  const pooledRow = (p: PooledRow) =>
    `| ${p.arm}, seeds ${p.seeds.join(" and ")} pooled | ${p.against}, seeds ${p.seeds.join(" and ")} | ` +
    `${p.metric} | ${p.n} | ${pct(p.accuracy)} | ${pct(p.againstAccuracy)} | ${pct(p.disagreement)} | ` +
    `${p.pValue.toPrecision(3)} |`;
  if (summary.paired.length + summary.pooled.length + summary.betweenSeeds.length > 0) {
    lines.push(
      "",
      "| run | against | measurement | n | run's accuracy | against's | disagree | p (McNemar, exact) |",
      "| --- | --- | --- | --- | --- | --- | --- | --- |",
      ...summary.paired.map(row),
      ...summary.pooled.map(pooledRow),
      ...summary.betweenSeeds.map(row),
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const summary = await summarize(armsOf(Deno.args));
  if (Deno.args.includes("--json")) {
    for (const { arm, runs } of summary.arms) {
      for (const { perImage: _p, ...run } of runs) console.log(JSON.stringify({ arm: arm.name, ...run }));
    }
    for (const p of summary.paired) console.log(JSON.stringify({ kind: "paired", ...p }));
    for (const p of summary.pooled) console.log(JSON.stringify({ kind: "pooled", ...p }));
    for (const p of summary.betweenSeeds) console.log(JSON.stringify({ kind: "between-seeds", ...p }));
  } else {
    console.log(summaryMarkdown(summary));
  }
}
