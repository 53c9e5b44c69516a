/**
 * Checks of the committed, executed notebooks (`deno task notebooks` writes their outputs): no cell
 * errors, every figure as SVG and PNG, every printed line that the code promises, no TensorFlow.js
 * console noise, every number the prose cites equal to a cell's output, and summaries that match the
 * committed results/ files they were computed from. Where Jupyter's nbconvert is installed, one
 * notebook is also written as HTML; where Debian's `jupyter-notebook` and `chromium` are, every
 * notebook is opened untrusted in a real Jupyter in headless Chromium and must show every figure.
 */
import { assert, assertEquals } from "./_assert.ts";
import { findJupyter, HTML_SCRIPTS, notebookOutputs, writeHtml } from "../cli/notebooks.ts";
import {
  FINETUNE_ARMS,
  MAIN_ARMS,
  OFFICIAL_TEST_RECORDS,
  type PairedRow,
  type PooledRow,
  summarize,
} from "../results/summary.ts";

const dir = new URL("../notebooks/", import.meta.url).pathname;
const results = new URL("../results/", import.meta.url).pathname;
const NOTEBOOKS = ["00-intuition", "01-theory", "02-power-iteration", "03-training", "04-tuning-xi-k", "05-evaluation"];

interface Output {
  output_type: string;
  name?: string;
  text?: string[] | string;
  data?: Record<string, unknown>;
}

interface Cell {
  cell_type: string;
  metadata: { tags?: string[] };
  source: string[] | string;
  outputs?: Output[];
  execution_count?: number | null;
}

const joined = (v: string[] | string | undefined) => (Array.isArray(v) ? v.join("") : v ?? "");

async function readNotebook(name: string): Promise<{ text: string; cells: Cell[]; kernel: string }> {
  const text = await Deno.readTextFile(`${dir}/${name}.ipynb`);
  const book = JSON.parse(text);
  return { text, cells: book.cells, kernel: book.metadata.kernelspec.name };
}

/** Everything a cell printed or showed as text (streams and text/plain). */
function cellText(cell: Cell): string {
  return (cell.outputs ?? []).map((o) =>
    o.output_type === "stream" ? joined(o.text) : joined(o.data?.["text/plain"] as string[] | string | undefined)
  ).join("\n");
}

/** The prose of a notebook: all markdown cells. */
function prose(cells: Cell[]): string {
  return cells.filter((c) => c.cell_type === "markdown").map((c) => joined(c.source)).join("\n");
}

/** The JSON that a notebook's summary cell printed. */
// deno-lint-ignore no-explicit-any
function summaryOf(cells: Cell[]): any {
  const cell = cells.find((c) => c.metadata.tags?.includes("summary"));
  assert(cell, "the notebook has a cell tagged summary");
  const stream = cell.outputs!.find((o) => o.output_type === "stream" && o.name === "stdout");
  assert(stream, "the summary cell printed its JSON");
  return JSON.parse(joined(stream.text));
}

async function metrics(run: string) {
  return (await Deno.readTextFile(`${results}/${run}/metrics.jsonl`)).trim().split("\n").map((l) => JSON.parse(l))
    .filter((l) => l.kind === "epoch");
}

async function report(run: string) {
  return JSON.parse(await Deno.readTextFile(`${results}/${run}/report.json`));
}

/** The runs of the main comparison (`results/arms.sh`) that have started: those with a config.json. */
/** The runs of the main comparison that have finished at least one epoch (an epoch line in metrics.jsonl). */
function startedMainRuns(): string[] {
  return MAIN_ARMS.flatMap((a) => a.runs).filter((run) => {
    try {
      return Deno.readTextFileSync(`${results}/${run}/metrics.jsonl`).includes(`"kind":"epoch"`);
    } catch {
      return false;
    }
  });
}

