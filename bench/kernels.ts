/**
 * The convolution kernels of a ResNet18 step, timed alone (batch 32, 32x32x64 activations, 3x3
 * kernel, stride 1): the forward Conv2D, and the two gradient kernels, on wasm with the shipped
 * Conv2DBackpropInput of tfjs-backend-wasm 4.22, with ours (lib/wasm_kernels.ts: an XNNPACK
 * convolution of the padded output gradient with the flipped, transposed filter), and with ours for
 * Conv2DBackpropFilter (which wasm does not ship), plus the cpu backend for reference. One JSON line
 * per kernel and implementation: milliseconds per call, the median of `--repeats` after a warm-up.
 *
 *   deno run -A bench/kernels.ts
 *
 * @module
 */
import { tf, useBackend } from "../mod.ts";
import { numberFlag, parseFlags, runMain } from "../cli/_flags.ts";

const flags = parseFlags("Usage: deno run -A bench/kernels.ts", {
  repeats: { type: "string", default: "5", help: "timed calls per kernel" },
  cpu: { type: "boolean", default: true, help: "also time the cpu backend" },
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
  // Importing the wasm backend registered its own kernels; keep the shipped one before ours replaces it.
  const shipped = tf.getKernel(tf.Conv2DBackpropInput, "wasm");
  const info = await useBackend("wasm");
  const ours = tf.getKernel(tf.Conv2DBackpropInput, "wasm")!;
  const shape: [number, number, number, number] = [32, 32, 32, 64];
  const report = (backend: string, kernel: string, implementation: string, ms: number) =>
    console.log(
      JSON.stringify({ bench: "conv-kernel", backend, kernel, implementation, shape, filter: [3, 3, 64, 64], ms }),
    );
  const run = (backend: string) => {
    const x = tf.randomNormal(shape, 0, 1, "float32", 1) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 64, 64], 0, 0.05, "float32", 2) as tf.Tensor4D;
    const dy = tf.randomNormal(shape, 0, 1, "float32", 3) as tf.Tensor4D;
    const forward = () => tf.conv2d(x, w, 1, "same");
    const input = () => tf.conv2dTranspose(dy, w, shape, 1, "same");
    const filter = () =>
      tf.tidy(() => tf.grad((ww: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, ww as tf.Tensor4D, 1, "same"), dy)))(w));
    report(backend, "Conv2D", "shipped", time(forward, repeats));
    if (backend === "wasm" && shipped) {
      tf.unregisterKernel(tf.Conv2DBackpropInput, "wasm");
      tf.registerKernel(shipped);
      shipped.setupFunc?.(tf.backend()); // binds its wasm function, as backend start-up does
      report(backend, "Conv2DBackpropInput", "shipped", time(input, repeats));
      tf.unregisterKernel(tf.Conv2DBackpropInput, "wasm");
      tf.registerKernel(ours);
    }
    report(backend, "Conv2DBackpropInput", backend === "wasm" ? "haat" : "shipped", time(input, repeats));
    // The filter gradient also runs the forward conv: subtract it to isolate Conv2DBackpropFilter.
    report(backend, "Conv2D+Conv2DBackpropFilter", backend === "wasm" ? "haat" : "shipped", time(filter, repeats));
    tf.dispose([x, w, dy]);
  };
  console.error(info.report);
  run("wasm");
  if (flags.cpu) {
    await useBackend("cpu");
    run("cpu");
  }
});
