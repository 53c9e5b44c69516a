/**
 * `deno task evaluate --model <dir>`: the evaluation of SPEC section 5 for a saved model on the CIFAR-10
 * test split: clean and PGD-20 accuracy (per class too), AutoAttack on the first 100 images, robust
 * accuracy against eps in {0, 2, ..., 16}/255 (PGD-20, APGD-CE) on the first 100, and with --haat HAAT
 * accuracy; writes `report.json` and `report.md`.
 *
 * Every flag is checked before the model or the data is read, and the report is written only when the
 * evaluation finished with finite numbers: a refused or failed evaluation leaves an earlier report as it was.
 *
 * Long evaluations resume: after each section (clean and PGD, each batch of HAAT, each AutoAttack attack,
 * each sweep eps) the finished parts are saved to `evaluate-progress.json` beside the report, and the same command
 * run again goes on from there. The file names the model's weights (SHA-256), the test files and every
 * option (every HAAT option with --haat); if any differs the command refuses, before it evaluates, and
 * names the option. It is removed once
 * the report is written.
 *
 * @module
 */
import { evaluateAsync, HAAT_DEFAULTS, reportTable, useBackend } from "../mod.ts";
import { type ProgressKey, readProgressFile, weightsDigest, writeProgressFile } from "../lib/eval/progress.ts";
import { defaultDataDir, loadCifar10 } from "../lib/data/cifar10.ts";
import { loadModel } from "../lib/models/resnet18.ts";
import { writeFileAtomic } from "../lib/io/atomic.ts";
import { type DirectoryLock, lockDirectory } from "../lib/io/lock.ts";
import { choiceFlag, integerFlag, numberFlag, parseFlags, runMain } from "./_flags.ts";
import { givenHaatFlags, HAAT_FLAGS, readHaatFlags } from "./_haat_flags.ts";

const flags = parseFlags("Usage: deno task evaluate --model <dir> [flags]", {
  model: { type: "string", help: "model directory written by train (e.g. runs/x/best)" },
  data: { type: "string", default: defaultDataDir(), help: "CIFAR-10 directory (or HAAT_DATA)" },
  n: { type: "string", default: "Infinity", help: "evaluate the first n test images (Infinity: all)" },
  eps: { type: "string", default: "8/255", help: "Linf radius" },
  steps: { type: "string", default: "20", help: "PGD steps" },
  haat: { type: "boolean", default: false, help: "also attack with HAAT (SPEC section 1)" },
  "haat-steps": { type: "string", default: String(HAAT_DEFAULTS.steps), help: "HAAT steps" },
  ...HAAT_FLAGS,
  autoattack: { type: "string", default: "standard", help: "AutoAttack version: standard, fast or none" },
  "aa-n": { type: "string", default: "100", help: "AutoAttack on the first n test images" },
  sweep: { type: "string", default: "0,2,4,6,8,10,12,16", help: "eps values (/255) for PGD and APGD-CE, or none" },
  "sweep-n": { type: "string", default: "100", help: "eps sweep on the first n test images" },
  out: { type: "string", help: "directory for report.json and report.md (default: the model directory)" },
  backend: { type: "string", default: "auto", help: "auto, onednn, wasm, cpu, webgpu or tensorflow (or HAAT_BACKEND)" },
});

/**
 * Reads `--sweep`: "none" or comma-separated eps values on the /255 scale, each in [0, 255].
 *
 * @param text The flag's text.
 * @returns eps values on the [0,1] scale, or undefined for none.
 */
function sweepFlag(text: string): number[] | undefined {
  if (text === "none") return undefined;
  return text.split(",").map((part) => {
    const value = numberFlag("sweep", part.trim());
    if (!(value >= 0 && value <= 255)) {
      throw new Error(`Cannot read --sweep as each eps (/255) must be in [0, 255]: current value is ${part}`);
    }
    return value / 255;
  });
}

