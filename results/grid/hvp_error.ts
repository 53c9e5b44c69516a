/**
 * How well a forward-difference Hessian-vector product resolves H v on the ResNet itself, by xi:
 * per image, ||Hv_fd - Hv_exact|| / ||Hv_exact|| (the exact product: hessianVectorProduct "exact"), for a
 * random unit direction v per image, for the normalised gradient, and for the dominant eigenvector that
 * HAAT's power iteration seeks (10 exact power iterations from the random one), on the first 128 test records of
 * cifar10-full, for a trained model. One JSON line per (direction, xi): median and quartiles.
 *
 *   deno run -A results/grid/hvp_error.ts --model results/pgd-w16-s0/best > results/grid/hvp-error.jsonl
 *
 * @module
 */
import { hessianVectorProduct, loadModel, tf, useBackend } from "../../mod.ts";
import { lossAndGradient, normalizeRows } from "../../lib/core.ts";
import { loadCifar10 } from "../../lib/data/cifar10.ts";
import { toTensors } from "../../lib/data/batches.ts";
import { parseFlags, runMain } from "../../cli/_flags.ts";

const flags = parseFlags("Usage: deno run -A results/grid/hvp_error.ts --model <dir>", {
  model: { type: "string", help: "model directory" },
  data: { type: "string", default: "../shared/data/cifar10-full", help: "CIFAR-10 directory" },
  n: { type: "string", default: "128", help: "test images" },
});

await runMain(async () => {
  const info = await useBackend();
  const model = await loadModel(flags.model as string);
  model.eval();
  const test = await loadCifar10(flags.data as string, "test", { limit: Number(flags.n) });
  const { x, y } = toTensors(test);
  const quartiles = (values: number[]) => {
    const s = [...values].sort((a, b) => a - b), q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
    return { q25: q(0.25), median: q(0.5), q75: q(0.75) };
  };
  const random = normalizeRows(tf.randomNormal(x.shape, 0, 1, "float32", 7)) as tf.Tensor4D;
  let dominant = tf.clone(random);
  for (let i = 0; i < 10; i++) {
    const next = tf.tidy(() =>
      normalizeRows(hessianVectorProduct(model.logits, x, y, dominant, { method: "exact" })) as tf.Tensor4D
    );
    dominant.dispose();
    dominant = next;
  }
  const directions = {
    random,
    gradient: normalizeRows(lossAndGradient(model.logits, x, y).grad) as tf.Tensor4D,
    dominant,
  };
  for (const [name, v] of Object.entries(directions)) {
    const exact = hessianVectorProduct(model.logits, x, y, v, { method: "exact" });
    const exactNorm = tf.tidy(() => tf.norm(tf.reshape(exact, [x.shape[0], -1]), 2, 1));
    for (const xi of [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1]) {
      const errors = tf.tidy(() => {
        const fd = hessianVectorProduct(model.logits, x, y, v, { method: "forward", xi });
        return tf.div(tf.norm(tf.reshape(tf.sub(fd, exact), [x.shape[0], -1]), 2, 1), exactNorm)
          .arraySync() as number[];
      });
      console.log(JSON.stringify({
        model: flags.model,
        images: x.shape[0],
        direction: name,
        xi,
        relativeError: quartiles(errors),
        backend: info.report,
      }));
    }
    tf.dispose([exact, exactNorm, v]);
  }
  tf.dispose([x, y]);
  model.dispose();
});
