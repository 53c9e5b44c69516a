/**
 * oneDNN's failure paths on a fake library (`_fake_onednn.ts`): what a failed build made is destroyed,
 * the caches are bounded and free what they evict, a refused call is not tried again and warns once,
 * and the library is closed when oneDNN cannot start. Runs without oneDNN installed.
 */
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { type ConvGeometry, type ConvKind, ConvPrimitives } from "../../lib/backend/onednn/conv.ts";
import { BatchNormPrimitives } from "../../lib/backend/onednn/batchnorm.ts";
import { type ElementwiseOp, ElementwisePrimitives } from "../../lib/backend/onednn/elementwise.ts";
import { onednnKernels } from "../../lib/backend/onednn/kernels.ts";
import { REFUSED_CALLS_LIMIT } from "../../lib/backend/onednn/fallback.ts";
import { type OnednnLibrary, openOnednnWith } from "../../lib/backend/onednn/open.ts";
import { PrimitiveCache } from "../../lib/backend/onednn/owned.ts";
import { tf, useBackend } from "../../lib/backend/backend.ts";
import { FakeOnednn } from "./_fake_onednn.ts";

const P = Deno.UnsafePointer.create(0x100n);

function geometry(k: number, stride: number, pad: number, size = 8): ConvGeometry {
  const out = Math.floor((size + 2 * pad - k) / stride) + 1;
  return {
    batch: 2,
    inHeight: size,
    inWidth: size,
    inChannels: 3,
    outChannels: 4,
    filterHeight: k,
    filterWidth: k,
    strideHeight: stride,
    strideWidth: stride,
    dilationHeight: 1,
    dilationWidth: 1,
    padTop: pad,
    padBottom: pad,
    padLeft: pad,
    padRight: pad,
    outHeight: out,
    outWidth: out,
  };
}

/** One cache and one call that builds an entry in it. */
interface Build {
  name: string;
  make: (fake: FakeOnednn) => { size(): number; clear(): void; run(): void };
}

const conv = (kind: ConvKind, g: ConvGeometry): Build => ({
  name: `ConvPrimitives ${kind} k${g.filterHeight} s${g.strideHeight}`,
  make: (fake) => {
    const cache = new ConvPrimitives(fake.onednn());
    return {
      size: () => cache.size,
      clear: () => cache.clear(),
      run: () => cache.run(kind, g, { input: P, filter: P, output: P, bias: P }),
    };
  },
});
const batchNorm = (direction: "forward" | "backward"): Build => ({
  name: `BatchNormPrimitives ${direction}`,
  make: (fake) => {
    const cache = new BatchNormPrimitives(fake.onednn());
    const p = { x: P, scale: P, shift: P, y: P, mean: P, variance: P, dy: P, dx: P, dscale: P, dshift: P };
    return {
      size: () => cache.size,
      clear: () => cache.clear(),
      run: () => direction === "forward" ? cache.forward([2, 4, 4, 3], 1e-5, p) : cache.backward([2, 4, 4, 3], 1e-5, p),
    };
  },
});
const elementwise = (op: ElementwiseOp, shape: number[], other?: number[]): Build => ({
  name: `ElementwisePrimitives ${op}`,
  make: (fake) => {
    const cache = new ElementwisePrimitives(fake.onednn());
    return {
      size: () => cache.size,
      clear: () => cache.clear(),
      run: () => cache.run(op, shape, other, { a: P, b: P, out: P }),
    };
  },
});

const BUILDS: Build[] = [
  conv("forward", geometry(3, 1, 1)),
  conv("forwardBias", geometry(3, 1, 1)),
  conv("forwardBiasRelu", geometry(3, 1, 1)),
  conv("backwardData", geometry(3, 2, 1)),
  conv("backwardWeights", geometry(3, 1, 1)),
  conv("backwardWeights", geometry(1, 2, 0)), // the strided 1x1 filter gradient, with its gathering reorder
  batchNorm("forward"),
  batchNorm("backward"),
  elementwise("add", [4, 8], [1, 8]),
  elementwise("relu", [4, 8]),
  elementwise("reluGrad", [4, 8]),
  elementwise("colsum", [4, 8]),
];

Deno.test("oneDNN primitive caches destroy every object they made when any oneDNN call of a build fails", async (t) => {
  for (const build of BUILDS) {
    await t.step(build.name, () => {
      // A build that succeeds: how many calls may fail, and clear() frees all it made.
      const ok = new FakeOnednn();
      const cache = build.make(ok);
      cache.run();
      const fallible = ok.fallible;
      assert(ok.live.size > 1, `${build.name} made ${ok.live.size} objects`);
      cache.clear();
      assertEquals([...ok.live.keys()], [], "clear() leaves nothing alive");
      assertEquals(ok.errors, []);
      for (let failAt = 1; failAt <= fallible; failAt++) {
        const fake = new FakeOnednn();
        fake.failAt = failAt;
        const failing = build.make(fake);
        let threw = false;
        try {
          failing.run();
        } catch {
          threw = true;
        }
        // A failed build keeps nothing; a call that failed after the build keeps only the cached entry.
        if (failing.size() === 0) {
          assertEquals([...fake.live.keys()], [], `call ${failAt} of ${fallible} failed: objects left alive`);
        }
        failing.clear();
        assertEquals([...fake.live.keys()], [], `call ${failAt} of ${fallible} failed: clear() left objects alive`);
        assertEquals(fake.errors, [], `call ${failAt} of ${fallible}`);
        // Only the strided view's descriptor may fail without an error (the convolution then runs ungathered).
        if (!threw) assert(fake.calls.includes("dnnl_memory_desc_init_by_strides"), `call ${failAt} did not throw`);
      }
    });
  }
});

