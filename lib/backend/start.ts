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
import { adapterLabel, type AdapterSummary, classifyAdapter } from "./probe.ts";

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

/**
 * The packages that bind libtensorflow, in the order they are looked for: tfjs-node-gpu (CUDA, Linux
 * x86-64; on macOS it installs the CPU library) before tfjs-node (CPU). Both register the backend
 * `"tensorflow"`.
 */
export const TENSORFLOW_PACKAGES = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"] as const;

/**
 * tfjs-node-gpu's or tfjs-node's native binding under `root`/node_modules (either layout: a plain
 * `node_modules/@tensorflow/...` or Deno's `node_modules/.deno/...`), or undefined.
 *
 * @param root The project folder (default: the working directory).
 * @returns The package and the binding's path, or undefined where neither was installed with its library.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { findNativeBinding } from "./start.ts";
 * assert.strictEqual(findNativeBinding("/nonexistent"), undefined);
 * ```
 */
export function findNativeBinding(
  root = Deno.cwd(),
): { pkg: typeof TENSORFLOW_PACKAGES[number]; binding: string } | undefined {
  for (const pkg of TENSORFLOW_PACKAGES) {
    const flat = pkg.replace("/", "+");
    const libs = [
      `${root}/node_modules/${pkg}/lib`,
      `${root}/node_modules/.deno/${flat}@${tf.version_core}/node_modules/${pkg}/lib`,
    ];
    for (const lib of libs) {
      try {
        for (const entry of Deno.readDirSync(lib)) {
          const candidate = `${lib}/${entry.name}/tfjs_binding.node`;
          try {
            if (Deno.statSync(candidate).isFile) return { pkg, binding: candidate };
          } catch { /* not this one */ }
        }
      } catch { /* no such package */ }
    }
  }
  return undefined;
}

/**
 * Starts tfjs-node-gpu's or tfjs-node's backend (libtensorflow), where its native library was installed in
 * ./node_modules (see the README: the install scripts download libtensorflow from outside the npm
 * registry, so neither is installed or tested here).
 *
 * @returns The report's detail.
 * @throws {Error} If neither native library is installed or the backend does not start.
 */
export async function tryTensorflow(): Promise<string> {
  const found = findNativeBinding();
  if (found === undefined) {
    throw new Error(
      "neither tfjs-node-gpu's nor tfjs-node's native library is installed in ./node_modules (see the README)",
    );
  }
  // Not a literal: nothing installs tfjs-node for users who did not install it themselves.
  const specifier = `npm:${found.pkg}@${tf.version_core}`;
  await import(specifier);
  if (!(await tf.setBackend("tensorflow"))) throw new Error(`${found.binding} loaded but the backend did not start`);
  const kind = found.pkg.endsWith("-gpu") ? "libtensorflow GPU" : "libtensorflow";
  return `tensorflow (${kind}, ${found.binding})`;
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

/** Where Linux keeps the device files a hardware GPU driver opens. */
export const GPU_DEVICE_FILES = "/dev/dri/renderD*, /dev/nvidia*, /dev/dxg";

/**
 * The device files of hardware GPUs on Linux: Mesa's and AMD's and Intel's drivers open
 * `/dev/dri/renderD*`, NVIDIA's `/dev/nvidia0`..., WSL2's `/dev/dxg`. None means no hardware adapter can
 * exist, so `useBackend()` need not open the Vulkan drivers (about 50-100 ms where only software ones,
 * such as lavapipe, are installed).
 *
 * @param dev The folder to look in.
 * @returns The files found, or undefined where the system is not Linux or the folder cannot be read.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { gpuDeviceFiles } from "./start.ts";
 * const files = gpuDeviceFiles();
 * assert.ok(files === undefined || files.every((f) => f.startsWith("/dev/")));
 * ```
 */
export function gpuDeviceFiles(dev = "/dev"): string[] | undefined {
  if (Deno.build.os !== "linux") return undefined;
  const found: string[] = [];
  try {
    for (const entry of Deno.readDirSync(dev)) {
      if (/^nvidia[0-9]+$/.test(entry.name) || entry.name === "dxg") found.push(`${dev}/${entry.name}`);
    }
  } catch {
    return undefined;
  }
  try {
    for (const entry of Deno.readDirSync(`${dev}/dri`)) {
      if (entry.name.startsWith("renderD")) found.push(`${dev}/dri/${entry.name}`);
    }
  } catch { /* no /dev/dri */ }
  return found;
}

/**
 * Looks for a WebGPU adapter (the high-performance one), without starting the backend: what
 * `useBackend()` asks before it chooses on its own, at the cost of opening the GPU driver (tens of
 * milliseconds: 50 ms for Mesa's lavapipe on this project's machine). Gives up after `timeoutMs`.
 *
 * @param timeoutMs How long to wait for the driver.
 * @returns The adapter and its summary, or why there is none.
 */
export async function findAdapter(
  timeoutMs = 5000,
): Promise<{ adapter: GPUAdapter; summary: AdapterSummary } | { reason: string }> {
  if (!("gpu" in navigator) || navigator.gpu === undefined) return { reason: "no navigator.gpu in this runtime" };
  ensureRuntimeDir();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const adapter = await Promise.race([
      navigator.gpu.requestAdapter({ powerPreference: "high-performance" }),
      new Promise<"timeout">((resolve) => timer = setTimeout(() => resolve("timeout"), timeoutMs)),
    ]);
    if (adapter === "timeout") return { reason: `no WebGPU adapter answered within ${timeoutMs / 1000} s` };
    if (adapter === null) return { reason: "no WebGPU adapter (no GPU, or no Vulkan/Metal/DX12 driver)" };
    return { adapter, summary: classifyAdapter(adapter.info) };
  } catch (e) {
    return { reason: `requesting a WebGPU adapter failed: ${(e as Error).message ?? e}` };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts the webgpu backend on a hardware adapter (a software one only if `allowSoftware`).
 *
 * @param allowSoftware Whether a software adapter may run it (`HAAT_WEBGPU_SOFTWARE=1`).
 * @returns The report's detail and the adapter.
 * @throws {Error} If there is no WebGPU, no adapter, only a software one not allowed, or the backend does not start.
 */
export async function tryWebgpu(allowSoftware: boolean): Promise<{ detail: string; adapter: AdapterSummary }> {
  const found = await findAdapter();
  if ("reason" in found) throw new Error(found.reason);
  const adapter = found.summary;
  if (adapter.fallback && !allowSoftware) {
    throw new Error(
      `${adapter.description} is a software adapter, slower than wasm (HAAT_WEBGPU_SOFTWARE=1 allows it)`,
    );
  }
  // A full specifier, as in lib/tfjs.ts, so that mod.ts imported by URL needs no import map.
  // deno-lint-ignore no-import-prefix
  await import("npm:@tensorflow/tfjs-backend-webgpu@4.22.0");
  if (!(await tf.setBackend("webgpu"))) throw new Error(`the webgpu backend did not start on ${adapter.description}`);
  return { detail: `webgpu (${adapterLabel(adapter)}${adapter.fallback ? ", software" : ""})`, adapter };
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
