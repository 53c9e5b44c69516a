import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { backendInfo, tf, useBackend } from "../../mod.ts";

/** Input and filter gradients of sum(conv(x, w)^2) on the named backend, as plain arrays. */
async function convGrads(
  backend: "wasm" | "cpu",
  xVals: Float32Array,
  xShape: number[],
  wVals: Float32Array,
  wShape: number[],
  stride: number,
  pad: "same" | "valid" | tf.backend_util.ExplicitPadding,
): Promise<Float32Array[]> {
  await useBackend(backend);
  const x = tf.tensor4d(xVals, xShape as [number, number, number, number]);
  const w = tf.tensor4d(wVals, wShape as [number, number, number, number]);
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, stride, pad)))
  )([x, w]);
  const out = [await grads[0].data() as Float32Array, await grads[1].data() as Float32Array];
  tf.dispose([x, w, ...grads]);
  return out;
}

Deno.test("wasm Conv2DBackpropFilter and Conv2DBackpropInput equal the cpu backend's gradients", async (t) => {
  const cases: [number, number, number, "same" | "valid" | tf.backend_util.ExplicitPadding][] = [
    [8, 3, 1, [[0, 0], [1, 1], [1, 1], [0, 0]]],
    [9, 3, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]],
    [8, 3, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]],
    [8, 1, 2, "valid"],
    [7, 3, 2, "same"],
    [9, 3, 2, "valid"],
    [8, 5, 3, "same"],
  ];
  for (const [side, k, stride, pad] of cases) {
    await t.step(`side ${side}, kernel ${k}, stride ${stride}, pad ${JSON.stringify(pad)}`, async () => {
      const xShape = [2, side, side, 3], wShape = [k, k, 3, 4];
      const xVals = Float32Array.from({ length: 2 * side * side * 3 }, (_, i) => Math.sin(i * 1.7));
      const wVals = Float32Array.from({ length: k * k * 12 }, (_, i) => Math.cos(i * 0.9));
      const wasm = await convGrads("wasm", xVals, xShape, wVals, wShape, stride, pad);
      const cpu = await convGrads("cpu", xVals, xShape, wVals, wShape, stride, pad);
      for (const j of [0, 1]) {
        assertEquals(wasm[j].length, cpu[j].length);
        for (let i = 0; i < cpu[j].length; i++) {
          assert(
            Math.abs(wasm[j][i] - cpu[j][i]) <= 1e-4 * (1 + Math.abs(cpu[j][i])),
            `grad ${j}[${i}]: ${wasm[j][i]} vs ${cpu[j][i]}`,
          );
        }
      }
    });
  }
  await useBackend();
});

Deno.test("useBackend() reports what runs in one short line, and rejects an unknown name", async () => {
  const info = await useBackend();
  assert(["tensorflow", "webgpu", "onednn", "wasm", "cpu"].includes(info.name));
  assert(!info.report.includes("\n") && info.report.length <= 160, `report too long: ${info.report}`);
  assertEquals(backendInfo(), info);
  assertEquals(tf.getBackend(), info.name === "onednn" ? "wasm" : info.name);
  const wasm = await useBackend("wasm");
  assertEquals(wasm.report, "wasm (XNNPACK SIMD, 1 thread)");
  assertEquals(wasm.addedKernels, ["Cast", "Identity", "Conv2DBackpropInput", "Conv2DBackpropFilter"]);
  await assertRejects(
    () => useBackend("gpu" as "cpu"),
    /name must be one of auto, tensorflow, webgpu, onednn, wasm, cpu: current value is gpu/,
  );
  await useBackend();
});

Deno.test("wasm Cast to the same dtype shares the data, and to another dtype converts", async () => {
  await useBackend("wasm");
  const x = tf.tensor1d([1.5, -2, 0]);
  const buffers = tf.memory().numDataBuffers;
  const same = tf.cast(x, "float32");
  assertEquals(tf.memory().numDataBuffers, buffers, "a same-dtype cast allocated new data");
  const other = tf.cast(x, "int32");
  assertEquals(Array.from(await other.data()), [1, -2, 0]);
  x.dispose();
  assertEquals(Array.from(await same.data()), [1.5, -2, 0]);
  tf.dispose([same, other]);
  await useBackend();
});

Deno.test("wasm Identity shares its input's data and survives the input's disposal", async () => {
  await useBackend("wasm");
  const x = tf.tensor1d([1, 2, 3]);
  const buffers = tf.memory().numDataBuffers;
  const y = tf.engine().runKernel(tf.Identity, { x }) as tf.Tensor;
  assertEquals(tf.memory().numDataBuffers, buffers, "Identity allocated new data");
  x.dispose();
  assertEquals(Array.from(await y.data()), [1, 2, 3]);
  y.dispose();
  assertEquals(tf.memory().numDataBuffers, buffers - 1, "the shared data was not freed with its last tensor");
  await useBackend();
});
