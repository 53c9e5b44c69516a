/**
 * `deno task evaluate --model <dir>`: the evaluation of SPEC section 5 for a saved model on the CIFAR-10
 * test split: clean and PGD-20 accuracy (per class too), AutoAttack on the first 100 images, robust
 * accuracy against eps in {0, 2, ..., 16}/255 (PGD-20, APGD-CE) on the first 100, and with --haat HAAT
 * accuracy; writes `report.json` and `report.md`.
 *
 * @module
 */
import { defaultDataDir, evaluate, HAAT_DEFAULTS, loadCifar10, loadModel, reportTable, useBackend } from "../mod.ts";
import { writeFileAtomic } from "../lib/io/atomic.ts";
import { numberFlag, parseFlags, runMain } from "./_flags.ts";

const flags = parseFlags("Usage: deno task evaluate --model <dir> [flags]", {
  model: { type: "string", help: "model directory written by train (e.g. runs/x/best)" },
  data: { type: "string", default: defaultDataDir(), help: "CIFAR-10 directory (or HAAT_DATA)" },
  n: { type: "string", default: "Infinity", help: "evaluate the first n test images" },
  eps: { type: "string", default: "8/255", help: "Linf radius" },
  steps: { type: "string", default: "20", help: "PGD steps" },
  haat: { type: "boolean", default: false, help: "also attack with HAAT (SPEC section 1)" },
  "haat-steps": { type: "string", default: String(HAAT_DEFAULTS.steps), help: "HAAT steps" },
  k: { type: "string", default: String(HAAT_DEFAULTS.k), help: "HAAT power-iteration steps" },
  xi: { type: "string", default: String(HAAT_DEFAULTS.xi), help: "HAAT finite-difference step" },
  autoattack: { type: "string", default: "standard", help: "AutoAttack version: standard, fast or none" },
  "aa-n": { type: "string", default: "100", help: "AutoAttack on the first n test images" },
  sweep: { type: "string", default: "0,2,4,6,8,10,12,16", help: "eps values (/255) for PGD and APGD-CE, or none" },
  "sweep-n": { type: "string", default: "100", help: "eps sweep on the first n test images" },
  out: { type: "string", help: "directory for report.json and report.md (default: the model directory)" },
  backend: { type: "string", default: "auto", help: "auto, tensorflow, wasm or cpu" },
});

await runMain(async () => {
  if (!["standard", "fast", "none"].includes(flags.autoattack as string)) {
    throw new Error(
      `Cannot evaluate as --autoattack must be standard, fast or none: current value is ${flags.autoattack}`,
    );
  }
  if (!flags.model) {
    throw new Error("Cannot evaluate as --model is missing: give a directory written by deno task train");
  }
  const info = await useBackend(flags.backend as "auto");
  console.log(`haat evaluate: ${info.report}`);
  const model = await loadModel(flags.model as string);
  const test = await loadCifar10(flags.data as string, "test", { limit: numberFlag("n", flags.n) });
  const report = evaluate(model.logits, test, {
    eps: numberFlag("eps", flags.eps),
    pgdSteps: numberFlag("steps", flags.steps),
    verbose: true,
    autoattack: flags.autoattack === "none"
      ? undefined
      : { version: flags.autoattack as "standard" | "fast", n: numberFlag("aa-n", flags["aa-n"]) },
    sweep: flags.sweep === "none" ? undefined : {
      eps: (flags.sweep as string).split(",").map((e) => numberFlag("sweep", e) / 255),
      n: numberFlag("sweep-n", flags["sweep-n"]),
    },
    haat: flags.haat
      ? {
        steps: numberFlag("haat-steps", flags["haat-steps"]),
        k: numberFlag("k", flags.k),
        xi: numberFlag("xi", flags.xi),
      }
      : undefined,
  });
  const table = reportTable(report);
  console.log(table);
  const out = (flags.out as string | undefined) ?? (flags.model as string);
  await Deno.mkdir(out, { recursive: true });
  await writeFileAtomic(`${out}/report.json`, JSON.stringify({ model: flags.model, ...report }, null, 2));
  await writeFileAtomic(`${out}/report.md`, `# Evaluation of ${flags.model}\n\n${table}\n`);
  console.log(`wrote ${out}/report.json and ${out}/report.md`);
  model.dispose();
});
