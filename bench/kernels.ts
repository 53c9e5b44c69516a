/**
 * The three convolution kernels of a ResNet18 step, timed alone, on the XNNPACK wasm kernels and on
 * oneDNN (at `HAAT_THREADS`, default all cores): Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter,
 * each called directly as a kernel. Two shapes: batch 32, 32x32x64 -> 64 and batch 128,
 * 16x16x128 -> 128, 3x3, stride 1. One JSON line per kernel and backend: milliseconds per call, the
 * median of `--repeats` after a warm-up.
 *
 *   HAAT_THREADS=1 deno run -A bench/kernels.ts
 *
 * @module
 */
import { tf, useBackend } from "../mod.ts";
import { numberFlag, parseFlags, runMain } from "../cli/_flags.ts";

const flags = parseFlags("Usage: deno run -A bench/kernels.ts", {
  repeats: { type: "string", default: "5", help: "timed calls per kernel" },
  backends: { type: "string", default: "wasm,onednn", help: "backends, comma-separated" },
});

/** Median milliseconds per call of fn (after one warm-up call). */
function time(fn: () => tf.Tensor, repeats: number): number {
  fn().dispose();
  const ms: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    const out = fn();
    out.dataSync();
    ms.push(performance.now() - t0);
    out.dispose();
  }
  return Number(ms.sort((a, b) => a - b)[Math.floor(repeats / 2)].toFixed(1));
}

await runMain(async () => {
  const repeats = numberFlag("repeats", flags.repeats);
  const shapes: { x: [number, number, number, number]; out: number }[] = [
    { x: [32, 32, 32, 64], out: 64 },
    { x: [128, 16, 16, 128], out: 128 },
  ];
  for (const backend of (flags.backends as string).split(",")) {
    const info = await useBackend(backend as "wasm");
    for (const { x: shape, out } of shapes) {
      const filterShape: [number, number, number, number] = [3, 3, shape[3], out];
      const yShape: [number, number, number, number] = [shape[0], shape[1], shape[2], out];
      const x = tf.randomNormal(shape, 0, 1, "float32", 1) as tf.Tensor4D;
      const w = tf.randomNormal(filterShape, 0, 0.05, "float32", 2) as tf.Tensor4D;
      const dy = tf.randomNormal(yShape, 0, 1, "float32", 3) as tf.Tensor4D;
      const attrs = { strides: [1, 1], pad: "same", dataFormat: "NHWC" };
      const kernels: [string, () => tf.Tensor][] = [
        [tf.Conv2D, () => tf.conv2d(x, w, 1, "same")],
        [tf.Conv2DBackpropInput, () =>
          tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: w }, {
            ...attrs,
            inputShape: shape,
          }) as tf.Tensor],
        [tf.Conv2DBackpropFilter, () =>
          tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, {
            ...attrs,
            filterShape,
          }) as tf.Tensor],
      ];
      for (const [kernel, fn] of kernels) {
        console.log(JSON.stringify({
          bench: "conv-kernel",
          backend: info.name,
          detail: info.report,
          kernel,
          input: shape,
          filter: filterShape,
          ms: time(fn, repeats),
        }));
      }
      tf.dispose([x, w, dy]);
    }
  }
});
