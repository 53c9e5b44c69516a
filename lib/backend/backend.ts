/**
 * Chooses the TensorFlow.js backend and reports it in one short line; `start.ts` starts each candidate.
 * These two are the only modules that hold global state (the backend choice here, oneDNN opened once per
 * process there).
 *
 * Candidates, in the order `useBackend()` tries them:
 * - `"tensorflow"`: libtensorflow through `npm:@tensorflow/tfjs-node-gpu` (CUDA) or `npm:@tensorflow/tfjs-node`,
 *   only where its native library was installed (the install scripts download it from outside the npm
 *   registry; see the README).
 * - `"webgpu"`: `@tensorflow/tfjs-backend-webgpu` on Deno's `navigator.gpu`. Without a name, only on a
 *   hardware adapter that a probe (`probe.ts`: one small ResNet18 training step on each, after a
 *   warm-up) finds faster than the CPU backend that would run otherwise; named (`HAAT_BACKEND=webgpu`),
 *   on a hardware adapter, or a software one with `HAAT_WEBGPU_SOFTWARE=1`. Deno has no canvas, so the
 *   backend cannot read a tensor synchronously (`dataSync`): there the `...Async` twins of the attacks,
 *   the Hessian tools and the measures read asynchronously (`lib/reading.ts`), and `train` and the
 *   command line use them (tests/backend/webgpu_test.ts, bench/gpu/); a synchronous one refuses with a
 *   message naming its twin.
 * - `"onednn"`: the wasm backend with its convolutions in oneDNN 2.x (`libdnnl.so.2`, the library
 *   PyTorch runs on CPU) through `Deno.dlopen`, on `HAAT_THREADS` cores (default: all).
 * - `"wasm"`: XNNPACK compiled to WebAssembly with SIMD, one thread, plus the training kernels it lacks
 *   (`lib/backend/wasm_kernels.ts`).
 * - `"cpu"`: plain JavaScript kernels; always works.
 *
 * @module
 */
import { tf, tfWasm } from "../tfjs.ts";
import { addedWasmKernels } from "./wasm_kernels.ts";
import { readEnv } from "../env.ts";
import { OnednnSettingError } from "./onednn/open.ts";
import { ONEDNN_KERNEL_NAMES, ONEDNN_ONLY_KERNEL_NAMES } from "./onednn/kernels.ts";
import {
  findAdapter,
  GPU_DEVICE_FILES,
  gpuDeviceFiles,
  tryCpu,
  tryOnednn,
  tryTensorflow,
  tryWasm,
  tryWebgpu,
} from "./start.ts";
import {
  adapterLabel,
  type AdapterSummary,
  probeChoice,
  type ProbeOptions,
  probeReport,
  type ProbeResult,
  probeTrainingStep,
} from "./probe.ts";

export { tf };
export { MAX_THREADS_PER_CORE, onednnStats, requestedThreads } from "./start.ts";

/** A backend this module can start. */
export type BackendName = "tensorflow" | "webgpu" | "onednn" | "wasm" | "cpu";

/** What `useBackend()` tried and what runs. */
export interface BackendInfo {
  /** The backend actually running (`"onednn"` runs TensorFlow.js's `"wasm"` backend with oneDNN kernels). */
  name: BackendName;
  /** One short line: what runs, and for a fallback, why, e.g. "wasm + oneDNN 2.6.3 (avx512_core, 2 threads)". */
  report: string;
  /** Every candidate tried, in order, with the reason it was taken or passed over. */
  tried: { name: BackendName; ok: boolean; detail: string }[];
  /** WebAssembly SIMD in use (wasm and onednn). */
  simd: boolean;
  /** Threads the convolutions run on (1 for wasm under Deno; oneDNN's OpenMP threads). */
  threads: number;
  /** Kernels this project added to, or replaced in, the backend. */
  addedKernels: string[];
  /** The oneDNN library, when `name` is `"onednn"`. */
  onednn?: { version: string; isa: string; threads: number; path: string };
  /**
   * The GPU adapter: when `name` is `"webgpu"`, and when the automatic choice probed a hardware adapter
   * and kept the CPU backend.
   */
  adapter?: AdapterSummary;
  /** The probe of the automatic choice, where a hardware adapter was found: both timings and the choice. */
  probe?: AutomaticProbe;
  /** Version of `@tensorflow/tfjs-core`. */
  tfjsVersion: string;
}

