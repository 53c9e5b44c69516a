/**
 * Checks of the committed, executed notebooks (`deno task notebooks` writes their outputs): no cell
 * errors, at least one inline SVG figure each, no TensorFlow.js console noise, and summary numbers
 * that match the committed results/ files they were computed from.
 */
import { assert, assertEquals } from "./_assert.ts";
import { notebookOutputs } from "../cli/notebooks.ts";

const dir = new URL("../notebooks/", import.meta.url).pathname;
const results = new URL("../results/", import.meta.url).pathname;
const NOTEBOOKS = ["01-theory", "02-power-iteration", "03-training", "04-tuning-xi-k", "05-evaluation"];

interface Cell {
  cell_type: string;
  metadata: { tags?: string[] };
  source: string[] | string;
  outputs?: { output_type: string; name?: string; text?: string[] | string; data?: Record<string, unknown> }[];
  execution_count?: number | null;
}

async function readNotebook(name: string): Promise<{ text: string; cells: Cell[]; kernel: string }> {
  const text = await Deno.readTextFile(`${dir}/${name}.ipynb`);
  const book = JSON.parse(text);
  return { text, cells: book.cells, kernel: book.metadata.kernelspec.name };
}

/** The JSON that a notebook's summary cell printed. */
function summaryOf(cells: Cell[]): Record<string, Record<string, number>> {
  const cell = cells.find((c) => c.metadata.tags?.includes("summary"));
  assert(cell, "the notebook has a cell tagged summary");
  const stream = cell.outputs!.find((o) => o.output_type === "stream" && o.name === "stdout");
  assert(stream, "the summary cell printed its JSON");
  const text = Array.isArray(stream.text) ? stream.text.join("") : stream.text!;
  return JSON.parse(text);
}

async function metrics(run: string) {
  return (await Deno.readTextFile(`${results}/${run}/metrics.jsonl`)).trim().split("\n").map((l) => JSON.parse(l))
    .filter((l) => l.kind === "epoch");
}

for (const name of NOTEBOOKS) {
  Deno.test(`notebook ${name} ran top to bottom with the Deno kernel: no errors, SVG figures, no TF.js noise`, async () => {
    const { text, cells, kernel } = await readNotebook(name);
    assertEquals(kernel, "deno");
    const { errors, svgCount } = notebookOutputs(text);
    assertEquals(errors, []);
    assert(svgCount >= 1, `${name} has no SVG figure`);
    const promised = cells.filter((c) => c.cell_type === "code")
      .map((c) => (Array.isArray(c.source) ? c.source.join("") : c.source).split("plots.show(").length - 1)
      .reduce((a, b) => a + b, 0);
    assertEquals(svgCount, promised, `${name} shows ${svgCount} of the ${promised} figures its cells make`);
    const code = cells.filter((c) => c.cell_type === "code");
    assert(code.every((c) => typeof c.execution_count === "number"), `${name} has cells that did not run`);
    assert(!text.includes("looks like you are running TensorFlow.js in Node.js"), "TF.js banner in the outputs");
    assert(cells.some((c) => c.cell_type === "markdown"), "prose cells");
  });
}

Deno.test("notebook 03-training's summary matches results/*/metrics.jsonl and report.json", async () => {
  const summary = summaryOf((await readNotebook("03-training")).cells);
  for (const run of ["pgd-w8", "haat-w8"]) {
    const lines = await metrics(run);
    const report = JSON.parse(await Deno.readTextFile(`${results}/${run}/report.json`));
    assertEquals(summary[run].epochs, lines.length);
    assertEquals(summary[run].bestValPgd, Math.max(...lines.map((l) => l.valPgd)));
    assertEquals(summary[run].finalValClean, lines[lines.length - 1].valClean);
    assertEquals(summary[run].testClean, report.clean);
    assertEquals(summary[run].testPgd20, report.pgd);
  }
});

Deno.test("notebook 05-evaluation's summary matches results/*/report.json", async () => {
  const summary = summaryOf((await readNotebook("05-evaluation")).cells);
  for (const run of ["pgd-w8", "haat-w8"]) {
    const report = JSON.parse(await Deno.readTextFile(`${results}/${run}/report.json`));
    assertEquals(summary[run].clean, report.clean);
    assertEquals(summary[run].pgd20, report.pgd);
    assertEquals(summary[run].haat10, report.haat?.accuracy ?? null);
    assertEquals(summary[run].autoattack, report.autoattack?.robust ?? null);
  }
});
