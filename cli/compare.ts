/**
 * `deno task compare --runs <run>,<run>[,...]`: paired comparisons of evaluated models on the same test images.
 * Each run is a directory holding a `report.json` written by `deno task evaluate` (with per-image
 * outcomes, `perImage`). The first run is compared with each other one by McNemar's exact test
 * (`mcnemar`), on clean accuracy, PGD and, where both reports have it, HAAT robust accuracy. Prints a
 * Markdown table, and with `--json` one JSON line per comparison.
 *
 * Refuses, naming the run, reports without per-image outcomes, scored on other test images (other
 * files, records or bytes, by the SHA-256 the reports record) or with other attack settings (PGD's eps,
 * steps, step size, seed and batch size; every HAAT option where both have HAAT: `settingDifferences`): a model compared
 * with itself under a weaker attack would otherwise look significantly better. A report whose
 * accuracies are not the shares of its per-image outcomes (a damaged file) is refused too.
 *
 * @module
 */
import { pairOutcomes, settingDifferences } from "../lib/eval/compare.ts";
import { parseFlags, runMain } from "./_flags.ts";

const flags = parseFlags("Usage: deno task compare --runs <dir>,<dir>[,...] [flags]", {
  runs: {
    type: "string",
    help: "comma-separated run directories with report.json; the first is compared with each other",
  },
  json: { type: "boolean", default: false, help: "also print one JSON line per comparison" },
});

interface Report {
  model: string;
  n: number;
  eps: number;
  pgdSteps: number;
  alpha?: number;
  seed?: number;
  batchSize?: number;
  clean: number;
  pgd: number;
  /** HAAT's accuracy and options (reports written before 2026-12-06 hold steps, k and xi only). */
  haat?: { accuracy: number; steps: number; k: number; xi: number } & Record<string, unknown>;
  data?: { file: string; records: number; sha256: string }[];
  perImage?: { clean: string; pgd: string; haat?: string };
}

async function readReport(dir: string): Promise<Report> {
  const path = `${dir.replace(/\/+$/, "")}/report.json`;
  let report: Report;
  try {
    report = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new Error(`Cannot compare as ${path} is missing or not JSON: ${(e as Error).message}`);
  }
  if (typeof report !== "object" || report === null || !report.perImage) {
    throw new Error(`Cannot compare as ${path} has no per-image outcomes: evaluate ${dir} again with this version`);
  }
  const damaged = reportProblem(report);
  if (damaged) throw new Error(`Cannot compare as ${path} is damaged: ${damaged}`);
  return report;
}

/** What is wrong with a report's numbers (each accuracy the share of 1s in its outcomes), if anything. */
function reportProblem(r: Report): string | undefined {
  if (!(Number.isSafeInteger(r.n) && r.n > 0)) return `its n is ${JSON.stringify(r.n)}`;
  if (!(typeof r.eps === "number" && Number.isSafeInteger(r.pgdSteps))) return "it names no eps or PGD steps";
  const parts: [string, unknown, unknown][] = [
    ["clean", r.clean, r.perImage!.clean],
    ["PGD", r.pgd, r.perImage!.pgd],
    ...(r.perImage!.haat !== undefined
      ? [["HAAT", r.haat?.accuracy, r.perImage!.haat] as [string, unknown, unknown]]
      : []),
  ];
  for (const [name, accuracy, outcomes] of parts) {
    if (typeof outcomes !== "string" || !/^[01]*$/.test(outcomes) || outcomes.length !== r.n) {
      return `its ${name} outcomes are not ${r.n} 0s and 1s`;
    }
    const share = [...outcomes].filter((c) => c === "1").length / r.n;
    if (accuracy !== share) return `its ${name} accuracy ${accuracy} is not the share of 1s in its outcomes (${share})`;
    if (name !== "clean" && [...outcomes].some((c, i) => c === "1" && r.perImage!.clean[i] !== "1")) {
      return `an image is robust under ${name} although it is wrong clean`;
    }
  }
  return undefined;
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

await runMain(async () => {
  const runs = ((flags.runs as string | undefined) ?? "").split(",").map((r) => r.trim()).filter((r) => r !== "");
  if (runs.length < 2) throw new Error(`Cannot compare as it takes at least two run directories: got ${runs.length}`);
  const reports = await Promise.all(runs.map(readReport));
  const [base, ...others] = reports;
  const rows: string[] = [
    "| first | second | metric | n | first | second | only first | only second | disagree | p (McNemar, exact) |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const [i, other] of others.entries()) {
    const same = base.n === other.n && JSON.stringify(base.data) === JSON.stringify(other.data);
    if (!same) {
      throw new Error(
        `Cannot compare ${runs[0]} with ${runs[i + 1]} as they were scored on different test images ` +
          `(n ${base.n} and ${other.n}; data ${JSON.stringify(base.data)} and ${JSON.stringify(other.data)})`,
      );
    }
    const differences = settingDifferences(base, other);
    if (differences.length > 0) {
      throw new Error(
        `Cannot compare ${runs[0]} with ${runs[i + 1]} as they were attacked with different settings: ` +
          `${differences.join(", ")}. Evaluate both with the same flags`,
      );
    }
    for (const comparison of pairOutcomes([[base.perImage!, other.perImage!]])) {
      const { metric, firstAccuracy, secondAccuracy, ...r } = comparison;
      rows.push(
        `| ${runs[0]} | ${runs[i + 1]} | ${metric} | ${r.n} | ${pct(firstAccuracy)} | ${pct(secondAccuracy)} | ` +
          `${r.onlyFirst} | ${r.onlySecond} | ${pct(r.disagreement)} | ${r.pValue.toPrecision(3)} |`,
      );
      if (flags.json) console.log(JSON.stringify({ first: runs[0], second: runs[i + 1], metric, ...r }));
    }
  }
  console.log(rows.join("\n"));
});