Deno.test("oneDNN primitive caches keep at most their capacity, evict the least recently used and free it", () => {
  const fake = new FakeOnednn();
  const cache = new ElementwisePrimitives(fake.onednn(), 2);
  const relu = (n: number) => {
    const before = fake.created.length;
    cache.run("relu", [n, 8], undefined, { a: P, out: P });
    return fake.created.slice(before);
  };
  const a = relu(1), b = relu(2);
  assert(a.length > 0 && b.length === a.length);
  const c = relu(3);
  assertEquals(cache.size, 2);
  assert(a.every((h) => !fake.live.has(h)), "the oldest entry's objects are destroyed");
  assertEquals(relu(2), [], "a hit creates nothing");
  relu(4); // evicts 3: 2 was used more recently
  assert(c.every((h) => !fake.live.has(h)), "the least recently used entry's objects are destroyed");
  assert(b.every((h) => fake.live.has(h)), "the recently used entry is kept");
  assertEquals(fake.live.size, 2 * a.length);
  cache.clear();
  assertEquals(fake.live.size, 0);
  assertEquals(fake.errors, []);

  const convFake = new FakeOnednn();
  const convs = new ConvPrimitives(convFake.onednn(), 1);
  for (const size of [8, 9, 10]) {
    convs.run("backwardData", geometry(3, 1, 1, size), { input: P, filter: P, output: P });
    assertEquals(convs.size, 1);
  }
  const perEntry = convFake.live.size;
  assertEquals(convFake.created.length, 3 * perEntry, "each evicted entry freed all it made");
  convs.clear();
  assertEquals(convFake.live.size, 0);
  assertEquals(convFake.errors, []);

  assertThrows(() => new PrimitiveCache(0, () => {}), /capacity must be a positive integer: current value is 0/);
});

/** A fake dynamic library over `fake`, counting closes. */
function fakeSystem(fake: FakeOnednn, setThreads: (threads: number) => void = () => {}) {
  const closes = { count: 0 };
  const library: OnednnLibrary = { symbols: fake.lib, close: () => closes.count++ };
  return { closes, system: { open: () => library, setThreads } };
}

Deno.test("openOnednnWith() closes the library and frees the engine when oneDNN cannot start", async (t) => {
  const failures: [string, (fake: FakeOnednn) => void, ((n: number) => void)?][] = [
    ["a oneDNN 3.x library", (fake) => fake.version = [3, 1, 0]],
    ["threads that cannot be set", () => {}, () => {
      throw new Error("OpenMP runs 2 threads");
    }],
    ["engine creation failing", (fake) => fake.failing.add("dnnl_engine_create")],
    ["stream creation failing", (fake) => fake.failing.add("dnnl_stream_create")],
  ];
  for (const [name, breakIt, setThreads] of failures) {
    await t.step(name, () => {
      const fake = new FakeOnednn();
      breakIt(fake);
      const { closes, system } = fakeSystem(fake, setThreads);
      let threw = false;
      try {
        openOnednnWith(1, system);
      } catch {
        threw = true;
      }
      assert(threw, "openOnednnWith() threw");
      assertEquals(closes.count, 1, "the library was closed once");
      assertEquals([...fake.live.values()], [], "no engine or stream left");
      assertEquals(fake.errors, []);
    });
  }
  await t.step("a library that starts is kept open", () => {
    const fake = new FakeOnednn();
    const { closes, system } = fakeSystem(fake);
    const onednn = openOnednnWith(1, system);
    assertEquals(closes.count, 0);
    assertEquals(onednn.version, "2.6.3");
    assertEquals([...fake.live.values()].sort(), ["engine", "stream"]);
  });
});

/** `fn` with console.warn captured: its result and the lines warned. */
function capturingWarnings<T>(fn: () => T): { result: T; warnings: string[] } {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args.join(" "));
  try {
    return { result: fn(), warnings };
  } finally {
    console.warn = original;
  }
}

