/**
 * What `useBackend()` needs to choose a GPU on its own (issue 25 item 3): which WebGPU adapters are
 * hardware (`classifyAdapter`), how to name one in the report (`adapterLabel`), a short timed training
 * step run on the active backend (`probeTrainingStep`), and the choice made from two such timings
 * (`probeChoice`). The classification and the choice are pure functions, tested with made-up adapters
 * and timings; `backend.ts` runs the probe only where a hardware adapter exists.
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import { batchNormTraining } from "../ops/batch_norm.ts";

/** What Deno's `GPUAdapter.info` says of an adapter (the fields this module reads). */
export interface AdapterFacts {
  /** PCI vendor id as a decimal string in Deno (`"4318"` is NVIDIA's 0x10de), or a name elsewhere. */
  vendor: string;
  /** Often empty in Deno. */
  architecture: string;
  /** PCI device id as a decimal string in Deno. */
  device: string;
  /** The driver's name for the adapter, e.g. `"NVIDIA H100 80GB HBM3"` or `"llvmpipe (LLVM 15.0.6, 256 bits)"`. */
  description: string;
  /** True for an adapter that runs on the CPU (Deno sets it for Vulkan's CPU device type). */
  isFallbackAdapter?: boolean;
}

/** An adapter as `useBackend()` reports it. */
export interface AdapterSummary {
  /** The driver's description (or the device id, or the vendor, when it gives none). */
  description: string;
  /** The vendor as Deno gives it (a decimal PCI id). */
  vendor: string;
  /** The vendor's name where its PCI id is known (`PCI_VENDORS`), else empty. */
  vendorName: string;
  /** The architecture as Deno gives it (often empty). */
  architecture: string;
  /** A software adapter: never chosen automatically, and run when named only with `HAAT_WEBGPU_SOFTWARE=1`. */
  fallback: boolean;
  /** Why it counts as software, empty for hardware. */
  softwareBecause: string;
}

/** PCI vendor ids of GPU makers, by the decimal string Deno gives as `GPUAdapterInfo.vendor`. */
export const PCI_VENDORS: Readonly<Record<string, string>> = Object.freeze({
  "4318": "NVIDIA", // 0x10de
  "4098": "AMD", // 0x1002
  "32902": "Intel", // 0x8086
  "4203": "Apple", // 0x106b
  "5045": "ARM", // 0x13b5
  "20803": "Qualcomm", // 0x5143
  "4112": "Imagination", // 0x1010
  "5348": "Samsung", // 0x14e4
  "65541": "Mesa", // 0x10005, VK_VENDOR_ID_MESA: lavapipe
  "6880": "Google", // 0x1ae0: SwiftShader
  "5140": "Microsoft", // 0x1414: WARP, the Basic Render Driver
});

/** Descriptions of software rasterisers: Mesa's llvmpipe/lavapipe/softpipe, SwiftShader, Microsoft's WARP. */
const SOFTWARE_DESCRIPTION = /llvmpipe|lavapipe|softpipe|swiftshader|microsoft basic render|\bwarp\b|software/i;

/**
 * Sorts an adapter into hardware or software, from what Deno's `GPUAdapter.info` says: software when it
 * is a fallback adapter (a CPU device), when its vendor is Mesa's software id (0x10005, lavapipe), or
 * when its description names a software rasteriser (llvmpipe, lavapipe, softpipe, SwiftShader, WARP).
 * A hardware adapter is named by its description, its vendor's name and its architecture.
 *
 * @param facts `GPUAdapter.info`, or a made-up one.
 * @returns The summary the report uses; `fallback` is true for a software adapter.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { classifyAdapter } from "./probe.ts";
 * const lavapipe = { vendor: "65541", architecture: "", device: "0", description: "llvmpipe (LLVM 15.0.6, 256 bits)", isFallbackAdapter: true };
 * assert.strictEqual(classifyAdapter(lavapipe).fallback, true);
 * const h100 = { vendor: "4318", architecture: "", device: "8961", description: "NVIDIA H100 80GB HBM3", isFallbackAdapter: false };
 * assert.strictEqual(classifyAdapter(h100).fallback, false);
 * assert.strictEqual(classifyAdapter(h100).vendorName, "NVIDIA");
 * ```
 */
export function classifyAdapter(facts: AdapterFacts): AdapterSummary {
  const vendor = String(facts.vendor ?? "");
  const vendorName = PCI_VENDORS[vendor] ?? "";
  const architecture = String(facts.architecture ?? "");
  const description = facts.description || (facts.device && facts.device !== "0" ? `device ${facts.device}` : "") ||
    vendorName || vendor || "unknown adapter";
  const softwareBecause = facts.isFallbackAdapter
    ? "a fallback (CPU) adapter"
    : vendor === "65541"
    ? "Mesa's software vendor id"
    : SOFTWARE_DESCRIPTION.test(description)
    ? "a software rasteriser"
    : "";
  return { description, vendor, vendorName, architecture, fallback: softwareBecause !== "", softwareBecause };
}

