/**
 * Starting each backend `useBackend()` (in `backend.ts`) tries: tfjs-node's native library, WebGPU,
 * wasm with oneDNN's kernels on `HAAT_THREADS` threads (`requestedThreads()`), wasm with XNNPACK, and
 * the cpu backend. Each `try*` function starts its backend or throws why it cannot, and returns the
 * detail of the report line. oneDNN is opened once per process; its kernels' counters are
 * `onednnStats()`.
 *
 * @module
 */
import { tf, tfWasm } from "../tfjs.ts";
import { addedWasmKernels } from "./wasm_kernels.ts";
import { readEnv } from "../env.ts";
import type { Onednn } from "./onednn/ffi.ts";
import { OnednnSettingError, openOnednn } from "./onednn/open.ts";
import { ONEDNN_KERNEL_NAMES, ONEDNN_ONLY_KERNEL_NAMES, onednnKernels } from "./onednn/kernels.ts";
import type { OnednnKernelStats } from "./onednn/fallback.ts";

/**
 * The wasm kernels that run without oneDNN: the shipped Conv2D (registered when tfjs-backend-wasm was
 * imported) and this project's gradient kernels. oneDNN's kernels fall back to these.
 */
const xnnpackKernels: Record<string, tf.KernelConfig> = {
  ...Object.fromEntries(ONEDNN_KERNEL_NAMES.map((name) => [name, tf.getKernel(name, "wasm")!])),
  ...Object.fromEntries(addedWasmKernels.map((k) => [k.kernelName, k])),
};

function registerWasmKernels(configs: Iterable<tf.KernelConfig>): void {
  for (const config of configs) {
    if (tf.getKernel(config.kernelName, "wasm") !== undefined) tf.unregisterKernel(config.kernelName, "wasm");
    tf.registerKernel(config);
  }
}

/** oneDNN opened once per process: its kernels and their counters. */
let onednnState: { library: Onednn; configs: tf.KernelConfig[]; stats: OnednnKernelStats } | undefined;

/**
 * The most oneDNN threads `HAAT_THREADS` may ask for, per core: more threads than cores only take turns
 * (64 threads on 2 cores ran 54 times slower than 2), and oneDNN 2.6 on 999 threads ran for minutes, then
 * corrupted its heap.
 */
export const MAX_THREADS_PER_CORE = 4;

/**
 * Threads for oneDNN: `HAAT_THREADS` (a positive decimal integer, at most `MAX_THREADS_PER_CORE` times
 * the cores), else every core.
 *
 * @param value The setting to read (default: `HAAT_THREADS` from the environment); empty means unset.
 * @returns The thread count.
 * @throws {Error} If `HAAT_THREADS` is set to anything but a positive decimal integer, or to more than
 *   `MAX_THREADS_PER_CORE` threads per core.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { requestedThreads } from "./start.ts";
 * assert.strictEqual(requestedThreads("1"), 1);
 * assert.strictEqual(requestedThreads(""), navigator.hardwareConcurrency);
 * ```
 */
export function requestedThreads(value: string | undefined = readEnv("HAAT_THREADS")): number {
  const cores = navigator.hardwareConcurrency;
  if (value === undefined || value === "") return cores;
  if (!/^[1-9][0-9]*$/.test(value)) {
    throw new OnednnSettingError(
      `Cannot choose threads as HAAT_THREADS must be a positive integer: current value is ${value}`,
    );
  }
  const most = MAX_THREADS_PER_CORE * cores;
  if (Number(value) > most) {
    throw new OnednnSettingError(
      `Cannot choose threads as HAAT_THREADS must be at most ${most} (${MAX_THREADS_PER_CORE} per core, ` +
        `${cores} core${cores > 1 ? "s" : ""} here): current value is ${value}`,
    );
  }
  return Number(value);
}

/** Whether the warning about more threads than cores was printed (once per process). */
let warnedThreads = false;

/** Path of tfjs-node's native binding under ./node_modules (either layout), or undefined. */
function findNativeBinding(): string | undefined {
  const roots = [
    `${Deno.cwd()}/node_modules/@tensorflow/tfjs-node/lib`,
    `${Deno.cwd()}/node_modules/.deno/@tensorflow+tfjs-node@${tf.version_core}/node_modules/@tensorflow/tfjs-node/lib`,
  ];
  for (const lib of roots) {
    try {
      for (const entry of Deno.readDirSync(lib)) {
        const candidate = `${lib}/${entry.name}/tfjs_binding.node`;
        try {
          if (Deno.statSync(candidate).isFile) return candidate;
        } catch { /* not this one */ }
      }
    } catch { /* no such package */ }
  }
  return undefined;
}

/**
 * Starts tfjs-node's backend (libtensorflow), where its native library was installed in ./node_modules.
 *
 * @returns The report's detail.
 * @throws {Error} If the native library is not installed or the backend does not start.
 */
export async function tryTensorflow(): Promise<string> {
  const binding = findNativeBinding();
  if (binding === undefined) {
    throw new Error("tfjs-node's native library is not installed in ./node_modules (see the README)");
  }
  // Not a literal: nothing installs tfjs-node for users who did not install it themselves.
  const specifier = `npm:@tensorflow/tfjs-node@${tf.version_core}`;
  await import(specifier);
  if (!(await tf.setBackend("tensorflow"))) throw new Error(`${binding} loaded but the backend did not start`);
  return `tensorflow (libtensorflow, ${binding})`;
}

/**
 * Mesa's Vulkan drivers print "XDG_RUNTIME_DIR is invalid or not set" at exit where the variable is
 * unset (servers, CI); give this process a private one so that probing for a GPU stays silent.
 */
