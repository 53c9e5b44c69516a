/**
 * The README's "Pretrained models" table, from the committed files alone: each run's config.json (recipe,
 * data, epochs, width), metrics.jsonl (training seconds, summed over epochs, and the best validation
 * epoch), report.json (clean, PGD-20 and AutoAttack accuracy; the first 932 test records are the
 * official bytes) and best/ (the weights file's size).
 *
 *   deno run -A results/models.ts            Markdown table
 *   deno run -A results/models.ts --json     one JSON line per model
 *
 * @module
 */
import { TRAINED_MODELS } from "../lib/models/trained.ts";
import { bestEpoch } from "../lib/train/metrics.ts";

/** The models the table lists, in order: the robust ones first, then the earlier runs. */
export const MODEL_TABLE_RUNS = [
  "fgsm-rs-w64",
  "fgsm-rs-w16",
  "standard-w16",
  "pgd-w16-s0",
  "pgd-w16-s1",
  "haat-paper-w16-s0",
  "haat-paper-w16-s1",
  "haat-fd-w16-s0",
  "haat-fd-w16-s1",
  "pgd-w8",
  "haat-w8",
  "finetune/pgd-s0",
  "finetune/pgd-s1",
  "finetune/pgd-s2",
  "finetune/haat-warm-s0",
  "finetune/haat-warm-s1",
  "finetune/haat-warm-s2",
];

/** The first test records that are the official bytes (`../shared/data/cifar10-full/README.md`). */
export const OFFICIAL_TEST_RECORDS = 932;

/** One row of the table. */
export interface ModelRow {
  run: string;
  width: number;
  objective: string;
  lr: number;
  schedule: string;
  epochs: number;
  epochsRun: number;
  trainImages: number;
  bestEpoch: number;
  bestValPgd: number;
  trainingHours: number;
  medianEpochSeconds: number;
  bytes: number;
  dtype: string;
  /** HAAT's k and xi, for HAAT runs; warmK where the power iteration was warm-started (`warmStart`). */
  haat?: { k: number; xi: number; warmK?: number };
  /** The model a fine-tune started from (config key `init`). */
  init?: string;
  /** Clean and PGD-20 accuracy on all test images the report holds, and on the first 932. */
  n?: number;
  clean?: number;
  pgd20?: number;
  clean932?: number;
  pgd932?: number;
  /** HAAT-20 accuracy on the report's images, once evaluated (or once a running evaluation finished it). */
  haat20?: number;
  autoattack?: { n: number; robust: number };
  /** An evaluation is running: `evaluate-progress.json` exists and `report.json` does not. */
  evaluating?: boolean;
  /** While AutoAttack runs: robust accuracy after the attacks it has finished (an upper bound on the final one). */
  autoattackPartial?: { n: number; robust: number; after: string[] };
}

const readJson = async (path: string) => JSON.parse(await Deno.readTextFile(path));
const share = (outcomes: string, n: number) => [...outcomes.slice(0, n)].filter((c) => c === "1").length / n;

/**
 * The table's row for one committed run, or undefined if the run has no config yet.
 *
 * @param run A directory under results/.
 * @param root The results directory.
 */
export async function modelRow(run: string, root = new URL(".", import.meta.url).pathname): Promise<ModelRow | undefined> {
  const dir = `${root}/${run}`;
  let config;
  try {
    config = await readJson(`${dir}/config.json`);
  } catch {
    return undefined;
  }
  const lines = (await Deno.readTextFile(`${dir}/metrics.jsonl`).catch(() => "")).trim().split("\n").filter(Boolean)
    .map((l) => JSON.parse(l)).filter((l) => l.kind === "epoch");
  const best = bestEpoch(config.objective, lines); // as train() picks best/: by PGD, by clean for standard
  const seconds = lines.map((l) => l.seconds as number).sort((a, b) => a - b);
  const records = (config.data ?? []).reduce((s: number, d: { records: number }) => s + d.records, 0);
  const trainImages = Math.min(config.trainSize ?? Infinity, records) - config.valSize;
  const manifest = await readJson(`${dir}/best/model.json`).catch(() => undefined);
  const bytes = manifest ? (await Deno.stat(`${dir}/best/${manifest.weightsFile}`)).size : NaN;
  const row: ModelRow = {
    run,
    width: config.width,
    objective: config.objective,
    lr: config.lr,
    schedule: config.schedule,
    epochs: config.epochs,
    epochsRun: lines.length,
    trainImages,
    bestEpoch: best.epoch,
    bestValPgd: best.valPgd,
    trainingHours: seconds.reduce((a, b) => a + b, 0) / 3600,
    medianEpochSeconds: seconds.length ? seconds[Math.floor((seconds.length - 1) / 2)] : NaN,
    bytes,
    dtype: manifest?.dtype ?? "float32",
    ...(config.objective === "haat"
      ? { haat: { k: config.haat.k, xi: config.haat.xi, ...(config.haat.warmStart ? { warmK: config.haat.warmK } : {}) } }
      : {}),
    ...(config.init ? { init: config.init } : {}),
  };
  const report = await readJson(`${dir}/report.json`).catch(() => undefined);
  if (report) {
    Object.assign(row, { n: report.n, clean: report.clean, pgd20: report.pgd });
    if (report.haat) row.haat20 = report.haat.accuracy;
    if (report.n === OFFICIAL_TEST_RECORDS) Object.assign(row, { clean932: report.clean, pgd932: report.pgd });
    else if (report.perImage && report.n > OFFICIAL_TEST_RECORDS) {
      row.clean932 = share(report.perImage.clean, OFFICIAL_TEST_RECORDS);
      row.pgd932 = share(report.perImage.pgd, OFFICIAL_TEST_RECORDS);
    }
    if (report.autoattack) row.autoattack = { n: report.autoattack.n, robust: report.autoattack.robust };
  } else {
    // An evaluation still running: what its progress file holds is final for the parts it has finished.
    const progress = await readJson(`${dir}/evaluate-progress.json`).catch(() => undefined);
    if (progress) row.evaluating = true;
    if (progress?.progress?.haat) row.haat20 = progress.progress.haat.haat.accuracy;
    const done = progress?.progress?.pgd;
    if (done?.perImage) {
      const n = done.perImage.clean.length;
      Object.assign(row, { n, clean: share(done.perImage.clean, n), pgd20: share(done.perImage.pgd, n) });
      if (n >= OFFICIAL_TEST_RECORDS) {
        row.clean932 = share(done.perImage.clean, OFFICIAL_TEST_RECORDS);
        row.pgd932 = share(done.perImage.pgd, OFFICIAL_TEST_RECORDS);
      }
    }
    const attacks = progress?.progress?.autoattackProgress?.perAttack;
    if (attacks?.length) {
      const last = attacks[attacks.length - 1];
      row.autoattackPartial = {
        n: progress.key.options.autoattack.n,
        robust: last.robustAccuracy,
        after: attacks.map((a: { attack: string }) => a.attack),
      };
    }
  }
  return row;
}