/**
 * An adapter's name for the one-line report: its description, then its vendor's name (or Deno's raw
 * vendor string) and its architecture, where Deno gives them and the description does not already say
 * them, e.g. "NVIDIA H100 80GB HBM3" or "llvmpipe (LLVM 15.0.6, 256 bits), Mesa".
 *
 * @param adapter A summary from `classifyAdapter`.
 * @returns The label.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { adapterLabel, classifyAdapter } from "./probe.ts";
 * const facts = { vendor: "4098", architecture: "rdna-3", device: "29772", description: "AMD Radeon RX 7900 XTX" };
 * assert.strictEqual(adapterLabel(classifyAdapter(facts)), "AMD Radeon RX 7900 XTX, rdna-3");
 * ```
 */
export function adapterLabel(adapter: AdapterSummary): string {
  const maker = adapter.vendorName || (adapter.vendor ? `vendor ${adapter.vendor}` : "");
  const said = (part: string) => part === "" || adapter.description.toLowerCase().includes(part.toLowerCase());
  const extra = [maker, adapter.architecture].filter((part) => !said(part)).join(" ");
  return extra ? `${adapter.description}, ${extra}` : adapter.description;
}

/** The two timings of the probe: one training step on the GPU adapter and on the CPU backend. */
export interface ProbeTimings {
  /** Seconds of the step on WebGPU (NaN or Infinity where it failed). */
  gpuSeconds: number;
  /** Seconds of the same step on the CPU backend that would run otherwise (oneDNN, else wasm, else cpu). */
  cpuSeconds: number;
}

/**
 * The automatic choice from the probe's timings: the GPU where its training step took less time than
 * the CPU backend's, else the CPU backend (also where either timing is not a positive finite number).
 *
 * @param timings Seconds of the probe step on each.
 * @returns `"webgpu"` or `"cpu"` (the CPU backend that started: oneDNN, else wasm, else cpu).
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { probeChoice } from "./probe.ts";
 * assert.strictEqual(probeChoice({ gpuSeconds: 0.02, cpuSeconds: 0.3 }), "webgpu");
 * assert.strictEqual(probeChoice({ gpuSeconds: 0.5, cpuSeconds: 0.3 }), "cpu");
 * assert.strictEqual(probeChoice({ gpuSeconds: NaN, cpuSeconds: 0.3 }), "cpu");
 * ```
 */
export function probeChoice(timings: ProbeTimings): "webgpu" | "cpu" {
  const { gpuSeconds, cpuSeconds } = timings;
  const valid = (s: number) => Number.isFinite(s) && s > 0;
  if (!valid(gpuSeconds)) return "cpu";
  if (!valid(cpuSeconds)) return "webgpu";
  return gpuSeconds < cpuSeconds ? "webgpu" : "cpu";
}

/** What `probeReport` builds the report from. */
export interface ProbeReportFacts {
  /** `probeChoice`'s answer. */
  choice: "webgpu" | "cpu";
  /** The CPU backend's own report line. */
  cpuReport: string;
  /** The CPU backend's short name: "oneDNN", "wasm" or "cpu". */
  cpuLabel: string;
  /** The webgpu backend's report detail (empty where it did not start). */
  gpuDetail: string;
  /** The adapter probed. */
  adapter: AdapterSummary;
  /** The probe step's seconds on the GPU (undefined where it did not run). */
  gpuSeconds?: number;
  /** The probe step's seconds on the CPU backend. */
  cpuSeconds: number;
  /** Why WebGPU did not start or its step failed (empty otherwise). */
  failure: string;
}

/** Seconds to three significant digits, with the unit. */
function seconds(s: number): string {
  return `${Number(s.toPrecision(3))} s`;
}

/**
 * The one-line report of the automatic choice where a hardware adapter was probed, and the GPU's line
 * in `tried`: what runs, the adapter, and both timings (or why the GPU's step did not run).
 *
 * @param facts The choice, the two backends' lines and the timings.
 * @returns `report`, the line `useBackend()` returns, and `tried`, the GPU candidate's detail.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { classifyAdapter, probeReport } from "./probe.ts";
 * const adapter = classifyAdapter({ vendor: "4318", architecture: "", device: "8961", description: "NVIDIA H100 80GB HBM3" });
 * const { report } = probeReport({
 *   choice: "webgpu", cpuReport: "wasm + oneDNN 2.6.3 (avx2, 16 threads)", cpuLabel: "oneDNN",
 *   gpuDetail: "webgpu (NVIDIA H100 80GB HBM3)", adapter, gpuSeconds: 0.0213, cpuSeconds: 0.1504, failure: "",
 * });
 * assert.strictEqual(report, "webgpu (NVIDIA H100 80GB HBM3); probe step 0.0213 s, oneDNN 0.15 s");
 * ```
 */
