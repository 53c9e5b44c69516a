/**
 * Notebook 02's models side by side: for each of four committed ResNet18s, at each of the first 8 test images,
 * the cross-entropy, whether the prediction is right, the top 4 eigenvalues of the input Hessian (Lanczos with
 * 20 exact products) and their ratio lambda2 / lambda1, then 12 exact power steps on the 8 images at once from
 * one random start, recording the mean step difference |u_j - u_(j-1)|. One JSON line per model.
 *
 * It runs on the portable wasm backend (XNNPACK, one thread), whose arithmetic is the same on every CPU, as the
 * notebooks do: the notebook computes the width-16 models live, which must give these lines exactly, and reads
 * the full-width model's line, which takes minutes of its own.
 *
 *   deno run -A results/curvature.ts --data ../shared/data/cifar10 > results/curvature.jsonl
 *
 * @module
 */
import {
  type Classifier,
  type Dataset,
  hessianVectorProduct,
  loadCifar10,
  loadModel,
  powerIteration,
  tf,
  topEigenvalues,
  toTensors,
  trainedModel,
  useBackend,
} from "../mod.ts";
import { normalSeed } from "../lib/random.ts";
import { parseFlags, runMain } from "../cli/_flags.ts";

/** The models compared, each with its label in the notebook: committed in results/, loaded by name. */
export const CURVATURE_MODELS = [
  ["robust w16", "fgsm-rs-w16"],
  ["standard w16", "standard-w16"],
  ["under-trained w16", "pgd-w16-s0"],
  ["robust w64", "fgsm-rs-w64"],
] as const;

/** What `curvatureProfile` measures, per image where it says so. */
export interface CurvatureProfile {
  /** Cross-entropy at each clean image. */
  losses: number[];
  /** 1 where the prediction is right, else 0. */
  correct: number[];
  /** The top 4 eigenvalues of each image's input Hessian, largest first. */
  eigenvalues: number[][];
  /** lambda2 / lambda1 of each image. */
  gaps: number[];
  /** Mean over the images of |u_j - u_(j-1)|_2 after each of 12 exact power steps. */
  stepDiff: number[];
}

/**
 * Measures a model's loss, input-Hessian spectrum and exact power-iteration convergence at the first
 * `count` images of a dataset.
 *
 * @param logits The classifier, in inference mode.
 * @param data The images (the first `count` are used).
 * @param count How many images. @default 8
 * @returns The profile; no tensor is left behind.
 */
export function curvatureProfile(logits: Classifier, data: Dataset, count = 8): CurvatureProfile {
  const indices = Array.from({ length: count }, (_, i) => i);
  const all = toTensors(data, indices);
  const [losses, correct] = tf.tidy(() => {
    const z = logits(all.x);
    return [
      tf.losses.softmaxCrossEntropy(tf.oneHot(all.y, 10), z, undefined, undefined, tf.Reduction.NONE).dataSync(),
      tf.equal(tf.argMax(z, 1), all.y).dataSync(),
    ];
  });
  const eigenvalues: number[][] = [], gaps: number[] = [];
  for (const i of indices) {
    const { x, y } = toTensors(data, [i]);
    const hvp = (v: tf.Tensor) => hessianVectorProduct(logits, x, y, v as tf.Tensor4D, { method: "exact" });
    const { values, gap } = topEigenvalues(hvp, [1, 32, 32, 3], { m: 4, iterations: 20, seed: i });
    eigenvalues.push(values);
    gaps.push(gap);
    tf.dispose([x, y]);
  }
  const hvpAll = (v: tf.Tensor) => hessianVectorProduct(logits, all.x, all.y, v as tf.Tensor4D, { method: "exact" });
  const v0 = tf.randomNormal(all.x.shape, 0, 1, "float32", normalSeed(11));
  const { vector, record } = powerIteration(hvpAll, v0, { iterations: 12 });
  const stepDiff = record.stepDiff.map((d) => d.reduce((a, c) => a + c, 0) / d.length);
  tf.dispose([v0, vector, all.x, all.y]);
  return { losses: Array.from(losses), correct: Array.from(correct), eigenvalues, gaps, stepDiff };
}

if (import.meta.main) {
  const flags = parseFlags("Usage: deno run -A results/curvature.ts [--data <dir>]", {
    data: { type: "string", default: "../shared/data/cifar10", help: "CIFAR-10 directory (binary layout)" },
  });
  await runMain(async () => {
    const info = await useBackend("wasm");
    const test = await loadCifar10(flags.data as string, "test", { limit: 8 });
    for (const [label, run] of CURVATURE_MODELS) {
      const t0 = performance.now();
      const model = await loadModel(trainedModel(run));
      const profile = curvatureProfile(model.logits, test);
      model.dispose();
      const seconds = Number(((performance.now() - t0) / 1000).toFixed(1));
      console.log(JSON.stringify({ label, run, ...profile, images: 8, seconds, backend: info.report }));
    }
  });
}
