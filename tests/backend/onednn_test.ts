/**
 * The oneDNN convolution kernels against the XNNPACK (wasm) and plain JavaScript (cpu) kernels on
 * many geometries. Runs where `libdnnl.so.2` loads; in CI (CI=true) a missing library fails the test,
 * since `.ci/run` installs it.
 */
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { onednnStats, requestedThreads, tf, useBackend } from "../../lib/backend/backend.ts";
import { convBias } from "../../lib/ops/conv_bias.ts";
import { assertCloseToScale, evalScript, startOrSkip } from "../_helpers.ts";

const available = await startOrSkip("onednn", "oneDNN tests");

type Pad = "same" | "valid" | tf.backend_util.ExplicitPadding;

interface Case {
  n: number;
  h: number;
  w: number;
  c: number;
  o: number;
  k: number;
  stride: number;
  pad: Pad;
  dilation?: number;
}

/** Deterministic NHWC input sin(i a) and HWIO filter cos(i b) of a case. */
function convInputs(c: Case, a: number, b: number): { x: tf.Tensor4D; w: tf.Tensor4D } {
  const values = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));
  return {
    x: tf.tensor4d(values(c.n * c.h * c.w * c.c, (i) => Math.sin(i * a)), [c.n, c.h, c.w, c.c]),
    w: tf.tensor4d(values(c.k * c.k * c.c * c.o, (i) => Math.cos(i * b)), [c.k, c.k, c.c, c.o]),
  };
}

/** Forward output, input gradient and filter gradient of sum(conv(x, w) * r) on `backend`. */
async function convAll(backend: "onednn" | "wasm" | "cpu", c: Case): Promise<Float32Array[]> {
  await useBackend(backend);
  const dilation = c.dilation ?? 1;
  const { x, w } = convInputs(c, 1.7, 0.9);
  const y = tf.conv2d(x, w, c.stride, c.pad, "NHWC", dilation);
  const r = tf.tensor(Float32Array.from({ length: y.size }, (_, i) => Math.sin(i * 0.37 + 1)), y.shape);
  const outs: tf.Tensor[] = [y];
  if (dilation === 1) {
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), r))
    )([x, w]);
    outs.push(...grads);
  }
  const values = await Promise.all(outs.map(async (t) => await t.data() as Float32Array));
  tf.dispose([x, w, r, ...outs]);
  return values;
}

/** Max |a - b| within 2e-5 of the reference's size (float32 sums of many products in another order). */
const assertClose = (actual: Float32Array, expected: Float32Array, what: string) =>
  assertCloseToScale(actual, expected, what, 2e-5);

