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

Deno.test("summarize() pools an arm's seeds against the first arm's: b and c add up over seeds", async () => {
  // Per seed, 10 images; the arm's run right only on b of them, the first arm's only on c.
  // Seed 0: b = 5, c = 1 (p = 2 * 7 / 64 = 0.219); seed 1: b = 3, c = 1 (p = 2 * 5 / 16 = 0.625).
  // Pooled: b = 8, c = 2 of 20 pairs, p = 2 (1 + 10 + 45) / 1024 = 0.109, smaller than either seed's.
  const root = await Deno.makeTempDir();
  const outcomes = (ones: number, n = 10) => "1".repeat(ones) + "0".repeat(n - ones);
  const write = async (run: string, seed: number, perImage: string | null) => {
    await Deno.mkdir(`${root}/${run}`);
    await Deno.writeTextFile(`${root}/${run}/config.json`, JSON.stringify({ seed, epochs: 1 }));
    if (perImage === null) return;
    const acc = [...perImage].filter((c) => c === "1").length / perImage.length;
    await Deno.writeTextFile(
      `${root}/${run}/report.json`,
      JSON.stringify({ n: 10, clean: acc, pgd: acc, perImage: { clean: perImage, pgd: perImage }, data: ["same"] }),
    );
  };
  // The first arm's run is right on images 0..c-1 of the 10, the arm's on c..c+b-1 (no image right by both).
  await write("base-s0", 0, outcomes(1));
  await write("base-s1", 1, outcomes(1));
  await write("base-s2", 2, outcomes(4));
  await write("arm-s0", 0, "0" + outcomes(5, 9));
  await write("arm-s1", 1, "0" + outcomes(3, 9));
  await write("arm-s2", 2, null); // not evaluated: left out of the pool
  const summary = await summarize([
    { name: "base", runs: ["base-s0", "base-s1", "base-s2"] },
    { name: "arm", runs: ["arm-s0", "arm-s1", "arm-s2"] },
  ], root);
  const close = (v: number) => Number(v.toFixed(12)); // the p-values are sums of exp(log C - m log 2)
  assertEquals(summary.paired.filter((p) => p.metric === "pgd").map((p) => [p.seed, close(p.pValue)]), [
    [0, 14 / 64],
    [1, 10 / 16],
  ]);
  const pooled = summary.pooled.filter((p) => p.metric === "pgd");
  assertEquals(pooled.length, 1);
  assertEquals([pooled[0].seeds, pooled[0].n, close(pooled[0].pValue)], [[0, 1], 20, close(112 / 1024)]);
  assertEquals([pooled[0].accuracy, pooled[0].againstAccuracy, pooled[0].disagreement], [8 / 20, 2 / 20, 10 / 20]);
  assert(
    summaryMarkdown(summary).includes(
      "| arm, seeds 0 and 1 pooled | base, seeds 0 and 1 | pgd | 20 | 40.00% | 10.00% |",
    ),
    summaryMarkdown(summary),
  );
  // One seed with both runs evaluated: nothing to pool.
  const one = await summarize([{ name: "base", runs: ["base-s0"] }, { name: "arm", runs: ["arm-s0", "arm-s2"] }], root);
  assertEquals(one.pooled, []);
  await Deno.remove(root, { recursive: true });
});