/** The backends `useBackend` knows. */
export const BACKENDS: readonly BackendName[] = ["tensorflow", "webgpu", "onednn", "wasm", "cpu"];
/**
 * The order "auto" tries them in. `"webgpu"` is a candidate only on a hardware adapter, and is chosen
 * only when the probe finds its training step faster than that of the CPU backend that starts after it
 * (`"onednn"`, else `"wasm"`, else `"cpu"`); where no hardware adapter exists nothing is probed.
 */
export const AUTO_ORDER: readonly BackendName[] = ["tensorflow", "webgpu", "onednn", "wasm", "cpu"];

/** The automatic choice's probe (`probe.ts`): one training step on each of the two backends. */
export interface AutomaticProbe {
  /** The probe step on the GPU (absent where WebGPU did not start or the step failed; see `tried`). */
  gpu?: ProbeResult;
  /** The probe step on the CPU backend. */
  cpu: ProbeResult;
  /** The CPU backend it was timed on. */
  cpuBackend: BackendName;
  /** What `probeChoice` chose. */
  choice: "webgpu" | "cpu";
}

/**
 * The probe's sizes: a width-16 ResNet18 training step of 32 images, one warm-up and two timed steps,
 * the faster counting (0.84 s in all on oneDNN with one thread on this project's 2-core machine, under
 * load; on a GPU the warm-up compiles the shaders). At this size a GPU's many small kernel launches
 * weigh more than in a width-64 step of 128 images, so a GPU that loses narrowly here may still win
 * there (name it: `HAAT_BACKEND=webgpu`).
 */
export const PROBE_SIZES: Required<ProbeOptions> = Object.freeze({ width: 16, batch: 32, repeats: 2 });

let current: BackendInfo | undefined;
function quiet(): void {
  // The cpu backend prints an "install our node backend" banner on first use; we report the backend
  // ourselves, in one line.
  tf.env().set("PROD", true);
}
function isBackendName(name: string): name is BackendName {
  return (BACKENDS as readonly string[]).includes(name);
}

/** The first clause of an error message, for a one-line report. */
function shortReason(detail: string): string {
  const first = detail.replaceAll(/(Could not open library: )+/g, "").split(/\n|; /)[0];
  return first.length > 90 ? `${first.slice(0, 87)}...` : first;
}

/** A CPU backend's short name in the report. */
const CPU_LABELS: Partial<Record<BackendName, string>> = { onednn: "oneDNN", wasm: "wasm", cpu: "cpu" };

/** Starts one candidate: the report's detail and the fields only that backend has. */
async function startCandidate(candidate: BackendName): Promise<{ detail: string; extra: Partial<BackendInfo> }> {
  if (candidate === "tensorflow") return { detail: await tryTensorflow(), extra: {} };
  if (candidate === "webgpu") {
    const started = await tryWebgpu(readEnv("HAAT_WEBGPU_SOFTWARE") === "1");
    return { detail: started.detail, extra: { adapter: started.adapter } };
  }
  if (candidate === "onednn") {
    const started = await tryOnednn();
    const { version, isa, threads, path } = started.library;
    return { detail: started.detail, extra: { onednn: { version, isa, threads, path }, threads } };
  }
  if (candidate === "wasm") return { detail: await tryWasm(), extra: {} };
  return { detail: await tryCpu(), extra: {} };
}

