/**
 * Notebook 05's sweep to 0%: PGD-20 robust accuracy against eps (step eps/4, one random start, seed 0) on the
 * first 100 test images (official bytes), for a standard, an under-trained and a robust model, each carried
 * up the eps list until its robust accuracy is 0%. One JSON line per (model, eps).
 *
 * It runs on the portable wasm backend (XNNPACK, one thread), whose arithmetic is the same on every CPU, as the
 * notebooks do: the notebook reads this file for the curves and re-runs the last point of two of them live,
 * which must give the same numbers. Its 20 attacks take several minutes on one core.
 *
 *   deno run -A results/sweep_to_zero.ts --data ../shared/data/cifar10 > results/sweep-to-zero.jsonl
 *
 * @module
 */
import { loadCifar10, loadModel, pgd, robustAccuracy, tf, toTensors, trainedModel, useBackend } from "../mod.ts";
import { parseFlags, runMain } from "../cli/_flags.ts";

/** The models swept, committed in results/ and loaded by name. */
export const SWEEP_MODELS = ["standard-w16", "pgd-w16-s0", "fgsm-rs-w16"] as const;
/** The radii, in units of 1/255, tried in this order until a model's robust accuracy is 0%. */
export const SWEEP_EPS_255 = [0, 2, 4, 8, 12, 16, 24, 32, 48, 64] as const;
/** Test images swept: the first 100. */
export const SWEEP_IMAGES = 100;

/**
 * PGD-20 robust accuracy at one radius: step eps/4, one random start, seed 0; at eps 0 the clean accuracy.
 *
 * @param logits The classifier.
 * @param x Images in [0, 1].
 * @param y Labels.
 * @param eps Linf radius on the [0, 1] pixel scale.
 * @returns The share of images that PGD-20 does not fool.
 */
export function pgd20Accuracy(
  logits: (x: tf.Tensor4D) => tf.Tensor2D,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  eps: number,
): number {
  return robustAccuracy(
    logits,
    x,
    y,
    (xb, yb) => (eps === 0 ? tf.clone(xb) : pgd(logits, xb, yb, { eps, alpha: eps / 4, steps: 20, seed: 0 })),
    { name: "PGD-20", eps },
  );
}

if (import.meta.main) {
  const flags = parseFlags("Usage: deno run -A results/sweep_to_zero.ts [--data <dir>]", {
    data: { type: "string", default: "../shared/data/cifar10", help: "CIFAR-10 directory (binary layout)" },
  });
  await runMain(async () => {
    const info = await useBackend("wasm");
    const test = await loadCifar10(flags.data as string, "test", { limit: SWEEP_IMAGES });
    const { x, y } = toTensors(test, Array.from({ length: SWEEP_IMAGES }, (_, i) => i));
    for (const model of SWEEP_MODELS) {
      const m = await loadModel(trainedModel(model));
      for (const eps255 of SWEEP_EPS_255) {
        const t0 = performance.now();
        const accuracy = pgd20Accuracy(m.logits, x, y, eps255 / 255);
        const seconds = Number(((performance.now() - t0) / 1000).toFixed(1));
        console.log(JSON.stringify({ model, eps255, accuracy, images: SWEEP_IMAGES, seconds, backend: info.report }));
        if (accuracy === 0) break;
      }
      m.dispose();
    }
    tf.dispose([x, y]);
  });
}
