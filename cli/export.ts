/**
 * `deno task export`: writes a saved model again, as float16 (half the size) or float32, into another
 * directory; with `--check-n n`, only after checking that the stored model's clean and PGD-20 accuracy on
 * the first n test images stay within `--tolerance` points of the original's (evaluated on a copy in a
 * temporary directory first). Prints one JSON line with what it measured.
 *
 *   deno task export --model ../runs/x/best --out results/x/best --dtype float16 --check-n 932
 *
 * @module
 */
import { evaluateAsync, loadCifar10, loadModel, useBackend } from "../mod.ts";
import { defaultDataDir } from "../lib/data/cifar10.ts";
import { choiceFlag, integerFlag, numberFlag, parseFlags, runMain } from "./_flags.ts";

const flags = parseFlags("Usage: deno task export --model <dir> --out <dir> [flags]   (store a model as float16)", {
  model: { type: "string", help: "the model's directory (or http(s) URL)" },
  out: { type: "string", help: "directory to write it to" },
  dtype: { type: "string", default: "float16", help: "float16 or float32" },
  "check-n": { type: "string", default: "0", help: "compare clean and PGD-20 accuracy on the first n test images" },
  tolerance: { type: "string", default: "0.2", help: "largest accuracy change allowed by --check-n, in points" },
  data: { type: "string", default: defaultDataDir(), help: "CIFAR-10 directory for --check-n (or HAAT_DATA)" },
  overwrite: { type: "boolean", default: false, help: "replace a model already in --out" },
  backend: { type: "string", default: "auto", help: "auto, onednn, wasm, cpu, webgpu or tensorflow (or HAAT_BACKEND)" },
});

await runMain(async () => {
  if (flags.model === undefined || flags.out === undefined) {
    throw new Error("Cannot export as --model and --out are both needed: see --help");
  }
  const dtype = choiceFlag("dtype", flags.dtype, ["float16", "float32"] as const);
  const checkN = integerFlag("check-n", flags["check-n"]);
  const tolerance = numberFlag("tolerance", flags.tolerance);
  if (!(tolerance >= 0 && Number.isFinite(tolerance))) {
    throw new Error(`Cannot read --tolerance as it must be >= 0 points: current value is ${flags.tolerance}`);
  }
  const out = (flags.out as string).replace(/\/+$/, "");
  const occupied = await Deno.stat(`${out}/model.json`).then(() => true, () => false);
  if (occupied && !flags.overwrite) {
    throw new Error(`Cannot export into ${out} as it holds a model: give --overwrite to replace it`);
  }
  const info = await useBackend(flags.backend as "auto");
  console.error(`haat export: ${info.report}`);
  const test = checkN > 0 ? await loadCifar10(flags.data as string, "test", { limit: checkN }) : undefined;
  if (test && test.size < checkN) {
    throw new Error(`Cannot check on ${checkN} test images as ${flags.data} holds ${test.size}: lower --check-n`);
  }
  const model = await loadModel(flags.model as string);
  try {
    const line: Record<string, unknown> = { model: flags.model, out, dtype };
    if (test) {
      const scratch = await Deno.makeTempDir({ prefix: "haat-export-" });
      try {
        await model.save(scratch, { dtype });
        const stored = await loadModel(scratch);
        try {
          const options = { n: checkN, pgdSteps: 20 };
          const a = await evaluateAsync(model.logits, test, options);
          const b = await evaluateAsync(stored.logits, test, options);
          const differ = (s: string, t: string) => [...s].filter((c, i) => c !== t[i]).length;
          Object.assign(line, {
            n: checkN,
            clean: [a.clean, b.clean],
            pgd20: [a.pgd, b.pgd],
            imagesChanged: {
              clean: differ(a.perImage!.clean, b.perImage!.clean),
              pgd20: differ(a.perImage!.pgd, b.perImage!.pgd),
            },
          });
          const worst = 100 * Math.max(Math.abs(a.clean - b.clean), Math.abs(a.pgd - b.pgd));
          if (worst > tolerance) {
            throw new Error(
              `Cannot export as ${dtype} moves accuracy by ${worst.toFixed(2)} points on ${checkN} test images ` +
                `(clean ${a.clean} -> ${b.clean}, PGD-20 ${a.pgd} -> ${b.pgd}), more than --tolerance ${tolerance}`,
            );
          }
        } finally {
          stored.dispose();
        }
      } finally {
        await Deno.remove(scratch, { recursive: true });
      }
    }
    await model.save(out, { dtype });
    const weights = JSON.parse(await Deno.readTextFile(`${out}/model.json`)).weightsFile as string;
    line.weightsFile = weights;
    line.bytes = (await Deno.stat(`${out}/${weights}`)).size;
    console.log(JSON.stringify(line));
  } finally {
    model.dispose();
  }
});