export function probeReport(facts: ProbeReportFacts): { report: string; tried: string } {
  const { choice, cpuReport, cpuLabel, gpuDetail, adapter, gpuSeconds, cpuSeconds, failure } = facts;
  const label = adapterLabel(adapter);
  if (gpuSeconds === undefined || failure) {
    const why = failure || "its probe step did not run";
    const short = why.length > 80 ? `${why.slice(0, 77)}...` : why;
    return { report: `${cpuReport}; GPU not used: ${label}: ${short}`, tried: `${label}: ${why}` };
  }
  if (choice === "webgpu") {
    const line = `${gpuDetail}; probe step ${seconds(gpuSeconds)}, ${cpuLabel} ${seconds(cpuSeconds)}`;
    return { report: line, tried: line };
  }
  const timings = `probe step ${seconds(gpuSeconds)} on ${label}, ${cpuLabel} ${seconds(cpuSeconds)}`;
  return {
    report: `${cpuReport}; GPU not faster: ${timings}`,
    tried: `${label} not faster than ${cpuLabel}: ${timings}`,
  };
}

/** Sizes of the probe step. */
export interface ProbeOptions {
  /**
   * ResNet18 width.
   * @default {16}
   */
  width?: number;
  /**
   * Images in the batch.
   * @default {32}
   */
  batch?: number;
  /**
   * Timed steps after the warm-up; the fastest counts.
   * @default {2}
   */
  repeats?: number;
}

/** What `probeTrainingStep` measured. */
export interface ProbeResult {
  /** The first step's seconds (shader compilation on WebGPU, oneDNN's primitives, heap growth). */
  warmupSeconds: number;
  /** The fastest timed step's seconds. */
  seconds: number;
  /** The sizes it ran. */
  width: number;
  batch: number;
}

/** One convolution + training-mode BatchNorm layer of the probe network. */
interface ProbeLayer {
  kernel: tf.Variable<tf.Rank.R4>;
  gamma: tf.Variable<tf.Rank.R1>;
  beta: tf.Variable<tf.Rank.R1>;
  stride: number;
}

/**
 * Times a ResNet18 training step on the active backend: the same layers as `resnet18()`'s in train mode
 * (a 3x3 stem, four stages of two basic blocks with 1x1 projection shortcuts, convolutions followed by
 * training-mode BatchNorm through `batchNormTraining`, ReLU, residual additions, global mean pooling and
 * a dense layer), the mean cross-entropy, the gradient of every weight and a plain SGD update; one
 * warm-up step, then `repeats` timed ones, each ending on an asynchronous read of a value the update
 * changed, so that a GPU's queued work is inside the time. Written here rather than with `resnet18()`
 * because the backend layer does not import the model (a test checks the two have the same weights'
 * shapes). Everything it makes is disposed.
 *
 * @param options Width, batch and repeats.
 * @returns The warm-up's seconds and the fastest timed step's.
 * @throws {Error} If a size is not a positive integer, or the backend fails the step.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { probeTrainingStep } from "./probe.ts";
 * import { useBackend } from "./backend.ts";
 * await useBackend("cpu");
 * const probe = await probeTrainingStep({ width: 1, batch: 2, repeats: 1 });
 * assert.ok(probe.seconds > 0 && probe.warmupSeconds > 0);
 * ```
 */
