/**
 * `deno task attack`: attacks test images with FGSM, PGD or HAAT and writes PNGs of x, x_adv and the
 * perturbation (scaled so that +-eps spans the full range), with the predictions. Every flag, and the
 * image range against the test split, is checked before anything is written.
 *
 * @module
 */
import { fgsmAsync, haatAsync, pgdAsync, tf, useBackend } from "../mod.ts";
import { defaultDataDir, loadCifar10 } from "../lib/data/cifar10.ts";
import { toTensors } from "../lib/data/batches.ts";
import { loadModel, resnet18 } from "../lib/models/resnet18.ts";
import { encodePng } from "../lib/io/png.ts";
import { writeFileAtomic } from "../lib/io/atomic.ts";
import { choiceFlag, integerFlag, numberFlag, parseFlags, runMain } from "./_flags.ts";
import { givenHaatFlags, HAAT_FLAGS, readHaatFlags } from "./_haat_flags.ts";

const flags = parseFlags("Usage: deno task attack [flags]   (writes x, x_adv and perturbation PNGs)", {
  model: { type: "string", help: "model directory (default: an untrained width-16 ResNet18)" },
  data: { type: "string", default: defaultDataDir(), help: "CIFAR-10 directory (or HAAT_DATA)" },
  index: { type: "string", default: "0", help: "first test image (from 0)" },
  count: { type: "string", default: "1", help: "number of images (>= 1)" },
  attack: { type: "string", default: "pgd", help: "fgsm, pgd or haat" },
  eps: { type: "string", default: "8/255", help: "Linf radius" },
  steps: { type: "string", default: "20", help: "PGD / HAAT steps" },
  ...HAAT_FLAGS,
  out: { type: "string", default: "attack-out", help: "output directory" },
  backend: { type: "string", default: "auto", help: "auto, onednn, wasm, cpu, webgpu or tensorflow (or HAAT_BACKEND)" },
});

async function toBytes(t: tf.Tensor3D): Promise<Uint8Array> {
  return Uint8Array.from(await t.data(), (v) => Math.round(Math.min(Math.max(v, 0), 1) * 255));
}

await runMain(async () => {
  const attack = choiceFlag("attack", flags.attack, ["fgsm", "pgd", "haat"] as const);
  const start = integerFlag("index", flags.index), count = integerFlag("count", flags.count, { min: 1 });
  const eps = numberFlag("eps", flags.eps);
  if (!(eps > 0 && eps <= 1)) {
    throw new Error(`Cannot read --eps as it must be in (0, 1]: current value is ${flags.eps}`);
  }
  const steps = integerFlag("steps", flags.steps, { min: 1 });
  // HAAT's flags are checked for every attack (the seed is PGD's too).
  const haatOptions = readHaatFlags(flags, { eps, steps });
  const unused = [
    ...(attack === "haat" ? [] : givenHaatFlags(flags).filter((name) => attack === "fgsm" || name !== "seed")),
    ...(attack === "fgsm" && flags.given.has("steps") ? ["steps"] : []),
  ];
  if (unused.length > 0) {
    const verb = unused.length > 1 ? "do" : "does";
    console.log(`note: ${unused.map((n) => `--${n}`).join(", ")} ${verb} nothing for --attack ${attack}`);
  }
  const test = await loadCifar10(flags.data as string, "test", { limit: start + count });
  if (test.size < start + count) {
    throw new Error(
      `Cannot attack images ${start}..${start + count - 1} as the test split of ${flags.data} holds ${test.size} ` +
        `images (0..${test.size - 1}): lower --index or --count`,
    );
  }
  console.log(`haat attack: ${(await useBackend(flags.backend as "auto")).report}`);
  const model = flags.model ? await loadModel(flags.model as string) : resnet18({ width: 16 });
  model.eval();
  const idx = Array.from({ length: count }, (_, i) => start + i);
  const { x, y } = toTensors(test, idx);
  // The asynchronous attacks and reads run on every backend, webgpu included.
  const xAdv = attack === "fgsm"
    ? await fgsmAsync(model.logits, x, y, { eps })
    : attack === "pgd"
    ? await pgdAsync(model.logits, x, y, { eps, steps, seed: haatOptions.seed })
    : await haatAsync(model.logits, x, y, haatOptions);
  const predictions = tf.tidy(() => [tf.argMax(model.logits(x), 1), tf.argMax(model.logits(xAdv), 1)]);
  const [clean, adv] = await Promise.all(predictions.map((t) => t.data()));
  tf.dispose(predictions);
  const out = flags.out as string;
  await Deno.mkdir(out, { recursive: true });
  for (let i = 0; i < count; i++) {
    const [xi, ai, pi] = tf.tidy(() => {
      const xi = tf.squeeze(tf.slice(x, [i, 0, 0, 0], [1, -1, -1, -1]), [0]) as tf.Tensor3D;
      const ai = tf.squeeze(tf.slice(xAdv, [i, 0, 0, 0], [1, -1, -1, -1]), [0]) as tf.Tensor3D;
      return [xi, ai, tf.add(0.5, tf.div(tf.sub(ai, xi), 2 * eps)) as tf.Tensor3D];
    });
    const k = idx[i], names = test.classNames;
    for (const [name, t] of [["x", xi], ["x_adv", ai], ["perturbation", pi]] as const) {
      await writeFileAtomic(`${out}/${k}_${name}.png`, await encodePng(await toBytes(t), 32, 32));
    }
    tf.dispose([xi, ai, pi]);
    console.log(
      `image ${k}: label ${names[test.labels[k]]}, clean prediction ${names[clean[i]]}, ` +
        `${attack} prediction ${names[adv[i]]} -> ${out}/${k}_{x,x_adv,perturbation}.png`,
    );
  }
  tf.dispose([x, y, xAdv]);
  model.dispose();
});