const CASES: Case[] = [
  { n: 2, h: 8, w: 8, c: 3, o: 4, k: 3, stride: 1, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { n: 1, h: 9, w: 9, c: 5, o: 6, k: 3, stride: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { n: 3, h: 8, w: 8, c: 4, o: 8, k: 3, stride: 2, pad: "same" }, // TF.js pads bottom/right more
  { n: 2, h: 7, w: 7, c: 3, o: 5, k: 3, stride: 2, pad: "same" },
  { n: 2, h: 8, w: 8, c: 16, o: 32, k: 1, stride: 2, pad: "valid" }, // ResNet shortcut
  { n: 1, h: 9, w: 11, c: 3, o: 4, k: 3, stride: 2, pad: "valid" }, // rows the forward pass never reads
  { n: 2, h: 10, w: 10, c: 3, o: 4, k: 5, stride: 3, pad: "same" },
  { n: 1, h: 6, w: 5, c: 2, o: 3, k: 2, stride: 1, pad: "same" }, // even kernel: asymmetric padding
  { n: 2, h: 16, w: 16, c: 32, o: 64, k: 3, stride: 1, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { n: 4, h: 8, w: 8, c: 64, o: 64, k: 3, stride: 2, pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { n: 2, h: 9, w: 9, c: 3, o: 4, k: 3, stride: 1, pad: "same", dilation: 2 },
  // Strided 1x1 filters (their filter gradient runs at unit stride on the gathered pixels): one image,
  // few channels, odd sizes, strides 2 and 3, and one with padding, which is not gathered.
  { n: 1, h: 32, w: 32, c: 2, o: 4, k: 1, stride: 2, pad: "valid" },
  { n: 1, h: 33, w: 17, c: 3, o: 5, k: 1, stride: 2, pad: "same" },
  { n: 1, h: 16, w: 16, c: 8, o: 8, k: 1, stride: 3, pad: "valid" },
  { n: 3, h: 9, w: 9, c: 1, o: 2, k: 1, stride: 2, pad: "valid" },
  { n: 1, h: 8, w: 8, c: 4, o: 4, k: 1, stride: 2, pad: [[0, 0], [1, 0], [0, 1], [0, 0]] },
];

Deno.test({
  name: "oneDNN Conv2D and its two gradients equal the XNNPACK and cpu kernels on every geometry",
  ignore: !available,
  fn: async (t) => {
    for (const c of CASES) {
      const label = `n${c.n} ${c.h}x${c.w}x${c.c} -> ${c.o}, k${c.k} s${c.stride} d${c.dilation ?? 1} ${
        JSON.stringify(c.pad)
      }`;
      await t.step(label, async () => {
        const before = structuredClone(onednnStats()!);
        const onednn = await convAll("onednn", c);
        const after = structuredClone(onednnStats()!);
        // Every kernel ran in oneDNN, none fell back to XNNPACK.
        const kernels = [tf.Conv2D, ...(onednn.length > 1 ? [tf.Conv2DBackpropInput, tf.Conv2DBackpropFilter] : [])];
        for (const k of kernels) {
          assert((after.calls[k] ?? 0) > (before.calls[k] ?? 0), `${k} did not run in oneDNN`);
          assertEquals(after.fallbacks[k] ?? 0, before.fallbacks[k] ?? 0, `${k} fell back: ${after.lastFallback[k]}`);
        }
        const wasm = await convAll("wasm", c);
        const cpu = await convAll("cpu", c);
        const names = ["Conv2D", "input gradient", "filter gradient"];
        for (const [i, values] of onednn.entries()) {
          assertClose(values, cpu[i], `${names[i]} against cpu`);
          assertClose(values, wasm[i], `${names[i]} against XNNPACK`);
        }
      });
    }
    await useBackend("onednn");
  },
});

/**
 * convBias(x, w, b) (FusedConv2D) and the gradients of sum(convBias(x, w, b) * r) as [y, dx, dw, db] on
 * `backend`; with `composite`, the same from relu(conv(x, w) + b) in separate ops instead.
 */
async function convBiasAll(
  backend: "onednn" | "wasm" | "cpu",
  c: Case,
  relu: boolean,
  composite = false,
): Promise<Float32Array[]> {
  await useBackend(backend);
  const { x, w } = convInputs(c, 1.3, 0.7);
  const b = tf.tensor1d(Float32Array.from({ length: c.o }, (_, i) => Math.sin(i * 2.1 + 0.5)));
  const f = (xs: tf.Tensor4D, ws: tf.Tensor4D, bs: tf.Tensor1D) => {
    if (!composite) return convBias(xs, ws, bs, c.stride, c.pad, relu);
    const z = tf.add(tf.conv2d(xs, ws, c.stride, c.pad), bs) as tf.Tensor4D;
    return relu ? tf.relu(z) : z;
  };
  const y = f(x, w, b);
  const r = tf.tensor(Float32Array.from({ length: y.size }, (_, i) => Math.sin(i * 0.37 + 1)), y.shape);
  const grads = tf.grads((xs: tf.Tensor, ws: tf.Tensor, bs: tf.Tensor) =>
    tf.sum(tf.mul(f(xs as tf.Tensor4D, ws as tf.Tensor4D, bs as tf.Tensor1D), r))
  )([x, w, b]);
  const outs = [y, ...grads];
  const values = await Promise.all(outs.map(async (t) => await t.data() as Float32Array));
  tf.dispose([x, w, b, r, ...outs]);
  return values;
}

Deno.test({
  name: "oneDNN FusedConv2D (bias, ReLU post-op) and convBias's gradients equal XNNPACK, cpu and separate ops",
  ignore: !available,
  fn: async (t) => {
    for (const c of CASES.filter((c) => (c.dilation ?? 1) === 1)) {
      for (const relu of [false, true]) {
        await t.step(`n${c.n} ${c.h}x${c.w}x${c.c} -> ${c.o}, k${c.k} s${c.stride} relu ${relu}`, async () => {
          const before = structuredClone(onednnStats()!);
          const onednn = await convBiasAll("onednn", c, relu);
          const after = structuredClone(onednnStats()!);
          assert((after.calls[tf.FusedConv2D] ?? 0) > (before.calls[tf.FusedConv2D] ?? 0), "FusedConv2D not in oneDNN");
          assertEquals(after.fallbacks[tf.FusedConv2D] ?? 0, before.fallbacks[tf.FusedConv2D] ?? 0);
          const wasm = await convBiasAll("wasm", c, relu);
          const cpu = await convBiasAll("cpu", c, relu);
          // convBias's gradients against autodiff of the separate ops on XNNPACK, not on cpu, whose plain JavaScript
          // convolution gradients took most of this test (seconds per step at 16x16x32 -> 64). The check is the same:
          // convBias's gradients are backend-independent code, and convBias on cpu, XNNPACK and oneDNN agree below.
          const separate = await convBiasAll("wasm", c, relu, true);
          const names = ["output", "input gradient", "filter gradient", "bias gradient"];
          for (const [i, values] of onednn.entries()) {
            assertClose(wasm[i], separate[i], `${names[i]}: convBias against separate ops, XNNPACK`);
            assertClose(values, cpu[i], `${names[i]} against cpu`);
            assertClose(values, wasm[i], `${names[i]} against XNNPACK`);
          }
        });
      }
    }
    await useBackend("onednn");
  },
});

Deno.test({
  name: "oneDNN kernels fall back to XNNPACK for NCHW and empty batches, with the same results",
  ignore: !available,
  fn: async () => {
    await useBackend("onednn");
    const before = onednnStats()!.fallbacks[tf.Conv2D] ?? 0;
    const x = tf.zeros([0, 4, 4, 3]) as tf.Tensor4D;
    const w = tf.ones([3, 3, 3, 2]) as tf.Tensor4D;
    const y = tf.conv2d(x, w, 1, "same");
    assertEquals(y.shape, [0, 4, 4, 2]);
    assertEquals(onednnStats()!.fallbacks[tf.Conv2D], before + 1);
    tf.dispose([x, w, y]);
  },
});

Deno.test({
  name: "oneDNN kernels do not leak tensors over many calls",
  ignore: !available,
  fn: async () => {
    await useBackend("onednn");
    const x = tf.randomNormal([2, 8, 8, 4], 0, 1, "float32", 1) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 4, 4], 0, 1, "float32", 2) as tf.Tensor4D;
    const step = () =>
      tf.tidy(() =>
        tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, "same")))([
          x,
          w,
        ])
      );
    tf.dispose(step());
    const tensors = tf.memory().numTensors, bytes = tf.memory().numBytes;
    for (let i = 0; i < 20; i++) tf.dispose(step());
    assertEquals(tf.memory().numTensors, tensors);
    assertEquals(tf.memory().numBytes, bytes);
    tf.dispose([x, w]);
  },
});

