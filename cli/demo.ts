/**
 * `deno task demo`: the main job in a few minutes on a 2-core CPU. A narrow ResNet18 (width 8) is
 * trained with PGD adversarial training (Linf eps 8/255, PGD-10, the paper's settings) on the first
 * 1,200 CIFAR-10 training images (200 held out for validation) for 3 epochs, then evaluated on 200
 * test images (clean and PGD-20). Writes runs/demo/ (config.json, metrics.jsonl, checkpoints,
 * report.json, report.md).
 *
 * Running it again replaces a previous demo run of the same settings (the same command makes it
 * again); a directory holding anything else of a run is refused unless `--overwrite` is given.
 *
 * @module
 */
import { type Dataset, evaluateAsync, loadCifar10, reportTable, useBackend } from "../mod.ts";
import { defaultDataDir } from "../lib/data/cifar10.ts";
import { resolveConfig, type TrainConfig } from "../lib/train/config.ts";
import { runInDirectory } from "../lib/train/run_files.ts";
import { train } from "../lib/train/train.ts";
import { writeFileAtomic } from "../lib/io/atomic.ts";
import { lockDirectory } from "../lib/io/lock.ts";
import { integerFlag, parseFlags, runMain } from "./_flags.ts";

const flags = parseFlags("Usage: deno task demo [flags]   (short PGD adversarial training, then evaluation)", {
  data: { type: "string", default: defaultDataDir(), help: "CIFAR-10 directory (or HAAT_DATA)" },
  epochs: { type: "string", default: "3", help: "epochs" },
  "train-size": { type: "string", default: "1200", help: "training images used (200 held out for validation)" },
  "test-size": { type: "string", default: "200", help: "test images evaluated" },
  width: { type: "string", default: "8", help: "ResNet18 base width" },
  run: { type: "string", default: "runs/demo", help: "run directory" },
  overwrite: { type: "boolean", default: false, help: "replace a run directory that holds another run" },
  backend: { type: "string", default: "auto", help: "auto, onednn, wasm, cpu, webgpu or tensorflow (or HAAT_BACKEND)" },
});

await runMain(async () => {
  const runDir = flags.run as string;
  const config = resolveConfig({
    objective: "pgd",
    dataDir: flags.data as string,
    trainSize: integerFlag("train-size", flags["train-size"], { min: 201 }),
    valSize: 200,
    epochs: integerFlag("epochs", flags.epochs, { min: 1 }),
    batchSize: 64,
    width: integerFlag("width", flags.width, { min: 1 }),
    runDir,
    logEvery: 5,
  });
  const testSize = integerFlag("test-size", flags["test-size"], { min: 1 });
  const held = await runInDirectory(runDir, config);
  if (held === "other" && !flags.overwrite) {
    throw new Error(
      `Cannot run the demo in ${runDir} as it holds another run: choose another --run, or --overwrite to replace it`,
    );
  }
  // Read the test images before training, so that missing data stops the demo before it writes.
  const test = await loadCifar10(flags.data as string, "test", { limit: testSize });
  if (flags.given.has("test-size") && test.size < testSize) {
    throw new Error(
      `Cannot run the demo as --test-size asks for ${testSize} test images: ${flags.data} holds ${test.size}`,
    );
  }
  await useBackend(flags.backend as "auto");
  // The run directory stays locked from training to the report (train() takes the same lock again).
  await Deno.mkdir(runDir, { recursive: true });
  const lock = await lockDirectory(runDir, "deno task demo", `run the demo in ${runDir}`);
  try {
    await demo(config, held, test);
  } finally {
    lock.release();
  }
});

/** Trains, evaluates and writes the report, in the locked run directory. */
async function demo(config: TrainConfig, held: "none" | "same" | "other", test: Dataset): Promise<void> {
  const runDir = config.runDir;
  if (held !== "none") console.log(`replacing the run in ${runDir}`);
  const summary = await train(config, { overwrite: held !== "none" });
  console.log(`evaluating on ${test.size} test images (clean, PGD-20)`);
  const report = await evaluateAsync(summary.model.logits, test, { verbose: true });
  const table = reportTable(report);
  console.log(table);
  await writeFileAtomic(`${runDir}/report.json`, JSON.stringify(report, null, 2));
  await writeFileAtomic(`${runDir}/report.md`, `# Demo evaluation\n\n${table}\n`);
  console.log(`wrote ${runDir}/ (config.json, metrics.jsonl, checkpoints/, best/, report.json, report.md)`);
  summary.model.dispose();
}
