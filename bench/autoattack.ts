/**
 * Seconds for AutoAttack, standard and fast, on the first 100 CIFAR-10 test images of a narrow
 * ResNet18 (default: the committed PGD-trained width-8 model, results/pgd-w8/best), one JSON line per
 * version, with the robust accuracy it found and the time per attack.
 *
 *   deno run -A bench/autoattack.ts [--model results/pgd-w8/best] [--n 100]
 *
 * @module
 */
import { autoAttack, defaultDataDir, loadCifar10, loadModel, tf, toTensors, useBackend } from "../mod.ts";
import { numberFlag, parseFlags, runMain } from "../cli/_flags.ts";

const flags = parseFlags("Usage: deno run -A bench/autoattack.ts [flags]", {
  model: {
    type: "string",
    default: new URL("../results/pgd-w8/best", import.meta.url).pathname,
    help: "model directory",
  },
  data: { type: "string", default: defaultDataDir(), help: "CIFAR-10 directory (or HAAT_DATA)" },
  n: { type: "string", default: "100", help: "test images" },
  versions: { type: "string", default: "fast,standard", help: "AutoAttack versions" },
});

await runMain(async () => {
  const info = await useBackend();
  const model = await loadModel(flags.model as string);
  const n = numberFlag("n", flags.n);
  const test = await loadCifar10(flags.data as string, "test", { limit: n });
  const { x, y } = toTensors(test, Array.from({ length: test.size }, (_, i) => i));
  for (const version of (flags.versions as string).split(",") as ("fast" | "standard")[]) {
    const t0 = performance.now();
    const result = autoAttack(model.logits, x, y, { version, eps: 8 / 255 });
    const seconds = (performance.now() - t0) / 1000;
    console.log(JSON.stringify({
      bench: `autoattack-${version}`,
      backend: info.name,
      model: flags.model,
      width: model.config.width,
      images: test.size,
      seconds: Number(seconds.toFixed(1)),
      clean: result.cleanAccuracy,
      robust: result.robustAccuracy,
      perAttack: result.perAttack.map((a) => ({ ...a, seconds: Number(a.seconds.toFixed(1)) })),
      cores: navigator.hardwareConcurrency,
    }));
    result.x.dispose();
  }
  tf.dispose([x, y]);
  model.dispose();
});
