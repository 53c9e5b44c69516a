/**
 * `results/summary.ts`, the comparison table of the main experiment: its paired tests agree with `deno task
 * compare`'s on the committed grid (`results/grid/paired-vs-pgd.jsonl`), and a run's epochs are read as a
 * resumed run logs them.
 */
import { assert, assertEquals } from "./_assert.ts";
import { runSummary, summarize, summaryMarkdown } from "../results/summary.ts";

const ROOT = new URL("../results", import.meta.url).pathname;

Deno.test("summarize() pairs each arm with the first as deno task compare did on the committed grid", async () => {
  const cells = ["xi1e-6-k5", "xi1e-1-k5", "xi1e-5-k1"];
  const summary = await summarize(
    [{ name: "pgd", runs: ["grid/pgd"] }, ...cells.map((c) => ({ name: c, runs: [`grid/${c}`] }))],
    ROOT,
  );
  const compared = (await Deno.readTextFile(`${ROOT}/grid/paired-vs-pgd.jsonl`)).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  assertEquals(summary.paired.length, 2 * cells.length); // clean and PGD-20; the grid has no HAAT-20
  for (const p of summary.paired) {
    const c = compared.find((r) => r.second === `results/grid/${p.arm}` && r.metric === p.metric);
    assert(c, `no compare line for ${p.arm} ${p.metric}`);
    assertEquals(p.pValue, c.pValue);
    assertEquals(p.disagreement, c.disagreement);
    assert(Math.abs(p.againstAccuracy - p.accuracy - c.difference) < 1e-12, `${p.arm}: difference`);
  }
  assertEquals(summary.betweenSeeds, [], "one run per arm: nothing to pair between seeds");
  const text = summaryMarkdown(summary);
  assert(text.includes("| `grid/pgd` | 0 | 5 of 5 |"), text);
});

Deno.test("summarize() pairs an arm's second run with its first, as deno task compare did on the grid", async () => {
  // Two grid cells stand in for two seeds of one arm (both trained with seed 0, so the rows say seed 0).
  const summary = await summarize([{ name: "arm", runs: ["grid/pgd", "grid/xi1e-1-k2"] }], ROOT);
  const compared = (await Deno.readTextFile(`${ROOT}/grid/paired-vs-pgd.jsonl`)).trim().split("\n").map((l) =>
    JSON.parse(l)
  ).filter((r) => r.second === "results/grid/xi1e-1-k2");
  assertEquals(summary.paired, []);
  assertEquals(summary.betweenSeeds.map((p) => p.metric), compared.map((c) => c.metric));
  for (const [p, c] of summary.betweenSeeds.map((p, i) => [p, compared[i]])) {
    assertEquals([p.arm, p.against, p.pValue, p.disagreement], ["arm", "arm", c.pValue, c.disagreement]);
    assert(Math.abs(p.againstAccuracy - p.accuracy - c.difference) < 1e-12, `${p.metric}: difference`);
  }
  assert(summaryMarkdown(summary).includes("| arm, seed 0 | arm, seed 0 | pgd | 932 |"), summaryMarkdown(summary));
});

Deno.test("runSummary() counts the last line of an epoch a resumed run logged twice, and a run not started", async () => {
  const root = await Deno.makeTempDir();
  await Deno.mkdir(`${root}/r`);
  await Deno.writeTextFile(`${root}/r/config.json`, JSON.stringify({ seed: 3, epochs: 4 }));
  const epoch = (e: number, valPgd: number, seconds: number) =>
    JSON.stringify({ kind: "epoch", epoch: e, valPgd, seconds });
  await Deno.writeTextFile(
    `${root}/r/metrics.jsonl`,
    [epoch(1, 0.1, 50), epoch(2, 0.3, 70), epoch(2, 0.2, 60), JSON.stringify({ kind: "step" }), epoch(3, 0.25, 40)]
      .join("\n") + "\n",
  );
  const r = await runSummary(root, "r");
  assertEquals([r.seed, r.epochs, r.epochsPlanned, r.bestEpoch, r.bestValPgd], [3, 3, 4, 3, 0.25]);
  assertEquals([r.fastestEpochSeconds, r.medianEpochSeconds, r.report], [40, 50, null]);
  assertEquals(r.epochLines.map((e) => [e.epoch, e.valPgd, e.seconds]), [[1, 0.1, 50], [2, 0.2, 60], [3, 0.25, 40]]);
  const none = await runSummary(root, "missing");
  assertEquals([none.epochs, none.epochLines, none.bestEpoch, none.report], [0, [], null, null]);
  await Deno.remove(root, { recursive: true });
});
