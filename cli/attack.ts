/**
 * `deno task attack`: attacks test images with FGSM, PGD or HAAT and writes PNGs of x, x_adv and the
 * perturbation (scaled so that +-eps spans the full range), with the predictions.
 *
 * @module
 */
import {
  defaultDataDir,
  fgsm,
  haat,
  loadCifar10,
  loadModel,
  pgd,
  resnet18,
  tf,
  toTensors,
  useBackend,
} from "../mod.ts";
import { encodePng } from "../lib/io/png.ts";
import { numberFlag, parseFlags, runMain } from "./_flags.ts";

const flags = parseFlags("Usage: deno task attack [flags]   (writes x, x_adv and perturbation PNGs)", {
  model: { type: "string", help: "model directory (default: an untrained width-16 ResNet18)" },
  data: { type: "string", default: defaultDataDir(), help: "CIFAR-10 directory (or HAAT_DATA)" },
  index: { type: "string", default: "0", help: "first test image" },
  count: { type: "string", default: "1", help: "number of images" },
  attack: { type: "string", default: "pgd", help: "fgsm, pgd or haat" },
  eps: { type: "string", default: "8/255", help: "Linf radius" },
  steps: { type: "string", default: "20", help: "PGD / HAAT steps" },
  k: { type: "string", default: "5", help: "HAAT power-iteration steps" },
  xi: { type: "string", default: "1e-6", help: "HAAT finite-difference step" },
  out: { type: "string", default: "attack-out", help: "output directory" },
  backend: { type: "string", default: "auto", help: "auto, tensorflow, wasm or cpu" },
});

function toBytes(t: tf.Tensor3D): Uint8Array {
  return Uint8Array.from(t.dataSync(), (v) => Math.round(Math.min(Math.max(v, 0), 1) * 255));
}

await runMain(async () => {
  if (!["fgsm", "pgd", "haat"].includes(flags.attack as string)) {
    throw new Error(`Cannot attack as --attack must be fgsm, pgd or haat: current value is ${flags.attack}`);
  }
  console.log(`haat attack: ${(await useBackend(flags.backend as "auto")).report}`);
  const model = flags.model ? await loadModel(flags.model as string) : resnet18({ width: 16 });
  model.eval();
  const start = numberFlag("index", flags.index), count = numberFlag("count", flags.count);
  const eps = numberFlag("eps", flags.eps);
  const test = await loadCifar10(flags.data as string, "test", { limit: start + count });
  const idx = Array.from({ length: count }, (_, i) => start + i);
  const { x, y } = toTensors(test, idx);
  const steps = numberFlag("steps", flags.steps);
  const xAdv = flags.attack === "fgsm"
    ? fgsm(model.logits, x, y, { eps })
    : flags.attack === "pgd"
    ? pgd(model.logits, x, y, { eps, steps })
    : haat(model.logits, x, y, { eps, steps, k: numberFlag("k", flags.k), xi: numberFlag("xi", flags.xi) });
  const [clean, adv] = tf.tidy(
    () => [tf.argMax(model.logits(x), 1).dataSync(), tf.argMax(model.logits(xAdv), 1).dataSync()],
  );
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
      await Deno.writeFile(`${out}/${k}_${name}.png`, await encodePng(toBytes(t), 32, 32));
    }
    tf.dispose([xi, ai, pi]);
    console.log(
      `image ${k}: label ${names[test.labels[k]]}, clean prediction ${names[clean[i]]}, ` +
        `${flags.attack} prediction ${names[adv[i]]} -> ${out}/${k}_{x,x_adv,perturbation}.png`,
    );
  }
  tf.dispose([x, y, xAdv]);
  model.dispose();
});
