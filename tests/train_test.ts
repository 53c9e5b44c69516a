import { assert, assertEquals, assertRejects } from "./_assert.ts";
import { evaluate, loadCifar10, loadModel, oneCycle, piecewise, reportTable, train } from "../mod.ts";
import { HAS_SHARED_DATA, setup, SHARED_DATA } from "./_helpers.ts";

await setup();

Deno.test("oneCycle() and piecewise() follow their shapes", () => {
  assertEquals(oneCycle(0.1, 0), 0);
  assert(Math.abs(oneCycle(0.1, 0.4) - 0.1) < 1e-12);
  assertEquals(oneCycle(0.1, 1), 0);
  assert(Math.abs(oneCycle(0.1, 0.7) - 0.05) < 1e-12);
  assertEquals([piecewise(1, 0.1), piecewise(1, 0.6), piecewise(1, 0.9)], [1, 0.1, 0.01]);
});

Deno.test("train() rejects an unknown objective, eps out of range, lr <= 0 and a missing data directory", async () => {
  await assertRejects(
    () => train({ objective: "magic" as "pgd" }),
    /objective must be one of standard, pgd, fgsm-rs: current value is magic/,
  );
  await assertRejects(() => train({ eps: 2 }), /eps must be in \(0, 1\]: current value is 2/);
  await assertRejects(() => train({ lr: 0 }), /lr must be > 0: current value is 0/);
  await assertRejects(
    () => train({ dataDir: "/nonexistent/cifar" }),
    /data directory is missing: \/nonexistent\/cifar/,
  );
});

Deno.test({
  name:
    "train() pgd on 320 real CIFAR-10 images writes config, metrics and checkpoints; evaluate() reports clean >= PGD",
  ignore: !HAS_SHARED_DATA,
  fn: async () => {
    const runDir = await Deno.makeTempDir();
    const summary = await train({
      objective: "pgd",
      dataDir: SHARED_DATA,
      trainSize: 384,
      valSize: 64,
      epochs: 2,
      batchSize: 64,
      width: 4,
      attackSteps: 3,
      valPgdSteps: 3,
      runDir,
      logEvery: 0,
    });
    const lines = (await Deno.readTextFile(`${runDir}/metrics.jsonl`)).trim().split("\n").map((l) => JSON.parse(l));
    assertEquals(lines.map((l) => l.epoch), [1, 2]);
    assertEquals(lines[1].steps, 10);
    assert(lines.every((l) => Number.isFinite(l.loss) && l.valPgd <= 1 && l.imagesPerSecond > 0));
    assertEquals(lines[0].numTensors, lines[1].numTensors);
    assertEquals(JSON.parse(await Deno.readTextFile(`${runDir}/config.json`)).width, 4);
    const best = await loadModel(`${runDir}/best`);
    const test = await loadCifar10(SHARED_DATA, "test", { limit: 64 });
    const report = evaluate(best.logits, test, { pgdSteps: 5 });
    assert(report.pgd <= report.clean);
    assertEquals(report.n, 64);
    assert(reportTable(report).includes("PGD-5"));
    best.dispose();
    summary.model.dispose();
    await Deno.remove(runDir, { recursive: true });
  },
});