const RECIPES: Record<string, string> = {
  "fgsm-rs": "FGSM-RS (Wong et al. 2020)",
  pgd: "PGD-10 AT",
  haat: "HAAT-10 AT",
  standard: "standard",
  trades: "TRADES",
};

const pct = (v: number | undefined) => (v === undefined ? "-" : `${(100 * v).toFixed(2)}%`);

function autoattackCell(r: ModelRow): string {
  const n = (aa: { n: number }) => (aa.n === OFFICIAL_TEST_RECORDS ? "" : ` (n = ${aa.n})`);
  if (r.autoattack) return `${pct(r.autoattack.robust)}${n(r.autoattack)}`;
  if (r.autoattackPartial) {
    const p = r.autoattackPartial;
    return `at most ${pct(p.robust)}${n(p)} (running: ${p.after.join(", ")} done)`;
  }
  return "-";
}

/**
 * The Markdown table of the given rows.
 *
 * @param rows From `modelRow`.
 * @returns The table, one line per model.
 */
export function modelTable(rows: ModelRow[]): string {
  const head = "| name | width | recipe | training images | epochs | clean / PGD-20 (10,000) | clean / PGD-20 (first " +
    "932) | AutoAttack (first 932) | training hours | size |";
  const lines = [head, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"];
  for (const r of rows) {
    const warm = r.haat?.warmK === undefined ? "" : ` then warm ${r.haat.warmK}`;
    const haat = r.haat ? ` (k ${r.haat.k}${warm}, xi ${r.haat.xi.toExponential()})` : "";
    const init = r.init ? `, from \`${r.init}\`` : "";
    lines.push(
      `| \`${r.run}\` | ${r.width} | ${RECIPES[r.objective] ?? r.objective}${haat}, lr ${r.lr} ${r.schedule === "onecycle" ? "one-cycle" : r.schedule}${init} | ` +
        `${r.trainImages.toLocaleString("en-US")} | ${r.epochsRun === r.epochs ? r.epochs : `${r.epochsRun} of ${r.epochs}`} | ` +
        `${r.n === undefined ? "not evaluated" : `${pct(r.clean)} / ${pct(r.pgd20)}${r.n === 10000 ? "" : ` (n = ${r.n})`}`} | ` +
        `${r.clean932 === undefined ? "-" : `${pct(r.clean932)} / ${pct(r.pgd932)}`} | ` +
        `${autoattackCell(r)} | ` +
        `${r.trainingHours.toFixed(2)} | ${Number.isNaN(r.bytes) ? "-" : `${(r.bytes / 1e6).toFixed(1)} MB (${r.dtype})`} |`,
    );
  }
  return lines.join("\n");
}

/** The rows of every run in `MODEL_TABLE_RUNS` that has a config. */
export async function modelRows(root?: string): Promise<ModelRow[]> {
  return (await Promise.all(MODEL_TABLE_RUNS.map((run) => modelRow(run, root)))).filter((r) => r !== undefined);
}

if (import.meta.main) {
  const rows = await modelRows();
  const missing = rows.filter((r) => !Object.hasOwn(TRAINED_MODELS, r.run)).map((r) => r.run);
  if (missing.length > 0) console.error(`models.ts: not in TRAINED_MODELS yet: ${missing.join(", ")}`);
  if (Deno.args.includes("--json")) for (const r of rows) console.log(JSON.stringify(r));
  else console.log(modelTable(rows));
}
