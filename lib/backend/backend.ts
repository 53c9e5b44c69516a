/**
 * Chooses the TensorFlow.js backend and reports it in one short line; `start.ts` starts each candidate.
 * These two are the only modules that hold global state (the backend choice here, oneDNN opened once per
 * process there).
 *
 * Candidates, in the order `useBackend()` tries them:
 * - `"tensorflow"`: libtensorflow through `npm:@tensorflow/tfjs-node`, only where its native library was
 *   installed (its install script downloads it from outside the npm registry; see the README).
 * - `"webgpu"`: `@tensorflow/tfjs-backend-webgpu` on Deno's `navigator.gpu`, only when named
 *   (`HAAT_BACKEND=webgpu`), and then on a hardware adapter unless forced. Deno has no canvas, so the
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
import { tryCpu, tryOnednn, tryTensorflow, tryWasm, tryWebgpu } from "./start.ts";

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
  /** The GPU adapter, when `name` is `"webgpu"`. */
  adapter?: { description: string; vendor: string; fallback: boolean };
  /** Version of `@tensorflow/tfjs-core`. */
  tfjsVersion: string;
}

/** The backends `useBackend` knows. */
export const BACKENDS: readonly BackendName[] = ["tensorflow", "webgpu", "onednn", "wasm", "cpu"];
/**
 * The order "auto" tries them in: webgpu is left out until the library reads tensors asynchronously
 * (see the module doc), so that a machine with a GPU does not start a training run that cannot finish.
 */
export const AUTO_ORDER: readonly BackendName[] = ["tensorflow", "onednn", "wasm", "cpu"];

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

/**
 * Picks and starts a TensorFlow.js backend, and reports what runs in one short line.
 *
 * With no name (or `"auto"`), reads `HAAT_BACKEND`, else tries `AUTO_ORDER`: `"tensorflow"` only
 * where its native library is installed, then `"onednn"` (wasm with oneDNN convolutions on
 * `HAAT_THREADS` cores), `"wasm"`, `"cpu"`. `"webgpu"` runs only when named, on a hardware adapter
 * (a software one only when named and `HAAT_WEBGPU_SOFTWARE=1`). A named backend that fails throws.
 * A bad `HAAT_THREADS`, or a `HAAT_ONEDNN_LIB` that does not load oneDNN 2.x, throws too, whatever the
 * name: the user asked for oneDNN in a way that cannot be followed, and a silent fallback to wasm would
 * hide it. `HAAT_THREADS` above the core count is followed, with a warning printed once.
 * Switching between `"onednn"` and `"wasm"` in one process swaps the convolution kernels.
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
  for (const candidate of order) {
    try {
      let detail: string;
      let extra: Partial<BackendInfo> = {};
      if (candidate === "tensorflow") {
        detail = await tryTensorflow();
      } else if (candidate === "webgpu") {
        const started = await tryWebgpu(readEnv("HAAT_WEBGPU_SOFTWARE") === "1");
        detail = started.detail;
        extra = { adapter: started.adapter };
      } else if (candidate === "onednn") {
        const started = await tryOnednn();
        detail = started.detail;
        const { version, isa, threads, path } = started.library;
        extra = { onednn: { version, isa, threads, path }, threads };
      } else if (candidate === "wasm") {
        detail = await tryWasm();
      } else {
        detail = await tryCpu();
      }
      tried.push({ name: candidate, ok: true, detail });
      // A fallback says why the native path it would have preferred did not run.
      const missed = tried.find((t) => !t.ok && t.name === "onednn");
      const onWasm = candidate === "onednn" || candidate === "wasm";
      current = {
        name: candidate,
        report: detail + (missed ? `; oneDNN not used: ${shortReason(missed.detail)}` : ""),
        tried,
        simd: onWasm && Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")),
        threads: candidate === "wasm"
          ? tfWasm.getThreadsCount()
          : candidate === "cpu"
          ? 1
          : navigator.hardwareConcurrency,
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
      return current;
    } catch (e) {
      // A setting made for oneDNN that cannot be followed is refused, not passed over for another backend.
      if (e instanceof OnednnSettingError) throw e;
      tried.push({ name: candidate, ok: false, detail: String((e as Error).message ?? e) });
    }
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
 * (`HAAT_BACKEND`, else the first of `AUTO_ORDER` that starts), once: concurrent calls share one start.
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