await runMain(async () => {
  if (!flags.model) {
    throw new Error("Cannot evaluate as --model is missing: give a directory written by deno task train");
  }
  if (/^https?:\/\//i.test(flags.model as string) && flags.out === undefined) {
    throw new Error(
      `Cannot evaluate ${flags.model} without --out: a model read from a URL has no directory here for ` +
        `report.json and report.md, so name one with --out <dir>`,
    );
  }
  const version = choiceFlag("autoattack", flags.autoattack, ["standard", "fast", "none"] as const);
  const n = integerFlag("n", flags.n, { min: 1, infinity: true });
  const eps = numberFlag("eps", flags.eps);
  if (!(eps > 0 && eps <= 1)) {
    throw new Error(`Cannot read --eps as it must be in (0, 1]: current value is ${flags.eps}`);
  }
  const steps = integerFlag("steps", flags.steps, { min: 1 });
  // HAAT's flags are checked whether or not --haat is given, as attack checks them for every attack.
  const haatSteps = integerFlag("haat-steps", flags["haat-steps"], { min: 1 });
  const { eps: _eps, seed, ...haatSettings } = readHaatFlags(flags, { eps, steps: haatSteps });
  const haat = flags.haat ? haatSettings : undefined;
  const unused = ["haat-steps", ...givenHaatFlags(flags).filter((name) => name !== "seed")]
    .filter((name) => flags.given.has(name));
  if (!flags.haat && unused.length > 0) {
    const verb = unused.length > 1 ? "apply" : "applies";
    console.log(`note: ${unused.map((n) => `--${n}`).join(", ")} ${verb} only with --haat, which is not given`);
  }
  const aaN = integerFlag("aa-n", flags["aa-n"], { min: 1, infinity: true });
  const sweep = sweepFlag(flags.sweep as string);
  const sweepN = integerFlag("sweep-n", flags["sweep-n"], { min: 1, infinity: true });
  const info = await useBackend(flags.backend as "auto");
  console.log(`haat evaluate: ${info.report}`);
  const model = await loadModel(flags.model as string);
  let lock: DirectoryLock | undefined;
  try {
    const test = await loadCifar10(flags.data as string, "test", n === Infinity ? {} : { limit: n });
    for (const [flag, asked] of [["n", n], ["aa-n", aaN], ["sweep-n", sweepN]] as const) {
      if (flags.given.has(flag) && asked !== Infinity && asked > test.size) {
        throw new Error(
          `Cannot evaluate as --${flag} asks for ${asked} test images: ${flags.data} holds ${test.size} ` +
            `(--n limits them to the first n)`,
        );
      }
    }
    const options = {
      eps,
      pgdSteps: steps,
      // The default seed is left out, so that the progress files written before --seed existed still resume.
      ...(seed !== 0 ? { seed } : {}),
      autoattack: version === "none" ? undefined : { version, n: Math.min(aaN, test.size) },
      sweep: sweep === undefined ? undefined : { eps: sweep, n: Math.min(sweepN, test.size) },
      haat,
    };
    const out = (flags.out as string | undefined) ?? (flags.model as string);
    const progressPath = `${out}/evaluate-progress.json`;
    const key: ProgressKey = {
      weights: await weightsDigest([...model.trainableVariables, ...model.statistics]),
      data: test.sources,
      options: { n: test.size, ...options },
    };
    // One evaluation at a time writes into a directory (its progress file and report).
    await Deno.mkdir(out, { recursive: true });
    lock = await lockDirectory(out, "deno task evaluate", `evaluate into ${out}`);
    const resume = await readProgressFile(progressPath, key, test, options);
    if (resume) {
      const parts = Object.keys(resume).filter((k) => k !== "seconds");
      console.log(
        `resuming from ${progressPath}: ${parts.join(", ") || "nothing"} done, ${resume.seconds.toFixed(0)} s`,
      );
    }
    const report = await evaluateAsync(model.logits, test, {
      ...options,
      verbose: true,
      resume,
      onProgress: (progress) => writeProgressFile(progressPath, key, progress),
    });
    if (!(report.n > 0 && Number.isFinite(report.clean) && Number.isFinite(report.pgd))) {
      throw new Error(
        `Cannot write the report as the evaluation is empty or not finite: n ${report.n}, clean ${report.clean}, ` +
          `PGD ${report.pgd}`,
      );
    }
    const table = reportTable(report);
    console.log(table);
    await writeFileAtomic(
      `${out}/report.json`,
      JSON.stringify({ model: flags.model, data: test.sources, ...report }, null, 2),
    );
    await writeFileAtomic(`${out}/report.md`, `# Evaluation of ${flags.model}\n\n${table}\n`);
    await Deno.remove(progressPath).catch(() => {});
    console.log(`wrote ${out}/report.json and ${out}/report.md`);
  } finally {
    lock?.release();
    model.dispose();
  }
});