async function optionalReport(run: string) {
  try {
    return await report(run);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** Figures a notebook's code promises: `plots.show(plots.<figure>(` calls (tables are not figures). */
function promisedFigures(cells: Cell[]): number {
  return cells.filter((c) => c.cell_type === "code")
    .flatMap((c) => [...joined(c.source).matchAll(/plots\.show\(\s*(?:await\s+)?plots\.(\w+)\(/g)].map((m) => m[1]))
    .filter((fn) => fn !== "table").length;
}

for (const name of NOTEBOOKS) {
  Deno.test(`notebook ${name} ran top to bottom with the Deno kernel: no errors, every figure as SVG and PNG, no noise`, async () => {
    const { text, cells, kernel } = await readNotebook(name);
    assertEquals(kernel, "deno");
    const outputs = notebookOutputs(text);
    assertEquals(outputs.errors, []);
    assert(outputs.svgCount >= 1, `${name} has no figure`);
    assertEquals(outputs.svgWithoutPng, 0, `${name} has figures that untrusted views cannot show`);
    const promised = promisedFigures(cells);
    assertEquals(
      outputs.svgCount,
      promised,
      `${name} shows ${outputs.svgCount} of the ${promised} figures its cells make`,
    );
    assertEquals(outputs.pngCount, promised, `${name} has ${outputs.pngCount} PNGs for ${promised} figures`);
    const code = cells.filter((c) => c.cell_type === "code");
    assert(code.every((c) => typeof c.execution_count === "number"), `${name} has cells that did not run`);
    for (const cell of code) {
      const source = joined(cell.source);
      if (/plots\.show\(|console\.(log|table)\(/.test(source)) {
        assert((cell.outputs ?? []).length > 0, `${name}: a cell that prints has no output: ${source.slice(0, 80)}`);
      }
    }
    assert(!text.includes("looks like you are running TensorFlow.js in Node.js"), "TF.js banner in the outputs");
    assert(!/\d\.\d{9,}/.test(cells.map(cellText).join("\n")), `${name} prints a float with 9 or more digits`);
    assert(cells.some((c) => c.cell_type === "markdown"), "prose cells");
    const last = cells[cells.length - 1];
    assertEquals(last.cell_type, "markdown", `${name} ends on a closing paragraph, not on raw output`);
  });
}

Deno.test("notebook 00-intuition's prose says what its cells computed", async () => {
  const { cells } = await readNotebook("00-intuition");
  const text = prose(cells);
  const outputs = cells.map((c) => {
    const md = (c.outputs ?? []).map((o) => joined(o.data?.["text/markdown"] as string[] | string | undefined));
    return [cellText(c), ...md].join("\n");
  }).join("\n");
  // The toy: both Hessian eigenvalues positive (PSD), haat() equal to the step written by hand, and
  // both attacks at the same corner after ten steps.
  const eig = outputs.match(/eigenvalues of H \| \((-?[\d.]+), (-?[\d.]+)\)/);
  assert(eig && Number(eig[1]) > 0 && Number(eig[2]) > 0, "both eigenvalues positive");
  assert(text.includes("Both eigenvalues are positive"));
  const gap = outputs.match(/largest difference from the step above: ([\d.e+-]+)/);
  assert(gap && Number(gap[1]) < 1e-6, `haat() differs from the hand-written step by ${gap?.[1]}`);
  const ends = outputs.match(/after ten steps: PGD at \(([\d.]+), ([\d.]+)\), HAAT at \(([\d.]+), ([\d.]+)\)/);
  assert(ends && ends[1] === ends[3] && ends[2] === ends[4], "both methods end at the same point");
  assert([0.45 - 0.12, 0.55 + 0.12].every((v, i) => Math.abs(Number(ends[i + 1]) - v) < 1e-4), "at the box's corner");
  assert(text.includes("both\nmethods end there"));
  // The pictures: each prediction the prose names is the table's, and PGD-20's sign follows sign(g) on most pixels.
  const rows = [...outputs.matchAll(/\| (\S+) \| (\w+) \| (\w+) \| (\w+) \| ([\d.]+)% \|/g)];
  const row = (picture: string) => rows.find((r) => r[1] === "pgd-w16-s0" && r[2] === picture);
  assertEquals([row("airplane")?.[3], row("airplane")?.[4]], ["ship", "ship"]);
  assert(text.includes("gets the airplane wrong already (it says ship) and\nPGD-20 cannot move it"));
  assertEquals([row("automobile")?.[3], row("automobile")?.[4]], ["automobile", "dog"]);
  assert(text.includes("the automobile it gets right, and PGD-20 turns it into a dog"));
  assert(rows.length >= 2 && rows.every((r) => Number(r[5]) > 50), "the sign agrees on most pixels");
  // The robust and the standard model, as the prose tells them.
  const of = (model: string, picture: string) => rows.find((r) => r[1] === model && r[2] === picture)!;
  assertEquals([of("fgsm-rs-w64", "airplane")[3], of("fgsm-rs-w64", "airplane")[4]], ["airplane", "ship"]);
  assertEquals([of("fgsm-rs-w64", "automobile")[3], of("fgsm-rs-w64", "automobile")[4]], ["automobile", "automobile"]);
  assert(text.includes("PGD-20 turns its\nairplane into a ship, but cannot move the automobile"));
  const standard = [of("standard-w16", "airplane"), of("standard-w16", "automobile")];
  assertEquals(standard.map((r) => [r[3], r[4]]), [["airplane", "ship"], ["automobile", "cat"]]);
  assert(text.includes("PGD-20 breaks\nboth (a ship and a cat)"));
  const trained = rows.filter((r) => r[1] !== "standard-w16").map((r) => Number(r[5]));
  const agree = `on ${Math.min(...trained).toFixed(1)}% to ${Math.max(...trained).toFixed(1)}% of the pixels for the ` +
    `adversarially trained models (the last\ncolumn of the table), but only on ${
      standard.map((r) => Number(r[5]).toFixed(1)).sort((a, b) => Number(a) - Number(b)).join("% and ")
    }% for the standard one`;
  assert(text.includes(agree), agree);
});

Deno.test("notebook 03-training prints one line for every started run of the main comparison, and where its command is", async () => {
  const { cells } = await readNotebook("03-training");
  const first = cells.find((c) => c.cell_type === "code")!;
  const text = cellText(first);
  const runs = startedMainRuns();
  assert(runs.length >= 2, `results/ holds ${runs.length} runs of the main comparison`);
  for (const run of runs) {
    const config = JSON.parse(await Deno.readTextFile(`${results}/${run}/config.json`));
    assert(
      text.includes(`${run}: ${config.objective}, ResNet18 width ${config.width}, seed ${config.seed}`),
      `no line for ${run}:\n${text}`,
    );
    // The line points at command.sh, which holds the run's training command.
    const command = await Deno.readTextFile(`${results}/${run}/command.sh`);
    assert(/deno task train/.test(command), `${run}/command.sh has no training command`);
  }
  assert(text.includes("the exact command of each run: results/<run>/command.sh"), text);
});

Deno.test("notebook 05-evaluation's live AutoAttack printed a line for each of its attacks and its result", async () => {
  const { cells } = await readNotebook("05-evaluation");
  const live = cells.find((c) => joined(c.source).includes("autoAttack(model.logits"))!;
  const text = cellText(live);
  for (const attack of ["apgd-ce", "apgd-t"]) assert(text.includes(`autoattack ${attack}: robust accuracy`), text);
  assert(/clean [\d.]+%, robust [\d.]+%/.test(text), text);
});

Deno.test("notebook 03-training's summary matches the main comparison's metrics.jsonl and report.json", async () => {
  const summary = summaryOf((await readNotebook("03-training")).cells);
  const round = (v: number) => Number(v.toFixed(4));
  const started = startedMainRuns();
  assertEquals(summary.noEpochFinished, MAIN_ARMS.flatMap((a) => a.runs).filter((r) => !started.includes(r)));
  for (const run of started) {
    // The last line of each epoch counts (a resumed run may log one twice).
    const lines = [...new Map((await metrics(run)).map((l) => [l.epoch, l])).values()];
    assertEquals(summary[run].epochs, lines.length);
    assertEquals(summary[run].minutes, Math.round(lines.reduce((s, l) => s + l.seconds, 0) / 60));
    assertEquals(summary[run].bestValPgd, round(Math.max(...lines.map((l) => l.valPgd))));
    assertEquals(summary[run].finalValClean, round(lines[lines.length - 1].valClean));
    assertEquals(summary[run].fastestEpochSeconds, Math.round(Math.min(...lines.map((l) => l.seconds))));
    const r = await optionalReport(run);
    assertEquals(summary[run].testClean, r ? round(r.clean) : undefined, `${run}: report.json and the notebook differ`);
    if (r) {
      assertEquals(summary[run].testPgd20, round(r.pgd));
      assertEquals(summary[run].testPgd20Images, `${Math.round(r.pgd * r.n)} of ${r.n}`);
      assertEquals(summary[run].testHaat20, r.haat ? round(r.haat.accuracy) : null);
    }
  }
});

Deno.test("notebook 05-evaluation's summary matches the main comparison's report.json files and paired tests", async () => {
  const summary = summaryOf((await readNotebook("05-evaluation")).cells);
  const round = (v: number) => Number(v.toFixed(4));
  const evaluated: string[] = [];
  for (const run of MAIN_ARMS.flatMap((a) => a.runs)) {
    const r = await optionalReport(run);
    if (!r) continue;
    evaluated.push(run);
    assertEquals(summary[run].all, {
      n: r.n,
      clean: round(r.clean),
      pgd20: round(r.pgd),
      haat20: round(r.haat.accuracy),
    });
    const firstOfficial = (outcomes: string) => [...outcomes.slice(0, OFFICIAL_TEST_RECORDS)].filter((c) => c === "1");
    assertEquals(summary[run].official, {
      clean: round(firstOfficial(r.perImage.clean).length / Math.min(OFFICIAL_TEST_RECORDS, r.n)),
      pgd20: round(firstOfficial(r.perImage.pgd).length / Math.min(OFFICIAL_TEST_RECORDS, r.n)),
    });
    assertEquals(r.sweep.n, r.autoattack.n, "the sweep and AutoAttack ran on the same first images");
    const row = r.sweep.rows.find((s: { eps: number }) => Math.abs(s.eps - 8 / 255) < 1e-9);
    const perAttack = r.autoattack.perAttack;
    assertEquals(
      summary[run].fabAndSquareAdded,
      Math.round((perAttack[1].robustAccuracy - perAttack.at(-1).robustAccuracy) * r.autoattack.n),
    );
    assertEquals(summary[run].same, {
      n: r.autoattack.n,
      clean: round(r.autoattack.clean),
      pgd20: round(row.pgd),
      apgdCe: round(row.apgdCe),
      autoattack: round(r.autoattack.robust),
    });
  }
  assertEquals(summary.notEvaluated, MAIN_ARMS.flatMap((a) => a.runs).filter((r) => !evaluated.includes(r)));
  const { paired, pooled, betweenSeeds } = await summarize(MAIN_ARMS, results.replace(/\/$/, ""));
  const row = (p: PairedRow | PooledRow) => ({
    arm: p.arm,
    metric: p.metric,
    n: p.n,
    disagreement: round(p.disagreement),
    pValue: Number(p.pValue.toPrecision(3)),
  });
  assertEquals(summary.paired, paired.map((p) => ({ ...row(p), seed: p.seed })));
  assertEquals(summary.betweenSeeds, betweenSeeds.map(row));
  assertEquals(
    summary.pooled,
    pooled.map((p) => ({
      ...row(p),
      seeds: p.seeds,
      accuracy: round(p.accuracy),
      againstAccuracy: round(p.againstAccuracy),
    })),
  );
});

/** The JSON lines of a committed results/ file. */
async function jsonLines(path: string) {
  return (await Deno.readTextFile(`${results}/${path}`)).trim().split("\n").map((l) => JSON.parse(l));
}

Deno.test("notebook 02-power-iteration's models side by side are results/curvature.jsonl's", async () => {
  const summary = summaryOf((await readNotebook("02-power-iteration")).cells);
  const lines = await jsonLines("curvature.jsonl");
  const median = (v: number[]) => {
    const s = [...v].sort((a, b) => a - b);
    return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2;
  };
  assertEquals(Object.keys(summary.sideBySide), lines.map((l) => l.label));
  for (const l of lines) {
    assert(l.backend.startsWith("wasm") && l.images === 8, `${l.run}: ${l.backend}, ${l.images} images`);
    assertEquals(summary.sideBySide[l.label], {
      correct: l.correct.reduce((a: number, c: number) => a + c, 0),
      medianLoss: Number(median(l.losses).toPrecision(3)),
      medianLambda1: Number(median(l.eigenvalues.map((e: number[]) => e[0])).toPrecision(3)),
      medianGap: Number(median(l.gaps).toFixed(3)),
      diff5: Number(l.stepDiff[4].toPrecision(2)),
      diff12: Number(l.stepDiff[11].toPrecision(2)),
    }, l.run);
  }
  assertEquals(summary.sideBySideLiveMatchesFile, true, "a model measured live in the notebook differs from the file");
});

Deno.test("notebook 04-tuning-xi-k's summary matches results/grid/attack-grid.jsonl, and its live attacks the file", async () => {
  const summary = summaryOf((await readNotebook("04-tuning-xi-k")).cells);
  const lines = await jsonLines("grid/attack-grid.jsonl");
  for (const line of lines) {
    assertEquals([line.model, line.images], ["pgd-w16-s0", 64], line.name);
    assert(line.backend.startsWith("wasm"), `${line.name} was made on ${line.backend}, not the notebooks' wasm`);
  }
  const line = (name: string) => lines.find((l) => l.name === name);
  const baseline = line("PGD-5 (HAAT with w2 = 0)");
  const gain = (name: string) => Number(((line(name).loss - baseline.loss) * 1e4).toFixed(1));
  assertEquals(summary.pgd5, Number(baseline.accuracy.toFixed(4)));
  assertEquals(summary.pgd5Loss, Number(baseline.loss.toFixed(4)));
  assertEquals(summary.clean, Number(line("none (clean)").accuracy.toFixed(4)));
  assertEquals(summary.byMethodLossGain, {
    "forward, ξ = 1e-6 (paper)": gain("forward, ξ = 1e-6, k = 5"),
    "forward, ξ = 1e-3": gain("forward, ξ = 1e-3, k = 5"),
    "forward, ξ = 0.1": gain("forward, ξ = 1e-1, k = 5"),
    "central, ξ = 0.01": gain("central, ξ = 0.01"),
    "exact": gain("exact"),
  });
  assertEquals(summary.byScaleLossGain, {
    cube: gain("exact"),
    sqrtd: gain("scale sqrtd"),
    l2ball: gain("scale l2ball"),
  });
  const gridAndMethods = lines.filter((l) => ["grid", "method"].includes(l.section));
  assertEquals(gridAndMethods.length, 20);
  assertEquals(summary.largestLossGainGridAndMethods, Math.max(...gridAndMethods.map((l) => Math.abs(gain(l.name)))));
  assertEquals(summary.liveAttacks.length, 4);
  assertEquals(summary.liveMatchesFile, true, "an attack run live in the notebook differs from the file");
});

Deno.test("notebook 05-evaluation's sweep to 0% is results/sweep-to-zero.jsonl's, and its live points the file's", async () => {
  const summary = summaryOf((await readNotebook("05-evaluation")).cells);
  const lines = await jsonLines("sweep-to-zero.jsonl");
  const round = (v: number) => Number(v.toFixed(4));
  const models = [...new Set(lines.map((l) => l.model))];
  assertEquals(
    summary.sweepToZero,
    Object.fromEntries(
      models.map((m) => [m, lines.filter((l) => l.model === m).map((l) => [l.eps255, round(l.accuracy)])]),
    ),
  );
  for (const m of models) {
    const own = lines.filter((l) => l.model === m);
    assertEquals(own.at(-1).accuracy, 0, `${m}'s sweep stops before 0%`);
    assert(own.every((l) => l.images === 100 && l.backend.startsWith("wasm")), m);
  }
  assertEquals(summary.sweepLive.length, 2);
  assertEquals(summary.sweepLiveMatchesFile, true, "a sweep point run live in the notebook differs from the file");
});

// deno-lint-ignore no-explicit-any
type Summary = any;
/** A number the prose cites, and where the outputs hold it. */
type Claim = [text: string, fromOutputs: (summary: Summary) => unknown];

const percent = (v: number) => `${Number((100 * v).toFixed(2))}%`;
const points = (v: number) => Number(v.toFixed(2));
/** The three arms of the main comparison, by run-name prefix, and each arm's two runs (seeds 0 and 1). */
const ARMS = ["pgd", "haat-paper", "haat-fd"];
const ARMS_SEEDS = (arm: string) => [0, 1].map((seed) => `${arm}-w16-s${seed}`);
const ARM_LABEL: Record<string, string> = { "PGD-AT": "PGD-AT", "1e-6": "paper's ξ", "1e-5": "ξ = 10⁻⁵" };
/** The row of a summary's paired, pooled or betweenSeeds table for the arm whose name holds `arm`, one measurement (and seed). */
// deno-lint-ignore no-explicit-any
const rowOf = (rows: any[], arm: string, metric: string, seed?: number) =>
  rows.find((r) => r.metric === metric && r.arm.includes(arm) && (seed === undefined || r.seed === seed));
/** The runs a notebook 05 summary holds a report for. */
const evaluatedRuns = (s: Summary) => MAIN_ARMS.flatMap((a) => a.runs).filter((run) => s[run] !== undefined);

/**
 * Every number that a notebook's prose cites from a measurement: the text must appear in the prose,
 * and the notebook's summary (a cell's output) must give the same text.
 */
const CLAIMS: Record<string, Claim[]> = {
  "01-theory": [
    ["relative error is 133.5", (s) => `relative error is ${s.forwardErrorAtPaperXi}`],
    ["only 8.85% of the pixels", (s) => `only ${s.changedShareAtPaperXiPercent}% of the pixels`],
    ["to 0.3838 at", (s) => `to ${s.forwardErrorAtXi1e3} at`],
    [
      "its smallest, 0.007593, at\n$\\xi = 0.1$",
      (s) => `its smallest, ${s.bestForwardError}, at\n$\\xi = ${s.bestForwardXi}$`,
    ],
    ["here 6 of the 8 images have one", (s) => `here ${s.fdQuotientsAboveLambda1} of the 8 images have one`],
    [
      "reach within 14.3% of it in five steps",
      (s) => `reach within ${s.exactFiveStepShortfallPercent}% of it in five steps`,
    ],
    [
      "Nine eigenvalues, then float32 noise",
      (s) => (s.nonZeroEigenvalues.every((n: number) => n === 9) ? "Nine eigenvalues, then float32 noise" : "not nine"),
    ],
    [
      "reaches only\n2.4% to 4.5% of",
      (s) => `reaches only\n${points(100 * s.boundShareRange[0])}% to ${points(100 * s.boundShareRange[1])}% of`,
    ],
    [
      "are 4.7 to 6.5 times the flat",
      (s) =>
        `are ${(1 / Math.sqrt(s.boundShareRange[1])).toFixed(1)} to ${
          (1 / Math.sqrt(s.boundShareRange[0])).toFixed(1)
        } times the flat`,
    ],
  ],
  "02-power-iteration": [
    [
      "is 0.99 at width\n16 and 0.994 at width 64, on every path, and its 10th percentile 0.958 to 0.97",
      (s) => {
        const lines = Object.entries(s.warm) as [string, { referenceCosine: number[] }][];
        const medians = (
          w: string,
        ) => [...new Set(lines.filter(([k]) => k.includes(w)).map(([, v]) => v.referenceCosine[0]))];
        const [m16, m64] = [medians("w16 "), medians("w64 ")];
        const q10 = lines.map(([, v]) => v.referenceCosine[1]);
        return m16.length === 1 && m64.length === 1
          ? `is ${m16[0]} at width\n16 and ${m64[0]} at width 64, on every path, and its 10th percentile ${
            Math.min(...q10)
          } to ${Math.max(...q10)}`
          : "the paths differ";
      },
    ],
    [
      "$|u \\cdot v_1|$ is 0.997 for both on every path, and one warm product misses (cosine below 0.9) on 11.5% and 11.1% of\nthe image-steps of the PGD and HAAT paths, against 11.8% and 10.1% for cold $k = 5$",
      (s) => {
        const w16 = ["pgd", "haat", "haat-warm"].map((p) => s.warm[`fgsm-rs-w16 ${p}`]);
        const same = new Set(w16.flatMap((v) => v.cosineMedian.slice(0, 2)));
        const [pgd, haat] = w16;
        return same.size === 1
          ? `$|u \\cdot v_1|$ is ${
            [...same][0]
          } for both on every path, and one warm product misses (cosine below 0.9) on ${
            pgd.shareBelow09Percent[1]
          }% and ${haat.shareBelow09Percent[1]}% of\nthe image-steps of the PGD and HAAT paths, against ${
            pgd.shareBelow09Percent[0]
          }% and ${haat.shareBelow09Percent[0]}% for cold $k = 5$`
          : "the medians differ";
      },
    ],
    [
      "misses more often, 41.7% and 27.8% against 27.1% and 20.8%, and two warm products bring it back to 22.2% and 22.2%",
      (s) => {
        const [pgd, haat] = ["pgd", "haat"].map((p) => s.warm[`fgsm-rs-w64 ${p}`].shareBelow09Percent);
        return `misses more often, ${pgd[1]}% and ${haat[1]}% against ${pgd[0]}% and ${haat[0]}%, and two warm ` +
          `products bring it back to ${pgd[2]}% and ${haat[2]}%`;
      },
    ],
    [
      "agrees with the file, made on oneDNN, to\n3.8e-7",
      (s) => `agrees with the file, made on oneDNN, to\n${s.warmLiveMaxDifference}`,
    ],
    [
      "width-16 models, measured live, gave their lines of `results/curvature.jsonl` exactly",
      (s) =>
        s.sideBySideLiveMatchesFile
          ? "width-16 models, measured live, gave their lines of `results/curvature.jsonl` exactly"
          : "a live model differs from results/curvature.jsonl",
    ],
    [
      "is 0.8054\nagainst 0.8",
      (s) => `is ${s.constructedMatrix.measuredContraction}\nagainst ${s.constructedMatrix.ratio}`,
    ],
    ["stays below the bound", (s) => (s.constructedMatrix.belowBound ? "stays below the bound" : "not below")],
    [
      "between 0.2603 and 0.6472",
      (s) => `between ${Math.min(...s.gapsLambda2OverLambda1)} and ${Math.max(...s.gapsLambda2OverLambda1)}`,
    ],
    ["at worst to 0.114 of its", (s) => `at worst to ${s.worstFifthPower} of its`],
    ["two images converge (last differences 0 and 0.001),\nand two do not (1.013 and 1.565)", (s) => {
      const d: number[] = s.lastStepDiffPerImageXi1e3;
      const done = d.filter((v) => v < 0.01), not = d.filter((v) => v >= 0.5);
      return `two images converge (last differences ${done.join(" and ")}),\nand two do not (${not.join(" and ")})`;
    }],
    [
      "ratios $\\lambda_2/\\lambda_1$ are at most 0.6472",
      (s) => `ratios $\\lambda_2/\\lambda_1$ are at most ${Math.max(...s.gapsLambda2OverLambda1)}`,
    ],
    ["mean step difference is 0.0001", (s) => `mean step difference is ${s.lastStepDiff.exact}`],
    ["still 0.6859", (s) => `still ${s.lastStepDiff.forwardXi1e6}`],
    [
      "it is 0.645 against 0.0006 with exact",
      (s) => `it is ${s.fig5LastDiffK10.fd} against ${s.fig5LastDiffK10.exact} with exact`,
    ],
    ["lies between 101.3 and 286.3", (s) => `lies between ${Math.min(...s.tanTheta0)} and ${Math.max(...s.tanTheta0)}`],
    [
      "above 55 on every image",
      (s) => (s.tanTheta0.every((t: number) => t > Math.sqrt(3071)) ? "above 55 on every image" : "not above 55"),
    ],
    [
      "down to between 0.11 and 2.6",
      (s) => `down to between ${Math.min(...s.tanTheta1)} and ${Math.max(...s.tanTheta1)}`,
    ],
    [
      "lies between 0.00098 and 0.071, on every image\nbelow both bounds",
      (s) =>
        `lies between ${Math.min(...s.tanTheta5)} and ${Math.max(...s.tanTheta5)}, on every image\n${
          s.tanTheta5BelowBothBounds ? "below" : "NOT below"
        } both bounds`,
    ],
    [
      "mean difference is 0.1893 and 0.1152",
      (s) => `mean difference is ${s.lastStepDiff.forwardXi5e6} and ${s.lastStepDiff.forwardXi1e5}`,
    ],
    [
      "difference of 0.1152 between unit vectors is 6.6°",
      (s) =>
        `difference of ${s.lastStepDiff.forwardXi1e5} between unit vectors is ${
          (2 * Math.asin(s.lastStepDiff.forwardXi1e5 / 2) * 180 / Math.PI).toFixed(1)
        }°`,
    ],
    ["within 8% of the exact", (s) => `within ${Math.ceil(s.rayleighXi1e5MaxRelErrorPercent)}% of the exact`],
    ["off by up to 2.5\ntimes", (s) => `off by up to ${s.rayleighXi1e6MaxRatio.toFixed(1)}\ntimes`],
    [
      "median top eigenvalue\nis 11.9, the robust width-16 model's 0.275, about 43 times smaller, and the robust full-width model's 0.448",
      (s) => {
        const v = s.sideBySide;
        return `median top eigenvalue\nis ${v["standard w16"].medianLambda1}, the robust width-16 model's ${
          v["robust w16"].medianLambda1
        }, about ${
          Math.round(v["standard w16"].medianLambda1 / v["robust w16"].medianLambda1)
        } times smaller, and the robust full-width model's ${v["robust w64"].medianLambda1}`;
      },
    ],
    [
      "under-trained model's 0.0583 is smaller still, but it is flat because it is unsure: its median loss is 1.44,\nagainst 0.626 and 0.41 for the robust models and 0.021 for the standard one",
      (s) => {
        const v = s.sideBySide;
        return `under-trained model's ${
          v["under-trained w16"].medianLambda1
        } is smaller still, but it is flat because it is unsure: its median loss is ${
          v["under-trained w16"].medianLoss
        },\nagainst ${v["robust w16"].medianLoss} and ${v["robust w64"].medianLoss} for the robust models and ${
          v["standard w16"].medianLoss
        } for the standard one`;
      },
    ],
    [
      "get 7 of the 8 images right, the under-trained one 5",
      (s) => {
        const v = s.sideBySide;
        const same = [v["robust w16"], v["robust w64"], v["standard w16"]].every((m) =>
          m.correct === v["robust w16"].correct
        );
        return same
          ? `get ${v["robust w16"].correct} of the 8 images right, the under-trained one ${
            v["under-trained w16"].correct
          }`
          : "different counts";
      },
    ],
    [
      "(median $\\lambda_2/\\lambda_1$ = 0.087), so 5 exact steps bring the step difference down to\n0.0011 and 12 steps to 2.3e-7",
      (s) => {
        const v = s.sideBySide["standard w16"];
        return `(median $\\lambda_2/\\lambda_1$ = ${v.medianGap}), so 5 exact steps bring the step difference down to\n${v.diff5} and 12 steps to ${v.diff12}`;
      },
    ],
    [
      "$\\lambda_2/\\lambda_1$ = 0.39 at width 16 and 0.438 at width 64): after 5 steps the difference is still 0.019 and\n0.059, after 12 steps 0.0002 and 0.0059",
      (s) => {
        const [a, b] = [s.sideBySide["robust w16"], s.sideBySide["robust w64"]];
        return `$\\lambda_2/\\lambda_1$ = ${a.medianGap} at width 16 and ${b.medianGap} at width 64): after 5 steps the difference is still ${a.diff5} and\n${b.diff5}, after 12 steps ${a.diff12} and ${b.diff12}`;
      },
    ],
  ],
  "03-training": [
    [
      "accuracies are 25.8% and 25.3% for PGD-AT's seeds 0 and 1, 25.9% and 24.8% for HAAT-AT as the paper writes it\nand 26.6% and 24.6% for HAAT-AT with ξ = 10⁻⁵",
      (s) => {
        const best = (arm: string) =>
          `${percent(s[`${arm}-w16-s0`].bestValPgd)} and ${percent(s[`${arm}-w16-s1`].bestValPgd)}`;
        return `accuracies are ${best("pgd")} for PGD-AT's seeds 0 and 1, ${
          best("haat-paper")
        } for HAAT-AT as the paper writes it\n` +
          `and ${best("haat-fd")} for HAAT-AT with ξ = 10⁻⁵`;
      },
    ],
    [
      "(every run trained all 10 epochs)",
      (s) => {
        const runs = MAIN_ARMS.flatMap((a) => a.runs);
        const unfinished = runs.filter((r) => (s[r]?.epochs ?? 0) < 10);
        return unfinished.length === 0
          ? "(every run trained all 10 epochs)"
          : `(${unfinished.map((r) => `${r}: ${s[r]?.epochs ?? 0} of 10 epochs`).join(", ")} when this ran)`;
      },
    ],
    [
      "took 6.15x (ξ = 10⁻⁶) and 6.13x (ξ = 10⁻⁵)",
      (s) =>
        `took ${s["haat-paper-w16-s0"].fastestOverPgd}x (ξ = 10⁻⁶) and ${
          s["haat-fd-w16-s0"].fastestOverPgd
        }x (ξ = 10⁻⁵)`,
    ],
    [
      "seed 1's, 6.06x and 6.08x (1200 s and 1203 s against 198 s)",
      (s) => {
        const [paper, fd, pgd] = ["haat-paper-w16-s1", "haat-fd-w16-s1", "pgd-w16-s1"].map((r) => s[r]);
        return `seed 1's, ${paper.fastestOverPgd}x and ${fd.fastestOverPgd}x (${paper.fastestEpochSeconds} s and ${fd.fastestEpochSeconds} s against ${pgd.fastestEpochSeconds} s)`;
      },
    ],
    [
      "1215 s and 1212 s against 198 s",
      (s) =>
        `${s["haat-paper-w16-s0"].fastestEpochSeconds} s and ${s["haat-fd-w16-s0"].fastestEpochSeconds} s against ${
          s["pgd-w16-s0"].fastestEpochSeconds
        } s`,
    ],
    [
      "61 passes per batch against 11 (HAAT's 1 + k per attack step, plus the weight\nupdate), 5.5x",
      (s) =>
        `${s["haat-paper-w16-s0"].gradientPassesPerBatch} passes per batch against ${
          s["pgd-w16-s0"].gradientPassesPerBatch
        } (HAAT's 1 + k per attack step, plus the weight\nupdate), ${s["haat-paper-w16-s0"].gradientPassesOverPgd}x`,
    ],
    [
      "share 95 of their 1,000 validation\nimages and 9,095 of their 10,000 training images (of which 4,468 and 4,450 carry the official bytes)",
      (s) => {
        const n = (v: number) => v.toLocaleString("en-US");
        const [a, b] = s.splits.officialKept;
        return `share ${s.splits.sharedHeld} of their 1,000 validation\nimages and ${
          n(s.splits.sharedKept)
        } of their 10,000 training images (of which ${n(a)} and ${n(b)} carry the official bytes)`;
      },
    ],
    [
      "alone cost 6.64x and 6.62x (seed 1: 6.55x and 6.56x)",
      (s) =>
        `alone cost ${s["haat-paper-w16-s0"].stepsOverPgd}x and ${s["haat-fd-w16-s0"].stepsOverPgd}x (seed 1: ${
          s["haat-paper-w16-s1"].stepsOverPgd
        }x and ${s["haat-fd-w16-s1"].stepsOverPgd}x)`,
    ],
    [
      "rose from 17.9% validation PGD-10 accuracy after the first epoch to\n78.9% clean and 47.1% PGD-10 after the fifteenth, in 5.55 hours",
      (s) => {
        const r = s.robust["fgsm-rs-w64"];
        return `rose from ${percent(r.firstValPgd)} validation PGD-10 accuracy after the first epoch to\n${
          percent(r.finalValClean)
        } clean and ${percent(r.finalValPgd)} PGD-10 after the fifteenth, in ${r.hours} hours`;
      },
    ],
    [
      "never fell by more than 2.1 points from one epoch to the next (at width 16: 3.3 points)",
      (s) =>
        `never fell by more than ${
          Number((100 * s.robust["fgsm-rs-w64"].largestPgdFall).toFixed(1))
        } points from one epoch to the next (at width 16: ${
          Number((100 * s.robust["fgsm-rs-w16"].largestPgdFall).toFixed(1))
        } points)`,
    ],
    [
      "76.83% clean and 42.84% under PGD-20, the width-16 companion 69.9% and 37.94%",
      (s) => {
        const [w64, w16] = [s.robust["fgsm-rs-w64"], s.robust["fgsm-rs-w16"]];
        return `${percent(w64.testClean)} clean and ${percent(w64.testPgd20)} under PGD-20, the width-16 companion ${
          percent(w16.testClean)
        } and ${percent(w16.testPgd20)}`;
      },
    ],
    [
      "reaches 86.5% validation clean accuracy in 1 hour (on a machine shared with other work), and its validation PGD-10\naccuracy is at most 0.1% after every epoch; on the 10,000 test images it holds 85.54% clean and 0.01% under\nPGD-20",
      (s) => {
        const r = s.robust["standard-w16"];
        return `reaches ${percent(r.finalValClean)} validation clean accuracy in ${r.hours} hour${
          r.hours === 1 ? "" : "s"
        } (on a machine shared with other work), and its validation PGD-10\naccuracy is at most ${
          percent(r.maxValPgd)
        } after every epoch; on the 10,000 test images it holds ${percent(r.testClean)} clean and ${
          percent(r.testPgd20)
        } under\nPGD-20`;
      },
    ],
    [
      "clean accuracy: 15 points at width 16 on the validation images (86.5% against 71.5%)",
      (s) => {
        const [st, rs] = [s.robust["standard-w16"].finalValClean, s.robust["fgsm-rs-w16"].finalValClean];
        return `clean accuracy: ${Number((100 * (st - rs)).toFixed(1))} points at width 16 on the validation images (${
          percent(st)
        } against ${percent(rs)})`;
      },
    ],
    [
      "The robust width-16 model: 0.48 hours",
      (s) => `The robust width-16 model: ${s.robust["fgsm-rs-w16"].hours} hours`,
    ],
    ["--micro-batch 64, 5.55 hours here", (s) => `--micro-batch 64, ${s.robust["fgsm-rs-w64"].hours} hours here`],
    [
      "42 minutes for a PGD-AT run and 212 to 217 minutes",
      (s) => {
        const haat = ["haat-paper-w16-s0", "haat-paper-w16-s1", "haat-fd-w16-s0", "haat-fd-w16-s1"].map((r) =>
          s[r].minutes
        );
        return `${s["pgd-w16-s0"].minutes} minutes for a PGD-AT run and ${Math.min(...haat)} to ${
          Math.max(...haat)
        } minutes`;
      },
    ],
    [
      "took 464 s with PGD-AT and 726 s with warm\nHAAT-AT, 1.56x",
      (s) => {
        const [pgd, haat] = FINETUNE_ARMS.map((a) => s.finetuneMedianEpoch[a.name]);
        return `took ${pgd} s with PGD-AT and ${haat} s with warm\nHAAT-AT, ${(haat / pgd).toFixed(2)}x`;
      },
    ],
    [
      "the ratio ran from 1.11x to 2.13x",
      (s) => {
        const ratios = [0, 1, 2].map((seed) =>
          s.finetune[`haat-warm-s${seed}`].epochSeconds / s.finetune[`pgd-s${seed}`].epochSeconds
        );
        return `the ratio ran from ${Math.min(...ratios).toFixed(2)}x to ${Math.max(...ratios).toFixed(2)}x`;
      },
    ],
    [
      "costs 2.35x PGD-10's at width 16 and\n2.16x at width 64, where cold HAAT-10 costs 5.91x at width 16",
      (s) =>
        `costs ${s.bench.w16.warmOverPgd}x PGD-10's at width 16 and\n${s.bench.w64.warmOverPgd}x at width 64, ` +
        `where cold HAAT-10 costs ${s.bench.w16.coldOverPgd}x at width 16`,
    ],
    [
      "39.27% to 40.45% under PGD-20 (PGD-AT) and 39.27% to 40.34% (warm HAAT-AT), against the starting model's 40.56%, and\n68.13% to 68.88% clean against its 70.06%",
      (s) => {
        const range = (prefix: string, key: string) => {
          const v = [0, 1, 2].map((seed) => s.finetune[`${prefix}-s${seed}`][key]);
          return `${percent(Math.min(...v))} to ${percent(Math.max(...v))}`;
        };
        const clean = [0, 1, 2].flatMap((seed) =>
          ["pgd", "haat-warm"].map((a) => s.finetune[`${a}-s${seed}`].clean932)
        );
        return `${range("pgd", "pgd932")} under PGD-20 (PGD-AT) and ${
          range("haat-warm", "pgd932")
        } (warm HAAT-AT), against the starting model's ${percent(s.finetuneStart.pgd932)}, and\n${
          percent(Math.min(...clean))
        } to ${percent(Math.max(...clean))} clean against its ${percent(s.finetuneStart.clean932)}`;
      },
    ],
    [
      "a standard error of about 1.6 points",
      (s) => {
        const v = Object.values(s.finetune).map((r) => (r as { pgd932: number }).pgd932);
        const p = v.reduce((a, b) => a + b, 0) / v.length;
        return `a standard error of about ${(100 * Math.sqrt(p * (1 - p) / 932)).toFixed(1)} points`;
      },
    ],
  ],
  "04-tuning-xi-k": [
    [
      "the 13 cells' epochs add up to 3 hours of one\ncore, from 2 to 53 minutes a cell",
      (s) => {
        const g = s.trainedGrid;
        return `the ${g.cells + 1} cells' epochs add up to ${Math.round(g.hours)} hours of one\ncore, from ${
          g.cellMinutes[0]
        } to ${g.cellMinutes[1]} minutes a cell`;
      },
    ],
    [
      "The four attacks that ran again live gave the file's numbers exactly",
      (s) =>
        s.liveMatchesFile && s.liveAttacks.length === 4
          ? "The four attacks that ran again live gave the file's numbers exactly"
          : "a live attack differs from the file",
    ],
    [
      "PGD-5's 31.25% of the 64 images or one image more (32.81%), never fewer",
      (s) =>
        s.mostImagesSavedVsPgd5 === 1 && s.mostImagesTakenVsPgd5 === 0
          ? `PGD-5's ${percent(s.pgd5)} of the ${s.images} images or one image more (${
            percent(s.highestHaatAccuracy)
          }), never fewer`
          : `${s.mostImagesSavedVsPgd5} more, ${s.mostImagesTakenVsPgd5} fewer`,
    ],
    ["by at most 10.6 in units", (s) => `by at most ${s.largestLossGainGridAndMethods} in units`],
    ["on a loss of 1.8817", (s) => `on a loss of ${s.pgd5Loss}`],
    [
      "the largest rise is the paper's own cell,\nξ = 10⁻⁶ with k = 5",
      (s) =>
        s.strongestGridCell.xi === 1e-6 && s.strongestGridCell.k === 5 &&
          s.strongestGridCell.lossGain === s.largestLossGainGridAndMethods
          ? "the largest rise is the paper's own cell,\nξ = 10⁻⁶ with k = 5"
          : "another cell",
    ],
    ["lowers\nthe loss, by 318.1", (s) => `lowers\nthe loss, by ${-s.byScaleLossGain.sqrtd}`],
    [
      "between 16.52% and 20.6% under PGD-20",
      (s) => `between ${percent(s.trainedGrid.pgd20Min)} and ${percent(s.trainedGrid.pgd20Max)} under PGD-20`,
    ],
    ["the PGD cell's 18.99%", (s) => `the PGD cell's ${percent(s.trainedGrid.pgdCell)}`],
    [
      "one standard error is between 0.93 and 1.42 points). 10 of the 12 intervals contain zero.",
      (s) =>
        `one standard error is between ${s.trainedGrid.seMin} and ${s.trainedGrid.seMax} points). ${s.trainedGrid.intervalsWithZero} of the ${s.trainedGrid.cells} intervals contain zero.`,
    ],
    [
      "ξ = 0.1 with k = 2 and k = 5, both below the PGD cell (McNemar p = 0.0275 and 0.0178)",
      (s) => {
        const out = s.trainedGrid.intervalsWithoutZero as { xi: number; k: number; diff: number; p: number }[];
        const below = out.every((c) => c.diff < 0) ? "both below" : "not both below";
        return `ξ = ${out.map((c) => c.xi).filter((v, i, a) => a.indexOf(v) === i).join(", ")} with k = ${
          out.map((c) => c.k).join(" and k = ")
        }, ${below} the PGD cell (McNemar p = ${out.map((c) => c.p).join(" and ")})`;
      },
    ],
    [
      "neither survives the count of twelve comparisons (Bonferroni: p below 0.05/12 = 0.0042)",
      (s) =>
        (s.trainedGrid.intervalsWithoutZero as { p: number }[]).every((c) => c.p >= 0.05 / 12)
          ? "neither survives the count of twelve comparisons (Bonferroni: p below 0.05/12 = 0.0042)"
          : "one survives",
    ],
    [
      "dominant eigenvector its median is 0.0994 and its upper quartile 0.188, for the normalised gradient 0.141 and 0.242",
      (s) => {
        const e = s.hvpErrorXi1e5;
        return `dominant eigenvector its median is ${e.dominant.median} and its upper quartile ${e.dominant.q75}, for the normalised gradient ${e.gradient.median} and ${e.gradient.q75}`;
      },
    ],
    [
      "the median error at ξ = 1e-5 is still 5.02",
      (s) => `the median error at ξ = 1e-5 is still ${s.hvpErrorXi1e5.random.median}`,
    ],
    ["(`pgd-w16-s0`, the main comparison", (s) => `(\`${s.hvpModel.split("/")[1]}\`, the main comparison`],
  ],
  "05-evaluation": [
    [
      "the live re-runs above, which print the file's 0%",
      (s) =>
        s.sweepLiveMatchesFile && s.sweepLive.every(([, , a]: [string, number, number]) => a === 0)
          ? "the live re-runs above, which print the file's 0%"
          : "the live re-runs differ from the file",
    ],
    [
      "`fgsm-rs-w16` holds 40.56% of the 932 official\nimages under PGD-20 and 36.48% under AutoAttack, 4.08 points less, where the under-trained `pgd-w16-s0` loses 3.32\npoints (26.39% to 23.07%)",
      (s) => {
        const [r, u] = [s.robust["fgsm-rs-w16"], s.robust["pgd-w16-s0"]];
        const drop = (m: { pgd932: number; autoattack: number }) => (100 * (m.pgd932 - m.autoattack)).toFixed(2);
        return `\`fgsm-rs-w16\` holds ${percent(r.pgd932)} of the 932 official\nimages under PGD-20 and ${
          percent(r.autoattack)
        } under AutoAttack, ${drop(r)} points less, where the under-trained \`pgd-w16-s0\` loses ${drop(u)}\npoints (${
          percent(u.pgd932)
        } to ${percent(u.autoattack)})`;
      },
    ],
    [
      "at most 43.78%, against 44.85% under\nPGD-20",
      (s) => {
        const w = s.robust["fgsm-rs-w64"];
        return w.autoattack === null
          ? `at most ${percent(w.autoattackAtMost)}, against ${percent(w.pgd932)} under\nPGD-20`
          : "finished";
      },
    ],
    [
      "85.54% clean on the 10,000 test images, and PGD-20 leaves 0.01% (1\nimage); AutoAttack leaves 0%",
      (s) => {
        const m = s.robust["standard-w16"];
        return `${percent(m.clean)} clean on the 10,000 test images, and PGD-20 leaves ${percent(m.pgd20)} (${
          Math.round(m.pgd20 * m.n)
        }\nimage); AutoAttack leaves ${percent(m.autoattack)}`;
      },
    ],
    [
      "the standard model at 8/255 (at\n4/255 it still holds 1%), the robust `fgsm-rs-w16` at 48/255 and the under-trained `pgd-w16-s0` only at 64/255",
      (s) => {
        const z = s.sweepToZero as Record<string, [number, number][]>;
        const zero = (m: string) => z[m].find(([, a]) => a === 0)?.[0];
        const at = (m: string, eps: number) => percent(z[m].find(([e]) => e === eps)![1]);
        return `the standard model at ${zero("standard-w16")}/255 (at\n4/255 it still holds ${
          at("standard-w16", 4)
        }), the robust \`fgsm-rs-w16\` at ${zero("fgsm-rs-w16")}/255 and the under-trained \`pgd-w16-s0\` only at ${
          zero("pgd-w16-s0")
        }/255`;
      },
    ],
    [
      "from 24/255 on (11% against 3%), although it is weaker at\n8/255 (31% against 41%)",
      (s) => {
        const z = s.sweepToZero as Record<string, [number, number][]>;
        const at = (m: string, eps: number) => z[m].find(([e]) => e === eps)?.[1] ?? 0;
        const from = [24, 32, 48].every((e) => at("pgd-w16-s0", e) > at("fgsm-rs-w16", e)) ? "from 24/255 on" : "not";
        return `${from} (${percent(at("pgd-w16-s0", 24))} against ${
          percent(at("fgsm-rs-w16", 24))
        }), although it is weaker at\n8/255 (${percent(at("pgd-w16-s0", 8))} against ${percent(at("fgsm-rs-w16", 8))})`;
      },
    ],
    [
      "seed 0 is ahead in every arm, by 0.32, 0.73 and 0.35 points",
      (s) => {
        const gap = (arm: string) => (100 * (s[`${arm}-w16-s0`].all.pgd20 - s[`${arm}-w16-s1`].all.pgd20)).toFixed(2);
        const gaps = ["pgd", "haat-paper", "haat-fd"].map(gap);
        return gaps.every((g) => Number(g) > 0)
          ? `seed 0 is ahead in every arm, by ${gaps.map(Number).join(", ").replace(/, (?=[^,]*$)/, " and ")} points`
          : "not every arm";
      },
    ],
    [
      "Evaluated: all 6 runs",
      (s) => {
        const total = MAIN_ARMS.flatMap((a) => a.runs).length;
        return s.notEvaluated.length === 0
          ? `Evaluated: all ${total} runs`
          : `Evaluated so far: ${total - s.notEvaluated.length} of the ${total} runs (not yet: ${
            s.notEvaluated.map((r: string) => `\`${r}\``).join(", ")
          })`;
      },
    ],
    [
      "AutoAttack leaves PGD-AT's models (seeds 0 and 1) 23.07% and 25.11%, HAAT-AT's as the paper writes it 23.5% and 24.79%, and\nHAAT-AT's with ξ = 10⁻⁵ 24.03% and 25.97%, against 26.39% and 29.08%, 27.68% and 28.54% and 27.04% and 29.83% under PGD-20",
      (s) => {
        const both = (arm: string, m: string) => ARMS_SEEDS(arm).map((run) => percent(s[run].same[m])).join(" and ");
        return `AutoAttack leaves PGD-AT's models (seeds 0 and 1) ${
          both("pgd", "autoattack")
        }, HAAT-AT's as the paper writes it ${both("haat-paper", "autoattack")}, and\nHAAT-AT's with ξ = 10⁻⁵ ${
          both("haat-fd", "autoattack")
        }, against ${both("pgd", "pgd20")}, ${both("haat-paper", "pgd20")} and ${
          both("haat-fd", "pgd20")
        } under PGD-20`;
      },
    ],
    [
      "AutoAttack is the strongest of the three on every model",
      (s) =>
        evaluatedRuns(s).every((run) =>
            s[run].same.autoattack <=
              Math.min(s[run].same.pgd20, s[run].same.apgdCe)
          )
          ? "AutoAttack is the strongest of the three on every model"
          : "AutoAttack is not the strongest",
    ],
    [
      "FAB-T and Square find 1 point on `haat-paper-w16-s1` that the APGD attacks missed, and none on the other 5 models",
      (s) => {
        const runs = evaluatedRuns(s);
        const added = runs.filter((run) => s[run].fabAndSquareAdded > 0);
        if (added.length === 0) {
          return "FAB-T and Square find 1 point on `haat-paper-w16-s1` that the APGD attacks missed, and none on the other 5 models";
        }
        const found = added.map((run) =>
          `${s[run].fabAndSquareAdded} point${s[run].fabAndSquareAdded > 1 ? "s" : ""} on \`${run}\``
        );
        return `FAB-T and Square find ${found.join(", ")} that the APGD attacks missed, and none on the other ${
          runs.length - added.length
        } models`;
      },
    ],
    [
      "It took 20 to 25 minutes per model",
      (s) => {
        const minutes = evaluatedRuns(s).map((run) => s[run].autoattackMinutes);
        return `It took ${Math.min(...minutes)} to ${Math.max(...minutes)} minutes per model`;
      },
    ],
    [
      "Within one seed the three arms lie within 0.96 (seed 0) and 1.18 (seed 1) points of each other under\nAutoAttack; between its two seeds one arm moves 2.04 (PGD-AT), 1.29 (paper's ξ) and 1.94 (ξ = 10⁻⁵) points",
      (s) => {
        const aa = (arm: string, seed: number) => 100 * s[`${arm}-w16-s${seed}`].same.autoattack;
        const range = (seed: number) => {
          const v = ARMS.map((arm) => aa(arm, seed));
          return points(Math.max(...v) - Math.min(...v));
        };
        const [pgd, paper, fd] = ARMS.map((arm) => points(Math.abs(aa(arm, 1) - aa(arm, 0))));
        return `Within one seed the three arms lie within ${range(0)} (seed 0) and ${
          range(1)
        } (seed 1) points of each other under\n` +
          `AutoAttack; between its two seeds one arm moves ${pgd} (PGD-AT), ${paper} (paper's ξ) and ${fd} (ξ = 10⁻⁵) points`;
      },
    ],
    [
      "under PGD-20 HAAT-AT as the paper writes it is right on 27.36% of them against PGD-AT's 27.46%, disagreeing\nwith it on 3.79% (McNemar p = 0.467), and HAAT-AT with ξ = 10⁻⁵ on 27.67% (disagreeing on 4.71%, p = 0.193); clean,\np = 0.833 and 0.124; under HAAT-20, p = 0.612 and 0.151",
      (s) => {
        const row = (arm: string, metric: string) => rowOf(s.pooled, arm, metric);
        const [paper, fd] = [row("1e-6", "pgd"), row("1e-5", "pgd")];
        return `under PGD-20 HAAT-AT as the paper writes it is right on ${
          percent(paper.accuracy)
        } of them against PGD-AT's ${percent(paper.againstAccuracy)}, disagreeing\nwith it on ${
          percent(paper.disagreement)
        } (McNemar p = ${paper.pValue}), and HAAT-AT with ξ = 10⁻⁵ on ${percent(fd.accuracy)} (disagreeing on ${
          percent(fd.disagreement)
        }, p = ${fd.pValue}); clean,\np = ${row("1e-6", "clean").pValue} and ${
          row("1e-5", "clean").pValue
        }; under HAAT-20, p = ${row("1e-6", "haat").pValue} and ${row("1e-5", "haat").pValue}`;
      },
    ],
    [
      "Seed by seed under PGD-20, p = 0.634 and 0.311 (seed 0) and 0.133 and 0.427 (seed 1)",
      (s) => {
        const p = (arm: string, seed: number) => rowOf(s.paired, arm, "pgd", seed).pValue;
        return `Seed by seed under PGD-20, p = ${p("1e-6", 0)} and ${p("1e-5", 0)} (seed 0) and ${p("1e-6", 1)} and ${
          p("1e-5", 1)
        } (seed 1)`;
      },
    ],
    [
      "a HAAT-AT model disagrees with the PGD-AT model of its seed on 3.58% to 5.13% of the images under PGD-20;\nthe two seeds of one arm disagree on 8.74% (PGD-AT, p = 0.294), 8.53% (paper's ξ, p = 0.0136) and 9.13% (ξ = 10⁻⁵, p = 0.26)",
      (s) => {
        const within = s.paired.filter((r: { metric: string }) => r.metric === "pgd").map((
          r: { disagreement: number },
        ) => r.disagreement);
        const between = (arm: string) => {
          const r = rowOf(s.betweenSeeds, arm, "pgd");
          return `${percent(r.disagreement)} (${ARM_LABEL[arm]}, p = ${r.pValue})`;
        };
        return `a HAAT-AT model disagrees with the PGD-AT model of its seed on ${percent(Math.min(...within))} to ${
          percent(Math.max(...within))
        } of the images under PGD-20;\nthe two seeds of one arm disagree on ${between("PGD-AT")}, ${
          between("1e-6")
        } and ${between("1e-5")}`;
      },
    ],
    [
      "HAAT-20 is no stronger an attack than PGD-20 on any of the 6 models",
      (s) => {
        const runs = evaluatedRuns(s);
        return runs.every((run) => s[run].all.haat20 >= s[run].all.pgd20)
          ? `HAAT-20 is no stronger an attack than PGD-20 on any of the ${runs.length} models`
          : "HAAT-20 is stronger on some model";
      },
    ],
    [
      "an arm's two seeds differ by 0.32 (PGD-AT), 0.73 (paper's ξ) and 0.35 (ξ = 10⁻⁵) points under PGD-20",
      (s) => {
        const [pgd, paper, fd] = ARMS.map((arm) => {
          const [a, b] = ARMS_SEEDS(arm).map((run) => s[run].all.pgd20);
          return points(100 * Math.abs(a - b));
        });
        return `an arm's two seeds differ by ${pgd} (PGD-AT), ${paper} (paper's ξ) and ${fd} (ξ = 10⁻⁵) points under PGD-20`;
      },
    ],
    [
      "under PGD-20, HAAT-AT with ξ = 10⁻⁵ minus the PGD-AT model of its seed is +0.22 and +0.19 points\n(seeds 0 and 1), HAAT-AT as the paper writes it +0.1 and -0.31",
      (s) => {
        const signed = (
          v: number,
        ) => (v >= 0 ? `+${points(v)}` : `${points(v)}`);
        const d = (arm: string) =>
          [0, 1].map((seed) =>
            signed(
              100 *
                (s[`${arm}-w16-s${seed}`].all.pgd20 -
                  s[`pgd-w16-s${seed}`].all.pgd20),
            )
          )
            .join(" and ");
        return `under PGD-20, HAAT-AT with ξ = 10⁻⁵ minus the PGD-AT model of its seed is ${
          d("haat-fd")
        } points\n(seeds 0 and 1), HAAT-AT as the paper writes it ${d("haat-paper")}`;
      },
    ],
    [
      "McNemar's test sees no difference in any of them",
      (s) =>
        [...s.paired, ...s.pooled].every((r: { pValue: number }) => r.pValue >= 0.05)
          ? "McNemar's test sees no difference in any of them"
          : "some p is below 0.05",
    ],
    [
      "moves a model about twice as far, image by image, as replacing PGD with HAAT in training, and moves its accuracy\nfurther",
      (s) => {
        const within = s.paired.filter((r: { metric: string }) => r.metric === "pgd");
        const between = s.betweenSeeds.filter((r: { metric: string }) => r.metric === "pgd");
        const ratio = Math.min(
          ...between.map((r: { disagreement: number }) => r.disagreement),
        ) /
          Math.max(
            ...within.map((r: { disagreement: number }) => r.disagreement),
          );
        const gap = (a: string, b: string) => Math.abs(s[a].all.pgd20 - s[b].all.pgd20);
        const withinGap = Math.max(
          ...["haat-paper", "haat-fd"].flatMap((arm) =>
            [0, 1].map((seed) => gap(`${arm}-w16-s${seed}`, `pgd-w16-s${seed}`))
          ),
        );
        const betweenGap = Math.min(
          ...ARMS.map((arm) => gap(ARMS_SEEDS(arm)[0], ARMS_SEEDS(arm)[1])),
        );
        return `moves a model ${
          ratio >= 1.5 ? "about twice" : `${ratio.toFixed(1)}x`
        } as far, image by image, as replacing PGD with HAAT in training, and moves its accuracy\n${
          betweenGap > withinGap ? "further" : "less far"
        }`;
      },
    ],
    [
      "For the paper's ξ, McNemar's test even calls the two seeds different (p below 0.05)",
      (s) => {
        const r = rowOf(s.betweenSeeds, "1e-6", "pgd");
        return r.pValue < 0.05
          ? "For the paper's ξ, McNemar's test even calls the two seeds different (p below 0.05)"
          : "McNemar's test does not call the paper's-ξ seeds different";
      },
    ],
    [
      "a seed alone moved AutoAttack's number more than the training attack did",
      (s) => {
        const aa = (run: string) => 100 * s[run].same.autoattack;
        const range = Math.max(...[0, 1].map((seed) => {
          const v = ARMS.map((arm) => aa(`${arm}-w16-s${seed}`));
          return Math.max(...v) - Math.min(...v);
        }));
        const moves = ARMS.map((arm) => Math.abs(aa(ARMS_SEEDS(arm)[1]) - aa(ARMS_SEEDS(arm)[0])));
        return `a seed alone moved AutoAttack's number ${
          Math.min(...moves) > range ? "more" : "not always more"
        } than the training attack did`;
      },
    ],
    [
      "HAAT-AT with ξ = 10⁻⁵ has the highest of the three on both seeds, as it has under PGD-20 on all 10,000\nimages, by less than the standard error of one such number",
      (s) => {
        const top = (seed: number, value: (run: string) => number) =>
          ARMS.reduce((best, arm) => (value(`${arm}-w16-s${seed}`) > value(`${best}-w16-s${seed}`) ? arm : best));
        const aaTop = [0, 1].every((seed) => top(seed, (run) => s[run].same.autoattack) === "haat-fd");
        const pgdTop = [0, 1].every((seed) => top(seed, (run) => s[run].all.pgd20) === "haat-fd");
        // Its lead over the next arm under AutoAttack, against the standard error of one accuracy on those images.
        const lead = [0, 1].map((seed) => {
          const [first, second] = ARMS.map((arm) => s[`${arm}-w16-s${seed}`].same).sort((a, b) =>
            b.autoattack - a.autoattack
          );
          return {
            lead: first.autoattack - second.autoattack,
            se: Math.sqrt(first.autoattack * (1 - first.autoattack) / first.n),
          };
        });
        return aaTop && pgdTop && lead.every((l) => l.lead < l.se)
          ? "HAAT-AT with ξ = 10⁻⁵ has the highest of the three on both seeds, as it has under PGD-20 on all 10,000\nimages, by less than the standard error of one such number"
          : `ξ = 10⁻⁵ highest under AutoAttack on both seeds: ${aaTop}, under PGD-20: ${pgdTop}`;
      },
    ],
  ],
};

for (const [name, claims] of Object.entries(CLAIMS)) {
  Deno.test(`notebook ${name}: every number its prose cites equals a cell's output`, async () => {
    const { cells } = await readNotebook(name);
    const text = prose(cells);
    const summary = summaryOf(cells);
    // Every claim is checked before failing, so that one run lists every sentence to rewrite.
    const wrong = claims.flatMap(([cited, fromOutputs]) => {
      const fromCells = fromOutputs(summary);
      if (fromCells !== cited) {
        return [`the prose says ${JSON.stringify(cited)}, the outputs ${JSON.stringify(fromCells)}`];
      }
      return text.includes(cited) ? [] : [`the prose no longer says ${JSON.stringify(cited)}`];
    });
    assertEquals(wrong, [], wrong.join("\n"));
  });
}

const jupyter = await findJupyter();

Deno.test({
  name:
    "deno task notebooks --html: the exported HTML shows every figure as an embedded PNG, loads MathJax, and nothing from file:///",
  ignore: !jupyter,
  async fn() {
    const out = await Deno.makeTempDir();
    try {
      const { text } = await readNotebook("05-evaluation");
      const page = await writeHtml(jupyter!, `${dir}/05-evaluation.ipynb`, out);
      assertEquals(page.images, notebookOutputs(text).pngCount);
      const html = await Deno.readTextFile(page.path);
      assert(
        html.includes("Accuracy at ε = 8/255 on the same first 100 test images") ||
          html.includes("AutoAttack against PGD-20"),
        "the prose is in the page",
      );
      assert(!html.includes("file://"), "the page loads something from the file system");
      assert(
        html.includes(HTML_SCRIPTS.mathjax_url.replace(/&/g, "&amp;")) || html.includes(HTML_SCRIPTS.mathjax_url),
        "MathJax",
      );
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
if (!jupyter) console.log("skipped: the HTML export test, as Jupyter's nbconvert is not installed");

/** The first of these commands that runs with `--version`, or undefined. */
async function findCommand(candidates: string[][]): Promise<string[] | undefined> {
  for (const [cmd, ...args] of candidates) {
    try {
      const out = await new Deno.Command(cmd, { args: [...args, "--version"], stdout: "null", stderr: "null" })
        .output();
      if (out.success) return [cmd, ...args];
    } catch {
      // not installed
    }
  }
  return undefined;
}

const chromium = await findCommand([["chromium"], ["chromium-browser"], ["google-chrome"]]);
const notebookServer = await findCommand([["/usr/bin/jupyter-notebook"], ["jupyter-notebook"], [
  "jupyter",
  "notebook",
]]);
const untrustedReason = !chromium
  ? "chromium is not installed (apt-get install chromium)"
  : !notebookServer
  ? "Jupyter Notebook is not installed (apt-get install jupyter-notebook)"
  : "";
if (untrustedReason) console.log(`skipped: the untrusted-notebook check in headless Chromium, as ${untrustedReason}`);

/** Figures a page of the classic notebook shows: PNG images and inline SVG in output areas. */
export function shownFigures(dom: string): { png: number; svg: number; trusted: boolean } {
  return {
    png: dom.split('<img src="data:image/png;base64,').length - 1,
    svg: dom.split('class="output_svg output_subarea').length - 1,
    trusted: !dom.includes(">Not Trusted<"),
  };
}

Deno.test({
  name: "every notebook, opened untrusted in Jupyter Notebook in headless Chromium, shows every figure",
  ignore: Boolean(untrustedReason),
  sanitizeResources: false,
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const runtime = await Deno.makeTempDir();
    const [cmd, ...pre] = notebookServer!;
    // An in-memory trust database: no notebook has been trusted, as on a fresh clone.
    const server = new Deno.Command(cmd, {
      args: [
        ...pre,
        "--no-browser",
        "--allow-root",
        `--port=${port}`,
        "--ip=127.0.0.1",
        "--NotebookApp.token=",
        "--NotebookApp.password=",
        "--NotebookNotary.db_file=:memory:",
        `--notebook-dir=${dir}`,
      ],
      env: { JUPYTER_RUNTIME_DIR: runtime },
      stdout: "null",
      stderr: "null",
    }).spawn();
    const shots = Deno.env.get("HAAT_SCREENSHOTS");
    try {
      const base = `http://127.0.0.1:${port}`;
      let up = false;
      for (let i = 0; i < 120 && !up; i++) {
        try {
          const response = await fetch(`${base}/api`);
          await response.body?.cancel();
          up = response.ok;
        } catch {
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      assert(up, `Jupyter Notebook did not answer on ${base}`);
      for (const name of NOTEBOOKS) {
        const expected = notebookOutputs(await Deno.readTextFile(`${dir}/${name}.ipynb`)).svgCount;
        const browser = [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--hide-scrollbars",
          "--virtual-time-budget=20000",
          "--window-size=1100,4000",
        ];
        const url = `${base}/notebooks/${name}.ipynb`;
        const out = await new Deno.Command(chromium![0], { args: [...browser, "--dump-dom", url], stderr: "null" })
          .output();
        const shown = shownFigures(new TextDecoder().decode(out.stdout));
        assertEquals(shown.trusted, false, `${name} opened as trusted; the check needs an untrusted notebook`);
        assertEquals(
          shown.png + shown.svg,
          expected,
          `${name}: the untrusted page shows ${shown.png + shown.svg} of ${expected} figures`,
        );
        if (shots) {
          await new Deno.Command(chromium![0], {
            args: [...browser, `--screenshot=${shots}/${name}.png`, url],
            stderr: "null",
          })
            .output();
        }
      }
    } finally {
      server.kill("SIGTERM");
      await server.status;
      await Deno.remove(runtime, { recursive: true });
    }
  },
});
