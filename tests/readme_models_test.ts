/**
 * The README's "Pretrained models" table is `results/models.ts`'s output over the committed files, and
 * every model it lists loads by name.
 */
import { assert, assertEquals } from "./_assert.ts";
import { MODEL_TABLE_RUNS, modelRows, modelTable } from "../results/models.ts";
import { TRAINED_MODELS } from "../mod.ts";

Deno.test("README's Pretrained models table is results/models.ts's output over the committed runs", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const m = readme.match(/<!-- deno run -A results\/models\.ts -->\n([\s\S]*?)\n<!-- end of results\/models\.ts -->/);
  assert(m, "README.md has no Pretrained models table between its markers");
  const rows = await modelRows();
  // deno fmt pads the cells: compare cell by cell (a rule row is dashes whatever its width).
  const cells = (table: string) =>
    table.trim().split("\n").map((line) => line.split("|").slice(1, -1).map((c) => c.trim().replace(/^-+$/, "-")));
  assertEquals(
    cells(m[1]),
    cells(modelTable(rows)),
    "README.md's table is stale: paste `deno run -A results/models.ts` into it",
  );
  // Every finished row names a model that loads by name; rows still training are not yet in the registry.
  for (const r of rows) {
    if (r.epochsRun === r.epochs && r.n !== undefined) assert(Object.hasOwn(TRAINED_MODELS, r.run), r.run);
  }
  // And every committed model the table is meant to list has its row.
  for (const run of MODEL_TABLE_RUNS.filter((r) => Object.hasOwn(TRAINED_MODELS, r))) {
    assert(rows.some((r) => r.run === run), `${run} is committed but has no row`);
  }
});
