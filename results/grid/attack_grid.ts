/**
 * Notebook 04's attack grid: how strong HAAT-5 is as an attack (Linf eps 8/255, w1 = w2 = 1/4) for each
 * (xi, k), each Hessian-vector-product method and each second-order scale, on the first 64 test images and
 * the PGD-trained `pgd-w16-s0`, scored by robust accuracy and mean cross-entropy. One JSON line per attack,
 * first the clean images and the PGD-5 baseline (HAAT with w2 = 0, no random start).
 *
 * It runs on the portable wasm backend (XNNPACK, one thread), whose arithmetic is the same on every CPU, as the
 * notebooks do: the notebook reads this file for the whole grid and re-runs a few of its attacks live, which
 * must give the same numbers bit for bit. Its 23 attacks take several minutes on one core.
 *
 *   deno run -A results/grid/attack_grid.ts --data ../shared/data/cifar10 > results/grid/attack-grid.jsonl
 *
 * @module
 */
import {
  crossEntropy,
  haat,
  type HaatOptions,
  loadCifar10,
  loadModel,
  tf,
  toTensors,
  trainedModel,
  useBackend,
} from "../../mod.ts";
import { parseFlags, runMain } from "../../cli/_flags.ts";

/** The model attacked and the number of test images (the first ones, official bytes). */
export const ATTACK_GRID_MODEL = "pgd-w16-s0";
/** Test images the attacks run on: the first 64. */
export const ATTACK_GRID_IMAGES = 64;

/** One attack of the grid: its section of notebook 04, a name, and `haat()`'s options (none: clean images). */
export interface GridAttack {
  section: "clean" | "baseline" | "grid" | "method" | "scale";
  name: string;
  options?: HaatOptions;
}

const XIS = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1];
const KS = [1, 2, 5];

/**
 * Every attack of notebook 04, in its order: the clean images; PGD-5 (HAAT with w2 = 0); HAAT-5 for each
 * (xi, k) with forward differences; at k = 5 the central difference and the exact product (the forward ones
 * at xi 1e-6, 1e-3 and 0.1 are grid cells); and the three second-order scales with exact products (`cube` is
 * the exact method's attack).
 */
export const GRID_ATTACKS: readonly GridAttack[] = [
  { section: "clean", name: "none (clean)" },
  { section: "baseline", name: "PGD-5 (HAAT with w2 = 0)", options: { steps: 5, k: 1, w2: 0 } },
  ...KS.flatMap((k) =>
    XIS.map((xi): GridAttack => ({
      section: "grid",
      name: `forward, ξ = ${xi.toExponential()}, k = ${k}`,
      options: { steps: 5, k, xi, seed: 0 },
    }))
  ),
  {
    section: "method",
    name: "central, ξ = 0.01",
    options: { steps: 5, k: 5, difference: "central", xi: 1e-2, seed: 0 },
  },
  { section: "method", name: "exact", options: { steps: 5, k: 5, hvp: "exact", seed: 0 } },
  ...(["sqrtd", "l2ball"] as const).map((secondOrderScale): GridAttack => ({
    section: "scale",
    name: `scale ${secondOrderScale}`,
    options: { steps: 5, k: 5, hvp: "exact", secondOrderScale, seed: 0 },
  })),
];

/**
 * Robust accuracy and mean cross-entropy of a classifier on (attacked) images.
 *
 * @param logits The classifier.
 * @param x Images; disposed here.
 * @param y Labels.
 * @returns The share of images still classified right, and the mean cross-entropy.
 */
export function scoreImages(
  logits: (x: tf.Tensor4D) => tf.Tensor2D,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
): { accuracy: number; loss: number } {
  const [accuracy, loss] = tf.tidy(() => {
    const z = logits(x);
    return [tf.mean(tf.cast(tf.equal(tf.argMax(z, 1), y), "float32")), tf.mean(crossEntropy(z, y))];
  }).map((t) => {
    const v = t.dataSync()[0];
    t.dispose();
    return v;
  });
  x.dispose();
  return { accuracy, loss };
}

if (import.meta.main) {
  const flags = parseFlags("Usage: deno run -A results/grid/attack_grid.ts [--data <dir>]", {
    data: { type: "string", default: "../shared/data/cifar10", help: "CIFAR-10 directory (binary layout)" },
  });
  await runMain(async () => {
    const info = await useBackend("wasm");
    const model = await loadModel(trainedModel(ATTACK_GRID_MODEL));
    const test = await loadCifar10(flags.data as string, "test", { limit: ATTACK_GRID_IMAGES });
    const { x, y } = toTensors(test, Array.from({ length: ATTACK_GRID_IMAGES }, (_, i) => i));
    for (const attack of GRID_ATTACKS) {
      const t0 = performance.now();
      const xAdv = attack.options ? haat(model.logits, x, y, attack.options) : tf.clone(x);
      const score = scoreImages(model.logits, xAdv, y);
      console.log(JSON.stringify({
        ...attack,
        ...score,
        seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
        model: ATTACK_GRID_MODEL,
        images: ATTACK_GRID_IMAGES,
        backend: info.report,
      }));
    }
    tf.dispose([x, y]);
    model.dispose();
  });
}