Deno.test("onednnKernels() remembers a call oneDNN refused, runs wasm for it without asking again, and warns once per kernel", async () => {
  await useBackend("wasm");
  const fallback = Object.fromEntries([tf.Conv2D, tf.Relu].map((name) => [name, tf.getKernel(name, "wasm")!]));
  const fake = new FakeOnednn();
  fake.failing.add("dnnl_primitive_desc_create");
  const { configs, stats } = onednnKernels(fake.onednn(), {
    ...Object.fromEntries(
      [tf.FusedConv2D, tf.Conv2DBackpropInput, tf.Conv2DBackpropFilter, tf.Add, tf.Sub, tf.Multiply, tf.RealDiv]
        .map((name) => [name, fallback[tf.Conv2D]]),
    ),
    [tf.Sum]: fallback[tf.Relu],
    [tf.Mean]: fallback[tf.Relu],
    ...fallback,
  });
  const kernel = (name: string) => configs.find((c) => c.kernelName === name)!.kernelFunc;
  const backend = tf.backend();
  /** Runs a kernel, returning its output's values (disposed) and how many oneDNN calls it made. */
  const call = (name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap) => {
    const before = fake.calls.length;
    const out = kernel(name)({ inputs, backend, attrs }) as tf.TensorInfo;
    const values = backend.readSync(out.dataId) as Float32Array;
    backend.disposeData(out.dataId);
    return { values, onednnCalls: fake.calls.length - before };
  };
  const x = tf.randomNormal([2, 8, 8, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 3, 4], 0, 1, "float32", 2) as tf.Tensor4D;
  const attrs = { strides: 1, pad: "same", dataFormat: "NHWC", dilations: 1 } as unknown as tf.NamedAttrMap;
  const expected = tf.conv2d(x, w, 1, "same");
  const expectedValues = expected.dataSync();

  const { result: first, warnings } = capturingWarnings(() => {
    const first = call(tf.Conv2D, { x, filter: w }, attrs);
    const again = call(tf.Conv2D, { x, filter: w }, attrs);
    const x2 = tf.randomNormal([1, 6, 6, 3], 0, 1, "float32", 3);
    const other = call(tf.Conv2D, { x: x2, filter: w }, attrs);
    const big = tf.randomNormal([1 << 15], 0, 1, "float32", 4);
    const relu = call(tf.Relu, { x: big }, {});
    tf.dispose([x2, big]);
    return { first, again, other, relu };
  });
  assert(first.first.onednnCalls > 0, "the first call asked oneDNN");
  assertEquals(first.first.values, expectedValues, "the refused call ran the wasm kernel");
  assertEquals(first.again.onednnCalls, 0, "the same call again did not ask oneDNN");
  assertEquals(first.again.values, expectedValues);
  assert(first.other.onednnCalls > 0, "another shape is asked for");
  assert(first.relu.onednnCalls > 0);
  assertEquals(stats.remembered[tf.Conv2D], 1);
  assertEquals(stats.fallbacks[tf.Conv2D], 3);
  assertEquals(stats.calls[tf.Conv2D] ?? 0, 0);
  assertEquals(warnings.length, 2, warnings.join("\n"));
  assert(warnings[0].includes("Conv2D") && warnings[0].includes("primitive_desc_create"), warnings[0]);
  assert(warnings[1].includes("Relu"), warnings[1]);
  assert(warnings.every((line) => !line.includes("\n")), "one line each");
  tf.dispose([x, w, expected]);
});

Deno.test("onednnKernels() forgets the oldest refused call past REFUSED_CALLS_LIMIT", async () => {
  await useBackend("wasm");
  const fake = new FakeOnednn();
  fake.failing.add("dnnl_primitive_desc_create");
  const relu = tf.getKernel(tf.Relu, "wasm")!;
  const conv = tf.getKernel(tf.Conv2D, "wasm")!;
  const names = [tf.Conv2D, tf.FusedConv2D, tf.Conv2DBackpropInput, tf.Conv2DBackpropFilter];
  const others = [tf.Add, tf.Sub, tf.Multiply, tf.RealDiv, tf.Sum, tf.Mean];
  const { configs } = onednnKernels(fake.onednn(), {
    ...Object.fromEntries(names.map((n) => [n, conv])),
    ...Object.fromEntries(others.map((n) => [n, relu])),
    [tf.Relu]: relu,
  });
  const kernel = configs.find((c) => c.kernelName === tf.Relu)!.kernelFunc;
  const backend = tf.backend();
  const asks = (n: number) => {
    const x = tf.zeros([(1 << 14) + n]);
    const before = fake.calls.length;
    const out = kernel({ inputs: { x }, backend, attrs: {} }) as tf.TensorInfo;
    backend.disposeData(out.dataId);
    x.dispose();
    return fake.calls.length > before;
  };
  capturingWarnings(() => {
    for (let n = 0; n <= REFUSED_CALLS_LIMIT; n++) assert(asks(n), `shape ${n} asked oneDNN`);
    assert(!asks(REFUSED_CALLS_LIMIT), "the newest refusal is remembered");
    assert(!asks(1), "the second oldest is remembered");
    assert(asks(0), "the oldest was forgotten, so it is asked again");
  });
});