// The values are passed, not set in the environment: test files run in parallel in one process, which
// shares one environment. The subprocess tests below read HAAT_THREADS from a real environment.
Deno.test("requestedThreads() accepts positive decimal integers up to 4 per core only", () => {
  const cores = navigator.hardwareConcurrency;
  assertEquals(requestedThreads("3"), 3);
  assertEquals(requestedThreads(String(4 * cores)), 4 * cores);
  for (const bad of ["0", "-1", "2.5", "0x2", "two", " 2"]) {
    assertThrows(() => requestedThreads(bad), /HAAT_THREADS must be a positive integer/);
  }
  for (const absurd of [4 * cores + 1, 999, 1e6]) {
    assertThrows(
      () => requestedThreads(String(absurd)),
      new RegExp(
        `HAAT_THREADS must be at most ${4 * cores} \\(4 per core, ${cores} cores? here\\): current value is ${absurd}`,
      ),
    );
  }
  assertEquals(requestedThreads(""), navigator.hardwareConcurrency);
});

Deno.test({
  name: "oneDNN Add, Sub, Multiply, RealDiv, Relu (bit for bit) and leading-axes Sum and Mean equal the wasm kernels",
  ignore: !available,
  fn: async (t) => {
    const shape = [4, 16, 16, 64]; // 65,536 elements: above the size oneDNN takes over at
    const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.731 + seed));
    const cases: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, number[]][] = [
      [tf.Add, (a, b) => tf.add(a, b), shape],
      [tf.Add, (a, b) => tf.add(b, a), [64]], // per-channel operand first: swapped
      [tf.Sub, (a, b) => tf.sub(a, b), [1, 16, 1, 64]],
      [tf.Multiply, (a, b) => tf.mul(a, b), [64]],
      [tf.Multiply, (a, b) => tf.mul(a, b), shape],
      [tf.RealDiv, (a, b) => tf.div(a, tf.add(tf.abs(b), 0.5)), [64]],
      [tf.Relu, (a) => tf.relu(a), []],
      [tf.Sum, (a) => tf.sum(a, [0, 1, 2]), []],
      [tf.Sum, (a) => tf.sum(a, [1, 0], true), []],
      [tf.Mean, (a) => tf.mean(a, [0, 1, 2], true), []],
      [tf.Mean, (a) => tf.mean(a, 0), []],
    ];
    for (const [kernel, op, otherShape] of cases) {
      await t.step(`${kernel} with [${otherShape}]`, async () => {
        const run = async (backend: "onednn" | "wasm") => {
          await useBackend(backend);
          const a = tf.tensor(values(4 * 16 * 16 * 64, 1), shape);
          const b = tf.tensor(values(otherShape.reduce((p, d) => p * d, 1), 2), otherShape.length ? otherShape : [1]);
          const out = op(a, b);
          const result = { shape: out.shape, values: await out.data() as Float32Array };
          tf.dispose([a, b, out]);
          return result;
        };
        const calls = onednnStats()!.calls[kernel] ?? 0;
        const onednn = await run("onednn");
        assert((onednnStats()!.calls[kernel] ?? 0) > calls, `${kernel} did not run in oneDNN`);
        const wasm = await run("wasm");
        assertEquals(onednn.shape, wasm.shape);
        if (kernel === tf.Sum || kernel === tf.Mean) assertClose(onednn.values, wasm.values, kernel);
        else assertEquals(Array.from(onednn.values), Array.from(wasm.values), `${kernel}: elementwise results differ`);
      });
    }
    await useBackend("onednn");
  },
});

