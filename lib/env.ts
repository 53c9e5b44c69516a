/**
 * The one place this project reads environment variables: `readEnv(name)` for each variable in
 * `ENVIRONMENT`, which lists what each one does. Reading through it means an unset variable, an empty
 * one and one the process has no permission to read all look the same (undefined), everywhere.
 *
 * @module
 */

/** Every environment variable this project reads, with what it sets. */
export const ENVIRONMENT = {
  HAAT_BACKEND: "the backend `useBackend()` starts when given no name: tensorflow, webgpu, onednn, wasm or cpu",
  HAAT_THREADS: "oneDNN's threads (a positive integer, at most 4 per core; default every core)",
  HAAT_ONEDNN_LIB: "the oneDNN 2.x library file to open instead of the system's libdnnl.so.2",
  HAAT_WEBGPU_SOFTWARE: "1 lets the webgpu backend, when named, run on a software adapter (never chosen automatically)",
  HAAT_DATA: "the CIFAR-10 directory (binary layout)",
  HAAT_DEBUG: "set: the commands print an error's stack, not only its message",
  OMP_WAIT_POLICY: "libgomp's wait policy; oneDNN sets passive when unset",
  XDG_RUNTIME_DIR: "where Mesa's Vulkan drivers keep their runtime files; set to a private folder when unset",
  CI: "true in continuous integration: a backend a test needs must start there",
} as const;

/** A variable in `ENVIRONMENT`. */
export type EnvName = keyof typeof ENVIRONMENT;

/**
 * The value of an environment variable this project reads.
 *
 * @param name A variable listed in `ENVIRONMENT`.
 * @returns Its value, or undefined when it is unset, empty, or the process may not read it.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { readEnv } from "./env.ts";
 * // Tests run in parallel in one process: read, never set, the environment here.
 * assert.strictEqual(readEnv("HAAT_DATA"), Deno.env.get("HAAT_DATA") || undefined);
 * ```
 */
export function readEnv(name: EnvName): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no env permission
  }
}