/** The report of a backend that started, with what was tried before it. */
async function describe(
  candidate: BackendName,
  detail: string,
  extra: Partial<BackendInfo>,
  tried: BackendInfo["tried"],
): Promise<BackendInfo> {
  // A fallback says why the native path it would have preferred did not run.
  const missed = tried.find((t) => !t.ok && t.name === "onednn");
  const onWasm = candidate === "onednn" || candidate === "wasm";
  return {
    name: candidate,
    report: detail + (missed ? `; oneDNN not used: ${shortReason(missed.detail)}` : ""),
    tried,
    simd: onWasm && Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")),
    threads: candidate === "wasm" ? tfWasm.getThreadsCount() : candidate === "cpu" ? 1 : navigator.hardwareConcurrency,
    addedKernels: candidate === "onednn"
      ? [
        ...new Set([
          ...ONEDNN_KERNEL_NAMES,
          ...ONEDNN_ONLY_KERNEL_NAMES,
          ...addedWasmKernels.map((k) => k.kernelName),
        ]),
      ]
      : candidate === "wasm"
      ? addedWasmKernels.map((k) => k.kernelName)
      : [],
    tfjsVersion: tf.version_core,
    ...extra,
  };
}

/** Options of `chooseAutomatically`, for tests on a software adapter. */
export interface AutomaticChoiceOptions {
  /**
   * Probe a software adapter too (never so in `useBackend()`).
   * @default {false}
   */
  allowSoftware?: boolean;
  /**
   * The probe's sizes.
   * @default {PROBE_SIZES}
   */
  sizes?: ProbeOptions;
}

/**
 * The automatic choice once the CPU backend `cpu` started (and is active) and the adapter lookup
 * answered: the CPU backend where there is no adapter or only a software one (nothing is probed);
 * else the probe step (`probeTrainingStep`) on the CPU backend, then WebGPU started on the adapter and
 * the same step there, and `probeChoice`. WebGPU stays active if it wins; otherwise the CPU backend is
 * made active again. The report says what ran and, where the probe ran, both timings
 * (`probeReport`); `entry`, the GPU's line in `cpu.tried`, is filled in. `useBackend()` runs it.
 *
 * @param cpu The CPU backend's report.
 * @param entry The line of `cpu.tried` that stands for WebGPU.
 * @param found `findAdapter()`'s answer.
 * @param options For tests: probe a software adapter, at other sizes.
 * @returns What runs.
 * @throws {Error} If the probe step fails on the CPU backend, or that backend does not start again.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { chooseAutomatically, useBackend } from "./backend.ts";
 * const cpu = await useBackend("cpu");
 * const entry = { name: "webgpu" as const, ok: false, detail: "" };
 * const chosen = await chooseAutomatically(cpu, entry, { reason: "no WebGPU adapter" });
 * assert.strictEqual(chosen, cpu);
 * assert.strictEqual(entry.detail, "no WebGPU adapter");
 * ```
 */
export async function chooseAutomatically(
  cpu: BackendInfo,
  entry: BackendInfo["tried"][number],
  found: Awaited<ReturnType<typeof findAdapter>>,
  options: AutomaticChoiceOptions = {},
): Promise<BackendInfo> {
  if ("reason" in found) {
    entry.detail = found.reason;
    return cpu;
  }
  const adapter = found.summary;
  if (adapter.fallback && !options.allowSoftware) {
    entry.detail = `${adapterLabel(adapter)} is a software adapter (${adapter.softwareBecause}), ` +
      "never chosen automatically";
    return cpu;
  }
  const sizes = options.sizes ?? PROBE_SIZES;
  const cpuTf = tf.getBackend();
  let cpuProbe: ProbeResult;
  try {
    cpuProbe = await probeTrainingStep(sizes);
  } catch (e) {
    // The CPU backend runs everything else; a probe that fails there is a bug to see, not a reason to switch.
    throw new Error(`Cannot choose a backend as the probe step failed on ${cpu.name}: ${(e as Error).message ?? e}`);
  }
  let gpuProbe: ProbeResult | undefined, gpuDetail = "", failure = "";
  try {
    gpuDetail = (await tryWebgpu(Boolean(options.allowSoftware))).detail;
    gpuProbe = await probeTrainingStep(sizes);
  } catch (e) {
    failure = String((e as Error).message ?? e);
  }
  const choice = probeChoice({ gpuSeconds: gpuProbe?.seconds ?? NaN, cpuSeconds: cpuProbe.seconds });
  const text = probeReport({
    choice,
    cpuReport: cpu.report,
    cpuLabel: CPU_LABELS[cpu.name] ?? cpu.name,
    gpuDetail,
    adapter,
    gpuSeconds: gpuProbe?.seconds,
    cpuSeconds: cpuProbe.seconds,
    failure,
  });
  entry.ok = choice === "webgpu";
  entry.detail = text.tried;
  const probe: AutomaticProbe = { gpu: gpuProbe, cpu: cpuProbe, cpuBackend: cpu.name, choice };
  if (choice === "webgpu") {
    return {
      name: "webgpu",
      report: text.report,
      tried: cpu.tried,
      simd: false,
      threads: navigator.hardwareConcurrency,
      addedKernels: [],
      tfjsVersion: tf.version_core,
      adapter,
      probe,
    };
  }
  if (tf.getBackend() !== cpuTf && !(await tf.setBackend(cpuTf))) {
    throw new Error(`Cannot choose a backend as ${cpu.name} did not start again after probing ${adapter.description}`);
  }
  return { ...cpu, report: text.report, adapter, probe };
}

