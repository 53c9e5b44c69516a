/**
 * How a oneDNN kernel falls back to the wasm kernel it replaces: `kernelWrappers()` makes kernel configs
 * that run the wasm kernel for what oneDNN does not cover or refuses, remember refused calls
 * (`REFUSED_CALLS_LIMIT`) so that they go straight to the wasm kernel next time, warn once per kernel,
 * and count what ran (`OnednnKernelStats`).
 *
 * @module
 */
import type { tf } from "../../tfjs.ts";
import type { KernelArgs, TensorInfo, WasmBackend } from "./heap.ts";

/** What ran, counted per kernel: oneDNN calls, fallbacks, and the implementations oneDNN chose. */
export interface OnednnKernelStats {
  calls: Record<string, number>;
  /** Calls that ran the wasm kernel instead: not covered, refused by oneDNN, or refused before. */
  fallbacks: Record<string, number>;
  /** The last reason oneDNN refused a kernel's call, per kernel. */
  lastFallback: Record<string, string>;
  /** Calls that went straight to the wasm kernel because oneDNN had refused the same call before. */
  remembered: Record<string, number>;
  implementations: Record<string, string>;
}

/**
 * Calls (kernel, input shapes and dtypes, attributes) that oneDNN refused and that go straight to the
 * wasm kernel afterwards, remembered per `onednnKernels()`: enough for every shape of several models
 * and batch sizes; past it the oldest is forgotten (and tried again if it comes back).
 */
export const REFUSED_CALLS_LIMIT = 1024;

/** What identifies a kernel call for oneDNN: its inputs' shapes and dtypes, and its attributes. */
function callKey(kernelName: string, args: KernelArgs): string {
  const inputs = Object.entries(args.inputs).map(([name, t]) => [name, t?.shape, t?.dtype]);
  return `${kernelName}:${JSON.stringify(inputs)}:${JSON.stringify(args.attrs ?? {})}`;
}

/** The wrappers of one `onednnKernels()` call, sharing its counters and its memo of refused calls. */
export interface KernelWrappers {
  /** Live counters of what ran. */
  readonly stats: OnednnKernelStats;
  /**
   * A kernel on "wasm" that runs `body` in oneDNN, and the wasm kernel of the same name where `body`
   * returns undefined (a call it does not cover), throws (oneDNN refused: remembered, and warned once
   * per kernel), or threw before for the same call.
   *
   * @throws {Error} If `fallback` has no wasm kernel of the name.
   */
  wrap(kernelName: string, body: (args: KernelArgs, backend: WasmBackend) => TensorInfo | undefined): tf.KernelConfig;
  /** A kernel with no wasm fallback: counted, and its failures thrown with the kernel's name. */
  only(
    kernelName: string,
    body: (args: KernelArgs, backend: WasmBackend) => TensorInfo | TensorInfo[],
  ): tf.KernelConfig;
}

/**
 * Wrappers that turn oneDNN kernel bodies into kernel configs on "wasm" falling back to `fallback`, with
 * new counters and a new memo of refused calls.
 *
 * @param fallback The wasm kernels the oneDNN ones replace, by name.
 * @returns The wrappers and their live counters.
 */
export function kernelWrappers(fallback: Record<string, tf.KernelConfig>): KernelWrappers {
  const stats: OnednnKernelStats = { calls: {}, fallbacks: {}, lastFallback: {}, remembered: {}, implementations: {} };
  /** Keys of refused calls, oldest first, and how many of them each kernel has (to skip the key when none). */
  const refused = new Set<string>();
  const refusedPerKernel = new Map<string, number>();
  const warned = new Set<string>();
  const count = (counter: Record<string, number>, kernelName: string) =>
    counter[kernelName] = (counter[kernelName] ?? 0) + 1;
  const refuse = (kernelName: string, key: string, reason: string) => {
    stats.lastFallback[kernelName] = reason;
    refused.add(key);
    refusedPerKernel.set(kernelName, (refusedPerKernel.get(kernelName) ?? 0) + 1);
    if (refused.size > REFUSED_CALLS_LIMIT) {
      const oldest = refused.values().next().value!;
      refused.delete(oldest);
      const name = oldest.slice(0, oldest.indexOf(":"));
      refusedPerKernel.set(name, refusedPerKernel.get(name)! - 1);
    }
    if (!warned.has(kernelName)) {
      warned.add(kernelName);
      console.warn(
        `warning: oneDNN refused ${kernelName}, which runs on XNNPACK (wasm) instead: ${reason.split("\n")[0]} ` +
          `(further refusals of ${kernelName} are counted in onednnStats() without a warning)`,
      );
    }
  };

  const wrap = (
    kernelName: string,
    body: (args: KernelArgs, backend: WasmBackend) => TensorInfo | undefined,
  ): tf.KernelConfig => {
    const original = fallback[kernelName];
    if (original === undefined) throw new Error(`Cannot add oneDNN's ${kernelName}: no wasm kernel to fall back to`);
    return {
      kernelName,
      backendName: "wasm",
      setupFunc: original.setupFunc,
      kernelFunc: ((args: KernelArgs) => {
        let out: TensorInfo | undefined;
        // The key is built only for a kernel oneDNN has refused before: most never are.
        const key = (refusedPerKernel.get(kernelName) ?? 0) > 0 ? callKey(kernelName, args) : undefined;
        if (key !== undefined && refused.has(key)) {
          count(stats.remembered, kernelName);
        } else {
          try {
            out = body(args, args.backend as unknown as WasmBackend);
          } catch (e) {
            refuse(kernelName, key ?? callKey(kernelName, args), String((e as Error).message ?? e));
          }
        }
        if (out !== undefined) {
          count(stats.calls, kernelName);
          return out;
        }
        count(stats.fallbacks, kernelName);
        return original.kernelFunc(args as Parameters<tf.KernelFunc>[0]);
      }) as tf.KernelFunc,
    };
  };

  /** A kernel with no wasm fallback: counted, and its failures thrown with the kernel's name. */
  const only = (
    kernelName: string,
    body: (args: KernelArgs, backend: WasmBackend) => TensorInfo | TensorInfo[],
  ): tf.KernelConfig => ({
    kernelName,
    backendName: "wasm",
    kernelFunc: ((args: KernelArgs) => {
      const out = body(args, args.backend as unknown as WasmBackend);
      stats.calls[kernelName] = (stats.calls[kernelName] ?? 0) + 1;
      return out;
    }) as tf.KernelFunc,
  });

  return { stats, wrap, only };
}