export async function probeTrainingStep(options: ProbeOptions = {}): Promise<ProbeResult> {
  const width = options.width ?? 16, batch = options.batch ?? 32, repeats = options.repeats ?? 2;
  for (const [name, value] of [["width", width], ["batch", batch], ["repeats", repeats]] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`Cannot probe as ${name} must be a positive integer: current value is ${value}`);
    }
  }
  const { layers, blocks, dense, variables } = probeNetwork(width);
  const x = tf.randomUniform([batch, 32, 32, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const y = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), "int32");
  const apply = (h: tf.Tensor4D, layer: ProbeLayer, relu: boolean): tf.Tensor4D => {
    const size = layer.kernel.shape[0];
    const pad = size === 3 ? [[0, 0], [1, 1], [1, 1], [0, 0]] as tf.backend_util.ExplicitPadding : "valid";
    const out = batchNormTraining(tf.conv2d(h, layer.kernel, layer.stride, pad), layer.gamma, layer.beta, 1e-5).y;
    return relu ? tf.relu(out) : out;
  };
  const loss = (): tf.Scalar => {
    let h = apply(x, layers[0], true);
    for (const block of blocks) {
      const out = apply(h, block.conv1, true);
      const residual = block.shortcut ? apply(h, block.shortcut, false) : h;
      h = tf.relu(tf.add(apply(out, block.conv2, false), residual));
    }
    const logits = tf.add(tf.matMul(tf.mean(h, [1, 2]) as tf.Tensor2D, dense.w), dense.b) as tf.Tensor2D;
    // The mean cross-entropy, as lib/losses.ts's crossEntropy computes it (a floor above this one).
    return tf.mean(tf.sub(tf.logSumExp(logits, 1), tf.sum(tf.mul(logits, tf.oneHot(y, 10)), 1))) as tf.Scalar;
  };
  const step = async (): Promise<number> => {
    const t0 = performance.now();
    const check = tf.tidy(() => {
      const { grads } = tf.variableGrads(loss, variables);
      for (const v of variables) v.assign(tf.sub(v, tf.mul(grads[v.name], 1e-3)));
      return tf.sum(dense.b);
    });
    try {
      await check.data();
    } finally {
      check.dispose();
    }
    return (performance.now() - t0) / 1000;
  };
  try {
    const warmupSeconds = await step();
    let seconds = Infinity;
    for (let r = 0; r < repeats; r++) seconds = Math.min(seconds, await step());
    return { warmupSeconds, seconds, width, batch };
  } finally {
    tf.dispose([x, y, ...variables]);
  }
}

/** The probe's weights: ResNet18's layers (stem, 8 basic blocks, dense) at a width, He-initialised. */
function probeNetwork(width: number) {
  let seed = 0;
  const variables: tf.Variable[] = [];
  const variable = <R extends tf.Rank>(initial: tf.Tensor<R>): tf.Variable<R> => {
    const v = tf.variable(initial);
    initial.dispose();
    variables.push(v);
    return v;
  };
  const layer = (inC: number, outC: number, size: number, stride: number): ProbeLayer => ({
    kernel: variable(
      tf.randomNormal([size, size, inC, outC], 0, Math.sqrt(2 / (size * size * outC)), "float32", ++seed),
    ),
    gamma: variable(tf.ones([outC]) as tf.Tensor1D),
    beta: variable(tf.zeros([outC]) as tf.Tensor1D),
    stride,
  });
  const layers = [layer(3, width, 3, 1)];
  const blocks: { conv1: ProbeLayer; conv2: ProbeLayer; shortcut?: ProbeLayer }[] = [];
  let inC = width;
  for (const [stage, stride] of [1, 2, 2, 2].entries()) {
    const outC = width * 2 ** stage;
    for (let b = 0; b < 2; b++) {
      const s = b === 0 ? stride : 1;
      const block: (typeof blocks)[number] = { conv1: layer(inC, outC, 3, s), conv2: layer(outC, outC, 3, 1) };
      if (s !== 1 || inC !== outC) block.shortcut = layer(inC, outC, 1, s);
      blocks.push(block);
      inC = outC;
    }
  }
  const bound = 1 / Math.sqrt(inC);
  const dense = {
    w: variable(tf.randomUniform([inC, 10], -bound, bound, "float32", ++seed) as tf.Tensor2D),
    b: variable(tf.randomUniform([10], -bound, bound, "float32", ++seed) as tf.Tensor1D),
  };
  return { layers, blocks, dense, variables };
}

/**
 * The weights' shapes of the probe network at a width, in the order `resnet18()` lists its trainable
 * variables (for the test that keeps the two alike).
 *
 * @param width ResNet18 width.
 * @returns One shape per weight.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { probeWeightShapes } from "./probe.ts";
 * import { useBackend } from "./backend.ts";
 * await useBackend("cpu");
 * const shapes = probeWeightShapes(4);
 * assert.deepStrictEqual(shapes[0], [3, 3, 3, 4]); // the stem's filter
 * assert.deepStrictEqual(shapes.at(-1), [10]); // the dense layer's bias
 * ```
 */
export function probeWeightShapes(width: number): number[][] {
  const { layers, blocks, dense, variables } = probeNetwork(width);
  const ordered: tf.Variable[] = [];
  const push = (l: ProbeLayer) => ordered.push(l.kernel, l.gamma, l.beta);
  push(layers[0]);
  for (const b of blocks) {
    push(b.conv1), push(b.conv2);
    if (b.shortcut) push(b.shortcut);
  }
  ordered.push(dense.w, dense.b);
  const shapes = ordered.map((v) => [...v.shape]);
  tf.dispose(variables);
  return shapes;
}