/**
 * Picks and starts a TensorFlow.js backend, and reports what runs in one short line.
 *
 * With no name (or `"auto"`), reads `HAAT_BACKEND`, else tries `AUTO_ORDER`: `"tensorflow"` only
 * where its native library is installed; then, where a hardware WebGPU adapter exists, a probe: one
 * width-16 ResNet18 training step of 32 images (`PROBE_SIZES`), timed after a warm-up, on that adapter
 * and on the CPU backend that starts (`"onednn"`: wasm with oneDNN convolutions on `HAAT_THREADS` cores,
 * else `"wasm"`, else `"cpu"`), and the faster runs (`probeChoice`); the report names the adapter and
 * gives both timings (`info.probe`). A software adapter (Mesa's lavapipe) is never chosen this way, and
 * without a hardware one nothing is probed. Named, `"webgpu"` runs on a hardware adapter (a software
 * one only with `HAAT_WEBGPU_SOFTWARE=1`). A named backend that fails throws.
 * A bad `HAAT_THREADS`, or a `HAAT_ONEDNN_LIB` that does not load oneDNN 2.x, throws too, whatever the
 * name: the user asked for oneDNN in a way that cannot be followed, and a silent fallback to wasm would
 * hide it. `HAAT_THREADS` above the core count is followed, with a warning printed once.
 * Switching between `"onednn"` and `"wasm"` in one process swaps the convolution kernels. The choice is
 * made once per process: later calls without a name return the backend in use.
 *
 * @param name The backend to start, or `"auto"`.
 * @returns What was tried and what runs.
 * @throws {Error} If a named backend cannot start, the name is unknown, or oneDNN is tried with a bad
 *   `HAAT_THREADS` or `HAAT_ONEDNN_LIB`.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { useBackend } from "../../mod.ts";
 * const info = await useBackend("cpu");
 * assert.strictEqual(info.report, "cpu (plain JavaScript)");
 * ```
 */
export async function useBackend(name: BackendName | "auto" = "auto"): Promise<BackendInfo> {
  quiet();
  let requested: string = name;
  if (requested === "auto") requested = readEnv("HAAT_BACKEND") ?? "auto";
  if (requested !== "auto" && !isBackendName(requested)) {
    throw new Error(
      `Cannot choose a backend as the name must be one of auto, ${BACKENDS.join(", ")}: current value is ${requested}`,
    );
  }
  if (current !== undefined && (requested === "auto" || requested === current.name)) return current;
  const explicit = requested !== "auto";
  const order: BackendName[] = explicit ? [requested as BackendName] : [...AUTO_ORDER];
  const tried: BackendInfo["tried"] = [];
  // Without a name, a hardware adapter found here is probed against the CPU backend that starts next.
  let lookup: { entry: BackendInfo["tried"][number]; found: Awaited<ReturnType<typeof findAdapter>> } | undefined;
  for (const candidate of order) {
    if (candidate === "webgpu" && !explicit) {
      const gpuFiles = gpuDeviceFiles();
      const found = gpuFiles !== undefined && gpuFiles.length === 0
        ? { reason: `no GPU device file (${GPU_DEVICE_FILES}): no hardware adapter, nothing probed` }
        : await findAdapter();
      lookup = { entry: { name: candidate, ok: false, detail: "" }, found };
      tried.push(lookup.entry);
      continue;
    }
    let info: BackendInfo;
    try {
      const { detail, extra } = await startCandidate(candidate);
      tried.push({ name: candidate, ok: true, detail });
      info = await describe(candidate, detail, extra, tried);
    } catch (e) {
      // A setting made for oneDNN that cannot be followed is refused, not passed over for another backend.
      if (e instanceof OnednnSettingError) throw e;
      tried.push({ name: candidate, ok: false, detail: String((e as Error).message ?? e) });
      continue;
    }
    current = lookup === undefined ? info : await chooseAutomatically(info, lookup.entry, lookup.found);
    return current;
  }
  throw new Error(
    `Cannot start backend ${requested}: ${tried.map((t) => `${t.name}: ${t.detail}`).join("; ")}`,
  );
}

