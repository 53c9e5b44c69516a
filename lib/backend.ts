/**
 * Chooses the TensorFlow.js backend and reports it. This is the only module that holds global state
 * (the backend choice), as DEVELOPERS.md allows.
 *
 * Candidates, fastest first where they work:
 * - `"tensorflow"`: the TensorFlow C library through `npm:@tensorflow/tfjs-node-gpu` or
 *   `npm:@tensorflow/tfjs-node`. Their install script downloads libtensorflow from outside the npm
 *   registry, so on machines that reach only the registry the package installs without its native
 *   library; `useBackend()` then says so in one line and moves on.
 * - `"wasm"`: XNNPACK compiled to WebAssembly with SIMD, plus the training kernels it lacks
 *   (`lib/wasm_kernels.ts`). Measured about 4-8x faster than `"cpu"` here (bench/README.md).
 * - `"cpu"`: plain JavaScript kernels; always works.
 *
 * @module
 */
import { tf, tfWasm } from "./tfjs.ts";
import { addedWasmKernels } from "./wasm_kernels.ts";

export { tf };

/** A backend this module can start. */
export type BackendName = "tensorflow" | "wasm" | "cpu";

/** What `useBackend()` tried and what runs. */
export interface BackendInfo {
  /** The backend actually running. */
  name: BackendName;
  /** One line saying which backend runs and why. */
  report: string;
  /** Every candidate tried, in order, with the reason it was taken or passed over. */
  tried: { name: BackendName; ok: boolean; detail: string }[];
  /** WebAssembly SIMD in use (wasm only). */
  simd: boolean;
  /** Threads the backend computes with (1 for wasm under Deno, see bench/README.md). */
  threads: number;
  /** Kernels this project added to the backend. */
  addedKernels: string[];
  /** Version of `@tensorflow/tfjs-core`. */
  tfjsVersion: string;
}

let current: BackendInfo | undefined;

let wasmKernelsAdded = false;

const BACKENDS: readonly BackendName[] = ["tensorflow", "wasm", "cpu"];
const NATIVE_PACKAGES = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"] as const;

function quiet(): void {
  // The cpu backend prints an "install our node backend" banner on first use; we report the backend
  // ourselves, in one line.
  tf.env().set("PROD", true);
}

/** Path of a native binding of `pkg` under ./node_modules, or undefined. */
function findNativeBinding(pkg: string): string | undefined {
  const lib = `${Deno.cwd()}/node_modules/${pkg}/lib`;
  try {
    for (const entry of Deno.readDirSync(lib)) {
      const candidate = `${lib}/${entry.name}/tfjs_binding.node`;
      try {
        if (Deno.statSync(candidate).isFile) return candidate;
      } catch { /* not this one */ }
    }
  } catch { /* no such package */ }
  return undefined;
}

async function tryTensorflow(explicit: boolean): Promise<string> {
  const errors: string[] = [];
  for (const pkg of NATIVE_PACKAGES) {
    if (!explicit && findNativeBinding(pkg) === undefined) {
      errors.push(`${pkg} has no native library in ./node_modules`);
      continue;
    }
    try {
      const specifier = pkg; // resolved through the import map of the caller's deno.json
      await import(specifier);
      if (await tf.setBackend("tensorflow")) return `${pkg} loaded libtensorflow`;
      errors.push(`${pkg} loaded but the "tensorflow" backend did not start`);
    } catch (e) {
      errors.push(`${pkg}: ${String((e as Error).message ?? e).split("\n")[0]}`);
    }
  }
  throw new Error(
    `${errors.join("; ")} (its install script downloads libtensorflow from outside the npm registry)`,
  );
}

async function tryWasm(): Promise<string> {
  if (!wasmKernelsAdded) {
    for (const config of addedWasmKernels) {
      if (tf.getKernel(config.kernelName, "wasm") !== undefined) tf.unregisterKernel(config.kernelName, "wasm");
      tf.registerKernel(config);
    }
    wasmKernelsAdded = true;
  }
  if (!(await tf.setBackend("wasm"))) throw new Error("the wasm module did not initialise");
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  return `XNNPACK WebAssembly${simd ? " with SIMD" : ""}, ${tfWasm.getThreadsCount()} thread(s)`;
}

async function tryCpu(): Promise<string> {
  if (!(await tf.setBackend("cpu"))) throw new Error("the cpu backend did not start");
  return "plain JavaScript kernels";
}

function isBackendName(name: string): name is BackendName {
  return (BACKENDS as readonly string[]).includes(name);
}

/**
 * Picks and starts a TensorFlow.js backend, and reports what runs.
 *
 * With no name (or `"auto"`), reads `HAAT_BACKEND`, else tries `"tensorflow"` (only where a native
 * library is installed), then `"wasm"`, then `"cpu"`. A named backend that fails throws.
 *
 * @param name The backend to start, or `"auto"`.
 * @returns What was tried and what runs.
 * @throws {Error} If a named backend cannot start, or the name is unknown.
 * @example
 * ```ts
 * import { useBackend } from "./mod.ts";
 * const info = await useBackend("cpu");
 * console.log(info.report);
 * ```
 */
export async function useBackend(name: BackendName | "auto" = "auto"): Promise<BackendInfo> {
  quiet();
  let requested: string = name;
  if (requested === "auto") {
    try {
      requested = Deno.env.get("HAAT_BACKEND") ?? "auto";
    } catch { /* no env permission: auto */ }
  }
  if (requested !== "auto" && !isBackendName(requested)) {
    throw new Error(
      `Cannot choose a backend as the name must be one of auto, ${BACKENDS.join(", ")}: current value is ${requested}`,
    );
  }
  if (current !== undefined && (requested === "auto" || requested === current.name)) return current;
  const explicit = requested !== "auto";
  const order: BackendName[] = explicit ? [requested as BackendName] : [...BACKENDS];
  const tried: BackendInfo["tried"] = [];
  for (const candidate of order) {
    try {
      const detail = candidate === "tensorflow"
        ? await tryTensorflow(explicit)
        : candidate === "wasm"
        ? await tryWasm()
        : await tryCpu();
      tried.push({ name: candidate, ok: true, detail });
      const passedOver = tried.filter((t) => !t.ok).map((t) => `${t.name}: ${t.detail}`);
      current = {
        name: candidate,
        report: `backend ${candidate} (${detail})` +
          (passedOver.length > 0 ? `; passed over ${passedOver.join("; ")}` : ""),
        tried,
        simd: candidate === "wasm" && Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")),
        threads: candidate === "wasm"
          ? tfWasm.getThreadsCount()
          : candidate === "cpu"
          ? 1
          : navigator.hardwareConcurrency,
        addedKernels: candidate === "wasm" ? addedWasmKernels.map((k) => k.kernelName) : [],
        tfjsVersion: tf.version_core,
      };
      return current;
    } catch (e) {
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
 * import { backendInfo, useBackend } from "./mod.ts";
 * await useBackend("cpu");
 * console.log(backendInfo().name); // "cpu"
 * ```
 */
export function backendInfo(): BackendInfo {
  if (current === undefined) {
    throw new Error("Cannot report the backend as none is chosen yet: call await useBackend() first");
  }
  return current;
}