/**
 * A script that trains and differentiates with batches of one image on oneDNN: the filter gradients of
 * strided 1x1 convolutions with few input channels on one image (what a ResNet18 shortcut gets from a
 * one-image batch), then `train()` with one-image batches. Run on four threads, where oneDNN 2.6's own
 * stride reduction wrote past its scratchpad in most runs (lib/backend/onednn/conv.ts).
 */
const ONE_IMAGE_SCRIPT = `
import { tf, train, useBackend } from "${new URL("../../mod.ts", import.meta.url).href}";
import { records } from "${new URL("../_helpers.ts", import.meta.url).href}";
await useBackend("onednn");
for (const [h, c, o] of [[32, 2, 4], [16, 4, 8], [32, 1, 2], [16, 8, 16]]) {
  for (let i = 0; i < 30; i++) {
    const x = tf.randomNormal([1, h, h, c], 0, 1, "float32", i) as tf.Tensor4D;
    const w = tf.randomNormal([1, 1, c, o], 0, 1, "float32", i + 1) as tf.Tensor4D;
    const [dw] = tf.grads((ws: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, ws as tf.Tensor4D, 2, "valid"))))([w]);
    tf.dispose([x, w, dw]);
  }
}
const data = await Deno.makeTempDir();
await Deno.writeFile(data + "/data_batch_1.bin", records(36, 3));
for (const k of [2, 3, 4, 5]) await Deno.writeFile(data + "/data_batch_" + k + ".bin", records(4, k));
for (let run = 0; run < 3; run++) {
  const summary = await train({
    dataDir: data, trainSize: 36, valSize: 32, batchSize: 1, epochs: 1, width: 2, attackSteps: 1, valPgdSteps: 1,
    logEvery: 0, seed: run,
  });
  summary.model.dispose();
}
console.log("one-image batches ok");
`;

