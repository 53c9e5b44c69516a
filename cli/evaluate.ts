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
 * option; if any differs the command refuses, before it evaluates, and says which. It is removed once
 * the report is written.
 *
 * @module
 */
import {
  type Dataset,
  evaluate,
  type EvaluateOptions,
  type EvaluationProgress,
  HAAT_DEFAULTS,
  reportTable,
  tf,
  useBackend,
} from "../mod.ts";
import { evaluationProgressProblem } from "../lib/eval/evaluate.ts";
import { defaultDataDir, loadCifar10 } from "../lib/data/cifar10.ts";
import { loadModel } from "../lib/models/resnet18.ts";
import { writeFileAtomic, writeFileAtomicSync } from "../lib/io/atomic.ts";
import { sha256Hex } from "../lib/io/sha256.ts";
import { type DirectoryLock, lockDirectory } from "../lib/io/lock.ts";
import { choiceFlag, integerFlag, numberFlag, parseFlags, runMain } from "./_flags.ts";

const flags = parseFlags("Usage: deno task evaluate --model <dir> [flags]", {
  model: { type: "string", help: "model directory written by train (e.g. runs/x/best)" },
  data: { type: "string", default: defaultDataDir(), help: "CIFAR-10 directory (or HAAT_DATA)" },
  n: { type: "string", default: "Infinity", help: "evaluate the first n test images (Infinity: all)" },
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

/** SHA-256 of the variables' float32 values, in order: which weights an evaluation ran on. */
async function weightsDigest(variables: tf.Variable[]): Promise<string> {
  const flat = tf.tidy(() => tf.concat(variables.map((v) => tf.reshape(v, [-1]))));
  const values = flat.dataSync() as Float32Array;
  flat.dispose();
  return await sha256Hex(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}

/** What an evaluation's progress file must match to be resumed: the weights, the test files, the options. */
interface ProgressKey {
  weights: string;
  data: unknown;
  options: unknown;
}

/**
 * Reads `path` (an interrupted evaluation's progress), if there is one, and checks it was made for `key`.
 *
 * @returns Its progress, or undefined when there is no file.
 * @throws {Error} Naming the file and the first part of the key that differs, or if it is not JSON.
 */
async function readProgress(
  path: string,
  key: ProgressKey,
  test: Dataset,
  options: EvaluateOptions,
): Promise<EvaluationProgress | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`Cannot resume from ${path}: ${(e as Error).message}`);
  }
  let saved: { key: ProgressKey; progress: EvaluationProgress };
  try {
    saved = JSON.parse(text);
  } catch (e) {
    throw new Error(
      `Cannot resume from ${path} as it is not JSON (${(e as Error).message}): remove it to start afresh`,
    );
  }
  for (const part of ["weights", "data", "options"] as const) {
    if (JSON.stringify(saved?.key?.[part]) !== JSON.stringify(key[part])) {
      throw new Error(
        `Cannot evaluate as ${path} holds an unfinished evaluation with other ${part}: ` +
          `${JSON.stringify(saved?.key?.[part])}, now ${JSON.stringify(key[part])}. Run the command that made it ` +
          `to finish it, or remove the file to start afresh`,
      );
    }
  }
  // The same options and weights, but is what it holds consistent (a damaged file that is still JSON)?
  const problem = evaluationProgressProblem(test, options, saved.progress);
  if (problem) throw new Error(`Cannot resume from ${path} as ${problem}. Remove it to start afresh`);
  return saved.progress;
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
  const haatFlags = {
    steps: integerFlag("haat-steps", flags["haat-steps"], { min: 1 }),
    k: integerFlag("k", flags.k, { min: 1 }),
    xi: numberFlag("xi", flags.xi),
  };
  if (!(haatFlags.xi > 0 && Number.isFinite(haatFlags.xi))) {
    throw new Error(`Cannot read --xi as it must be > 0 and finite: current value is ${flags.xi}`);
  }
  const haat = flags.haat ? haatFlags : undefined;
  const unused = ["haat-steps", "k", "xi"].filter((name) => flags.given.has(name));
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
    const resume = await readProgress(progressPath, key, test, options);
    if (resume) {
      const parts = Object.keys(resume).filter((k) => k !== "seconds");
      console.log(
        `resuming from ${progressPath}: ${parts.join(", ") || "nothing"} done, ${resume.seconds.toFixed(0)} s`,
      );
    }
    const report = evaluate(model.logits, test, {
      ...options,
      verbose: true,
      resume,
      onProgress: (progress) => writeFileAtomicSync(progressPath, JSON.stringify({ key, progress })),
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
