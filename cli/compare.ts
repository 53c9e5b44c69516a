/**
 * `deno task compare --runs <run>,<run>[,...]`: paired comparisons of evaluated models on the same test images.
 * Each run is a directory holding a `report.json` written by `deno task evaluate` (with per-image
 * outcomes, `perImage`). The first run is compared with each other one by McNemar's exact test
 * (`mcnemar`), on clean accuracy, PGD and, where both reports have it, HAAT robust accuracy. Prints a
 * Markdown table, and with `--json` one JSON line per comparison.
 *
 * Refuses, naming the run, reports without per-image outcomes or scored on other test images (other
 * files, records or bytes, by the SHA-256 the reports record).
 *
 * @module
 */
import { mcnemar, type McNemarResult, outcomesFromString } from "../mod.ts";
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
  if (!report.perImage) {
    throw new Error(`Cannot compare as ${path} has no per-image outcomes: evaluate ${dir} again with this version`);
  }
  return report;
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
    for (const metric of ["clean", "pgd", "haat"] as const) {
      const a = base.perImage![metric], b = other.perImage![metric];
      if (a === undefined || b === undefined) continue;
      const r: McNemarResult = mcnemar(outcomesFromString(a), outcomesFromString(b));
      const accA = (r.both + r.onlyFirst) / r.n, accB = (r.both + r.onlySecond) / r.n;
      rows.push(
        `| ${runs[0]} | ${runs[i + 1]} | ${metric} | ${r.n} | ${pct(accA)} | ${pct(accB)} | ${r.onlyFirst} | ` +
          `${r.onlySecond} | ${pct(r.disagreement)} | ${r.pValue.toPrecision(3)} |`,
      );
      if (flags.json) console.log(JSON.stringify({ first: runs[0], second: runs[i + 1], metric, ...r }));
    }
  }
  console.log(rows.join("\n"));
});