Deno.test({
  name: "oneDNN trains and differentiates batches of one image on several threads, many times in a row",
  ignore: !available,
  fn: async () => {
    const script = await Deno.makeTempFile({ suffix: ".ts" });
    await Deno.writeTextFile(script, ONE_IMAGE_SCRIPT);
    const config = new URL("../../deno.json", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `--config=${config}`, script],
      env: { HAAT_THREADS: "4" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, `the script died (${out.signal ?? `exit ${out.code}`}):\n${text.slice(-2000)}`);
    assert(text.includes("one-image batches ok"), text.slice(-2000));
    await Deno.remove(script);
  },
});

/** Runs a script that starts the default backend and prints its report, with `env`; its exit code and output. */
async function startBackend(env: Record<string, string>): Promise<{ code: number; output: string; ms: number }> {
  const script = `import { useBackend } from "${new URL("../../mod.ts", import.meta.url).href}";
console.log("report: " + (await useBackend()).report);
await useBackend("wasm");
await useBackend("onednn");
console.log("switched back");`;
  const t0 = performance.now();
  const { code, output } = await evalScript(script, {
    HAAT_BACKEND: "",
    HAAT_THREADS: "",
    HAAT_ONEDNN_LIB: "",
    ...env,
  });
  return { code, output, ms: performance.now() - t0 };
}

Deno.test({
  name: "useBackend() refuses a bad HAAT_THREADS or HAAT_ONEDNN_LIB at once instead of falling back to wasm",
  fn: async (t) => {
    const cases: [string, Record<string, string>, RegExp][] = [
      ["HAAT_THREADS=999", { HAAT_THREADS: "999" }, /HAAT_THREADS must be at most \d+ \(4 per core/],
      ["HAAT_THREADS=2.5", { HAAT_THREADS: "2.5" }, /HAAT_THREADS must be a positive integer: current value is 2\.5/],
      [
        "HAAT_ONEDNN_LIB=/nowhere/libdnnl.so.2",
        { HAAT_ONEDNN_LIB: "/nowhere/libdnnl.so.2" },
        /Cannot start oneDNN as HAAT_ONEDNN_LIB names a library that does not load: \/nowhere\/libdnnl\.so\.2/,
      ],
    ];
    for (const [name, env, message] of cases) {
      await t.step(name, async () => {
        const { code, output, ms } = await startBackend(env);
        assertEquals(code, 1, output);
        assert(message.test(output), output);
        assert(!output.includes("report:"), `a backend started:\n${output}`);
        assert(ms < 30_000, `refused after ${ms} ms`);
      });
    }
  },
});

Deno.test({
  name: "useBackend() follows HAAT_THREADS above the core count, warning once, on every start in the process",
  ignore: !available,
  fn: async () => {
    const threads = navigator.hardwareConcurrency + 1;
    const { code, output } = await startBackend({ HAAT_THREADS: String(threads) });
    assertEquals(code, 0, output);
    assert(output.includes(`report: wasm + oneDNN`) && output.includes(`${threads} threads)`), output);
    assertEquals(output.split(`warning: HAAT_THREADS=${threads} is more than the`).length - 1, 1, output);
    assert(output.includes("switched back"), output);
  },
});