function ensureRuntimeDir(): void {
  if (Deno.build.os !== "linux" || readEnv("XDG_RUNTIME_DIR")) return;
  try {
    const dir = `/tmp/haat-runtime-${Deno.uid() ?? "user"}`;
    Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
    Deno.env.set("XDG_RUNTIME_DIR", dir);
  } catch { /* no permission: the driver may print its warning */ }
}

/**
 * Starts the webgpu backend on a hardware adapter (a software one only if `allowSoftware`).
 *
 * @param allowSoftware Whether a software adapter may run it (`HAAT_WEBGPU_SOFTWARE=1`).
 * @returns The report's detail and the adapter.
 * @throws {Error} If there is no WebGPU, no adapter, only a software one not allowed, or the backend does not start.
 */
export async function tryWebgpu(
  allowSoftware: boolean,
): Promise<{ detail: string; adapter: { description: string; vendor: string; fallback: boolean } }> {
  if (!("gpu" in navigator) || navigator.gpu === undefined) throw new Error("no navigator.gpu in this runtime");
  ensureRuntimeDir();
  const gpuAdapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
  if (gpuAdapter === null) throw new Error("no WebGPU adapter (no GPU, or no Vulkan/Metal/DX12 driver)");
  const info = gpuAdapter.info;
  const adapter = {
    description: info.description || info.device || info.vendor || "unknown adapter",
    vendor: info.vendor,
    fallback: Boolean(info.isFallbackAdapter),
  };
  if (adapter.fallback && !allowSoftware) {
    throw new Error(
      `${adapter.description} is a software adapter, slower than wasm (HAAT_WEBGPU_SOFTWARE=1 allows it)`,
    );
  }
  // A full specifier, as in lib/tfjs.ts, so that mod.ts imported by URL needs no import map.
  // deno-lint-ignore no-import-prefix
  await import("npm:@tensorflow/tfjs-backend-webgpu@4.22.0");
  if (!(await tf.setBackend("webgpu"))) throw new Error(`the webgpu backend did not start on ${adapter.description}`);
  return { detail: `webgpu (${adapter.description}${adapter.fallback ? ", software" : ""})`, adapter };
}

async function startWasm(): Promise<boolean> {
  if (!(await tf.setBackend("wasm"))) throw new Error("the wasm module did not initialise");
  return Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"));
}

/**
 * Starts wasm with oneDNN's kernels on `requestedThreads()` threads, opening oneDNN the first time (warning
 * once where the threads are more than the cores).
 *
 * @returns The report's detail and the library.
 * @throws {OnednnSettingError} If `HAAT_THREADS` or `HAAT_ONEDNN_LIB` cannot be followed.
 * @throws {Error} If oneDNN does not open, already runs on other threads, or wasm does not start.
 */
export async function tryOnednn(): Promise<{ detail: string; library: Onednn }> {
  const threads = requestedThreads();
  const cores = navigator.hardwareConcurrency;
  if (threads > cores && !warnedThreads) {
    warnedThreads = true;
    console.warn(
      `warning: HAAT_THREADS=${threads} is more than the ${cores} core${cores > 1 ? "s" : ""} here: ` +
        `oneDNN's threads will take turns, which is slower, not faster`,
    );
  }
  if (onednnState === undefined) {
    const library = openOnednn(threads);
    const { configs, stats } = onednnKernels(library, xnnpackKernels);
    onednnState = { library, configs, stats };
  } else if (onednnState.library.threads !== threads) {
    throw new Error(`oneDNN already runs on ${onednnState.library.threads} threads in this process`);
  }
  registerWasmKernels(Object.values(xnnpackKernels));
  registerWasmKernels(onednnState.configs);
  await startWasm();
  const o = onednnState.library;
  return {
    detail: `wasm + oneDNN ${o.version} (${o.isa}, ${o.threads} thread${o.threads > 1 ? "s" : ""})`,
    library: o,
  };
}

/**
 * Starts wasm with XNNPACK and this project's added kernels, without oneDNN's.
 *
 * @returns The report's detail.
 * @throws {Error} If the wasm module does not initialise.
 */
export async function tryWasm(): Promise<string> {
  registerWasmKernels(Object.values(xnnpackKernels));
  for (const name of ONEDNN_ONLY_KERNEL_NAMES) {
    if (tf.getKernel(name, "wasm") !== undefined) tf.unregisterKernel(name, "wasm");
  }
  const simd = await startWasm();
  return `wasm (XNNPACK${simd ? " SIMD" : ""}, ${tfWasm.getThreadsCount()} thread)`;
}

/**
 * Starts the cpu backend (plain JavaScript).
 *
 * @returns The report's detail.
 * @throws {Error} If it does not start.
 */
export async function tryCpu(): Promise<string> {
  if (!(await tf.setBackend("cpu"))) throw new Error("the cpu backend did not start");
  return "cpu (plain JavaScript)";
}

/**
 * Counters of the oneDNN kernels since the process opened oneDNN: calls, fallbacks to XNNPACK (with
 * the last reason), and the implementation oneDNN chose per kernel; undefined before `"onednn"` ran.
 *
 * @returns The live counters (read, do not modify).
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { useBackend } from "./backend.ts";
 * import { onednnStats } from "./start.ts";
 * await useBackend("cpu");
 * assert.strictEqual(onednnStats(), undefined); // oneDNN not started
 * ```
 */
export function onednnStats(): OnednnKernelStats | undefined {
  return onednnState?.stats;
}
