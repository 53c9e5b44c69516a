/**
 * Issue 25's check that WebGPU computes what oneDNN computes on a real model: PGD-20 (eps 8/255, step 2/255,
 * seed 0) on the first n test images against a committed width-16 model, once per backend, each in its own
 * process (one backend per process), and the per-image robust outcomes compared. Prints one JSON line per
 * backend, then one comparing them (images where the outcomes differ; the check: at most 2 of 32).
 *
 *   HAAT_WEBGPU_SOFTWARE=1 deno run -A bench/gpu/pgd_agreement.ts            (both backends, 32 images)
 *   deno run -A bench/gpu/pgd_agreement.ts --backend onednn --n 32          (one backend: what the above runs)
 *
 * On Mesa's software Vulkan (lavapipe) the WebGPU run takes minutes.
 *
 * @module
 */
import { loadCifar10, loadModel, pgdAsync, tf, trainedModel, useBackend } from "../../mod.ts";
import { defaultDataDir } from "../../lib/data/cifar10.ts";
import { toTensors } from "../../lib/data/batches.ts";
import { parseFlags, runMain } from "../../cli/_flags.ts";

const flags = parseFlags("Usage: deno run -A bench/gpu/pgd_agreement.ts [flags]", {
  backend: { type: "string", help: "run one backend (webgpu or onednn) and print its line; none: both, compared" },
  model: { type: "string", default: "fgsm-rs-w16", help: "a committed model" },
  n: { type: "string", default: "32", help: "test images" },
  data: { type: "string", default: defaultDataDir(), help: "CIFAR-10 directory (or HAAT_DATA)" },
});

await runMain(async () => {
  const n = Number(flags.n);
  if (flags.backend) {
    const info = await useBackend(flags.backend as "onednn");
    const model = await loadModel(trainedModel(flags.model as string));
    const { x, y } = toTensors(await loadCifar10(flags.data as string, "test", { limit: n }));
    const t0 = performance.now();
    const xAdv = await pgdAsync(model.logits, x, y, { eps: 8 / 255, alpha: 2 / 255, steps: 20, seed: 0 });
    const right = tf.tidy(() => tf.cast(tf.equal(tf.argMax(model.logits(xAdv), 1), y), "int32"));
    const clean = tf.tidy(() => tf.cast(tf.equal(tf.argMax(model.logits(x), 1), y), "int32"));
    const [r, c] = [await right.data(), await clean.data()];
    const outcomes = Array.from(r, (v, i) => (v && c[i] ? "1" : "0")).join("");
    console.log(JSON.stringify({
      backend: info.name,
      report: info.report,
      model: flags.model,
      n,
      robust: [...outcomes].filter((o) => o === "1").length,
      outcomes,
      seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
    }));
    tf.dispose([x, y, xAdv, right, clean]);
    model.dispose();
    return;
  }
  const lines = [];
  for (const backend of ["onednn", "webgpu"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL(import.meta.url).pathname,
        "--backend",
        backend,
        "--n",
        String(n),
        "--model",
        flags.model as string,
        "--data",
        flags.data as string,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
    if (!out.success) throw new Error(`Cannot compare as the ${backend} run failed`);
    console.log(text);
    lines.push(JSON.parse(text));
  }
  const [a, b] = lines;
  const differ = [...a.outcomes].filter((o: string, i: number) => o !== b.outcomes[i]).length;
  console.log(
    JSON.stringify({
      kind: "agreement",
      n,
      robust: [a.robust, b.robust],
      imagesDiffering: differ,
      within2: differ <= 2,
    }),
  );
});