/**
 * The backend in use, as `useBackend()` reported it.
 *
 * @returns The report of the last `useBackend()` call.
 * @throws {Error} If `useBackend()` has not run yet.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { backendInfo, useBackend } from "../../mod.ts";
 * await useBackend("cpu");
 * assert.strictEqual(backendInfo().name, "cpu");
 * ```
 */
export function backendInfo(): BackendInfo {
  if (current === undefined) {
    throw new Error("Cannot report the backend as none is chosen yet: call await useBackend() first");
  }
  return current;
}

/** The start in progress of `ensureBackend()`, shared by concurrent callers. */
let starting: Promise<BackendInfo> | undefined;

/**
 * Starts a backend if none is chosen yet, making the same choice as `useBackend()` with no name
 * (`HAAT_BACKEND`, else `AUTO_ORDER` with the GPU probe), once: concurrent calls share one start.
 * A backend already chosen, by `useBackend()` or by `tf.setBackend()`, is kept. Functions that need a
 * backend and may wait (`loadModel()`, `train()`) call it, so a script need not call `useBackend()` first.
 *
 * @returns What runs (for a backend started with `tf.setBackend()`, only `name` and `report` are measured).
 * @throws {Error} As `useBackend()` does when no backend can start; a later call tries again.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { ensureBackend, useBackend } from "./backend.ts";
 * await useBackend("cpu");
 * assert.strictEqual((await ensureBackend()).name, "cpu"); // the backend chosen is kept
 * ```
 */
export function ensureBackend(): Promise<BackendInfo> {
  if (current !== undefined) return Promise.resolve(current);
  if (starting !== undefined) return starting;
  const set = setBackendName();
  if (set !== undefined) return Promise.resolve(outsideInfo(set));
  starting = useBackend().finally(() => {
    starting = undefined;
  });
  return starting;
}

/** The backend TensorFlow.js runs on, where one was started (by this module or by `tf.setBackend`). */
function setBackendName(): string | undefined {
  // Read the engine's fields, not tf.getBackend() or tf.findBackend(): those would start the highest-priority
  // backend. A name whose backend is not in the registry yet is still starting.
  const engine = tf.engine() as unknown as { backendName?: string | null; registry: Record<string, unknown> };
  const name = engine.backendName ?? undefined;
  return name !== undefined && engine.registry[name] !== undefined ? name : undefined;
}

/** A report for a backend started with `tf.setBackend()` rather than through this module. */
function outsideInfo(name: string): BackendInfo {
  return {
    name: (isBackendName(name) ? name : "cpu") as BackendName,
    report: `${name} (started with tf.setBackend, not useBackend)`,
    tried: [],
    simd: false,
    threads: 1,
    addedKernels: [],
    tfjsVersion: tf.version_core,
  };
}

/**
 * Whether a backend is running, so that synchronous code (building a model) can refuse with a clear
 * message instead of TensorFlow.js's own ("The highest priority backend 'wasm' has not yet been
 * initialized").
 *
 * @returns True after `useBackend()`, `ensureBackend()` or `tf.setBackend()` started one.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { backendReady, useBackend } from "./backend.ts";
 * await useBackend("cpu");
 * assert.ok(backendReady());
 * ```
 */
export function backendReady(): boolean {
  return current !== undefined || setBackendName() !== undefined;
}
