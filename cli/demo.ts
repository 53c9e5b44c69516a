/**
 * `deno task demo`: the main job in a few minutes on a 2-core CPU. A narrow ResNet18 (width 8) is
 * trained with PGD adversarial training (Linf eps 8/255, PGD-10, the paper's settings) on the first
 * 1,200 CIFAR-10 training images (200 held out for validation) for 3 epochs, then evaluated on 200
 * test images (clean and PGD-20). Writes runs/demo/ (config.json, metrics.jsonl, checkpoints,
 * report.json, report.md).
 *
 * @module
 */
import { defaultDataDir, evaluate, loadCifar10, reportTable, train, useBackend } from "../mod.ts";
import { writeFileAtomic } from "../lib/io/atomic.ts";
import { numberFlag, parseFlags, runMain } from "./_flags.ts";

const flags = parseFlags("Usage: deno task demo [flags]   (short PGD adversarial training, then evaluation)", {
  data: { type: "string", default: defaultDataDir(), help: "CIFAR-10 directory (or HAAT_DATA)" },
  epochs: { type: "string", default: "3", help: "epochs" },
  "train-size": { type: "string", default: "1200", help: "training images used (200 held out for validation)" },
  "test-size": { type: "string", default: "200", help: "test images evaluated" },
  width: { type: "string", default: "8", help: "ResNet18 base width" },
  run: { type: "string", default: "runs/demo", help: "run directory" },
  backend: { type: "string", default: "auto", help: "auto, tensorflow, wasm or cpu" },
});

await runMain(async () => {
  await useBackend(flags.backend as "auto");
  const runDir = flags.run as string;
  const summary = await train({
    objective: "pgd",
    dataDir: flags.data as string,
    trainSize: numberFlag("train-size", flags["train-size"]),
    valSize: 200,
    epochs: numberFlag("epochs", flags.epochs),
    batchSize: 64,
    width: numberFlag("width", flags.width),
    runDir,
    logEvery: 5,
  }, { overwrite: true });
  const test = await loadCifar10(flags.data as string, "test", { limit: numberFlag("test-size", flags["test-size"]) });
  console.log(`evaluating on ${test.size} test images (clean, PGD-20)`);
  const report = evaluate(summary.model.logits, test, { verbose: true });
  const table = reportTable(report);
  console.log(table);
  await writeFileAtomic(`${runDir}/report.json`, JSON.stringify(report, null, 2));
  await writeFileAtomic(`${runDir}/report.md`, `# Demo evaluation\n\n${table}\n`);
  console.log(`wrote ${runDir}/ (config.json, metrics.jsonl, checkpoints/, best/, report.json, report.md)`);
  summary.model.dispose();
});
