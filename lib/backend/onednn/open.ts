/**
 * Opening oneDNN 2.x: `openOnednn()` finds the library (`HAAT_ONEDNN_LIB`, else `onednnCandidates()`),
 * checks its version, sets the OpenMP thread count and creates the CPU engine and stream, once per
 * process; `openOnednnWith()` does the same on a given system (tests pass a fake one).
 *
 * @module
 */
import { readEnv } from "../../env.ts";
import { check, CPU_ISA_NAMES, DNNL, type Onednn, type OnednnSymbols, outPointer, SYMBOLS } from "./ffi.ts";

const OPENMP_SYMBOLS = {
  omp_set_num_threads: { parameters: ["i32"], result: "void" },
  omp_get_max_threads: { parameters: [], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** Library file names to try, per operating system, when `HAAT_ONEDNN_LIB` names none. */
export function onednnCandidates(os: typeof Deno.build.os = Deno.build.os): string[] {
  if (os === "darwin") {
    return ["libdnnl.2.dylib", "/opt/homebrew/lib/libdnnl.2.dylib", "/usr/local/lib/libdnnl.2.dylib"];
  }
  if (os === "windows") return ["dnnl.dll"];
  return ["libdnnl.so.2"];
}

/**
 * A setting the user made for oneDNN (`HAAT_THREADS`, `HAAT_ONEDNN_LIB`) that cannot be followed: the
 * backend choice refuses it instead of falling back to another backend, since a setting that is
 * silently ignored would leave the user measuring or training on something they did not ask for.
 */
export class OnednnSettingError extends Error {
  override name = "OnednnSettingError";
}

/** The OpenMP runtime oneDNN's Linux build links (GNU libgomp), to set its thread count. */
const OPENMP_LIBRARY = "libgomp.so.1";
let opened: Onednn | undefined;

/** The library `openOnednnWith` opens: `Deno.dlopen`'s result, or a fake one in tests. */
export interface OnednnLibrary {
  readonly symbols: OnednnSymbols;
  close(): void;
}

/** How `openOnednnWith` reaches the system: `openOnednn` passes the real ones, tests pass fakes. */
export interface OnednnSystem {
  /** Opens a library file with oneDNN's symbols (`Deno.dlopen`), throwing where it does not load. */
  open(path: string): OnednnLibrary;
  /** Sets the OpenMP threads oneDNN's primitives run on (libgomp on Linux), throwing where it cannot. */
  setThreads(threads: number): void;
}

/** Sets the OpenMP threads: through libgomp on Linux, else through `OMP_NUM_THREADS`. */
function setOpenmpThreads(threads: number): void {
  if (Deno.build.os === "linux") {
    const openmp = Deno.dlopen(OPENMP_LIBRARY, OPENMP_SYMBOLS);
    openmp.symbols.omp_set_num_threads(threads);
    const actual = openmp.symbols.omp_get_max_threads();
    if (actual !== threads) throw new Error(`OpenMP runs ${actual} threads`);
  } else if (threads !== navigator.hardwareConcurrency) {
    try {
      Deno.env.set("OMP_NUM_THREADS", String(threads));
    } catch { /* all cores */ }
  }
}

const SYSTEM: OnednnSystem = { open: (path) => Deno.dlopen(path, SYMBOLS), setThreads: setOpenmpThreads };

/**
 * Opens oneDNN 2.x once per process, with a CPU engine and stream, on `threads` OpenMP threads.
 *
 * Looks for `HAAT_ONEDNN_LIB` if set, else `onednnCandidates()`. Sets `OMP_WAIT_POLICY=passive`
 * unless the environment sets it (libgomp's default spin-wait slows calls when cores are shared),
 * before the library loads.
 *
 * @param threads OpenMP threads (every primitive created afterwards runs on this many).
 * @returns The opened library.
 * @throws {Error} If no library loads, its major version is not 2, or the engine cannot start.
 */
export function openOnednn(threads: number): Onednn {
  if (opened !== undefined) {
    if (opened.threads !== threads) {
      throw new Error(
        `Cannot reopen oneDNN as its primitives run on ${opened.threads} threads in this process: requested ${threads}`,
      );
    }
    return opened;
  }
  opened = openOnednnWith(threads, SYSTEM);
  return opened;
}

/**
 * `openOnednn` without its once-per-process memo, on the given `system`: finds and opens the library,
 * checks its version, sets the threads, creates the engine and the stream. Whatever step fails, what
 * was made before it is undone (the stream, the engine, and the library closed) before it throws.
 *
 * @param threads OpenMP threads.
 * @param system How libraries are opened and threads set.
 * @returns The opened library.
 * @throws {OnednnSettingError} If `HAAT_ONEDNN_LIB` names a library that does not load oneDNN 2.x.
 * @throws {Error} If no library loads, its major version is not 2, or the engine cannot start.
 */
export function openOnednnWith(threads: number, system: OnednnSystem): Onednn {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`Cannot start oneDNN as threads must be a positive integer: current value is ${threads}`);
  }
  const explicit = readEnv("HAAT_ONEDNN_LIB");
  const candidates = explicit ? [explicit] : onednnCandidates();
  const errors: string[] = [];
  let library: OnednnLibrary | undefined;
  let path = "";
  try {
    if (readEnv("OMP_WAIT_POLICY") === undefined) Deno.env.set("OMP_WAIT_POLICY", "passive");
  } catch { /* no env permission: libgomp's default */ }
  for (const candidate of candidates) {
    try {
      library = system.open(candidate);
      path = candidate;
      break;
    } catch (e) {
      errors.push(`${candidate}: ${String((e as Error).message ?? e).split("\n")[0]}`);
    }
  }
  if (library === undefined) {
    if (explicit) {
      throw new OnednnSettingError(
        `Cannot start oneDNN as HAAT_ONEDNN_LIB names a library that does not load: ${errors.join("; ")}. ` +
          `Unset HAAT_ONEDNN_LIB to use the system's ${onednnCandidates().join(" or ")}, or choose another backend`,
      );
    }
    throw new Error(`no oneDNN 2.x library loaded (${errors.join("; ")})`);
  }
  const lib = library.symbols;
  let engine: Deno.PointerValue = null, stream: Deno.PointerValue = null;
  try {
    const versionPointer = lib.dnnl_version();
    if (versionPointer === null) throw new Error(`${path} returned no version`);
    const view = new Deno.UnsafePointerView(versionPointer);
    const [major, minor, patch] = [view.getInt32(0), view.getInt32(4), view.getInt32(8)];
    const version = `${major}.${minor}.${patch}`;
    if (major !== 2) {
      const message = `${path} is oneDNN ${version}: this project calls the 2.x C API (see lib/backend/onednn/ffi.ts)`;
      throw explicit ? new OnednnSettingError(`Cannot start oneDNN as HAAT_ONEDNN_LIB=${message}`) : new Error(message);
    }
    try {
      system.setThreads(threads);
    } catch (e) {
      throw new Error(`cannot set oneDNN's threads to ${threads}: ${(e as Error).message}`);
    }
    const engineOut = outPointer();
    check(lib.dnnl_engine_create(engineOut.buffer, DNNL.engineCpu, 0n), "engine_create");
    engine = engineOut.get();
    const streamOut = outPointer();
    check(lib.dnnl_stream_create(streamOut.buffer, engine, DNNL.streamDefault), "stream_create");
    stream = streamOut.get();
    const isaCode = lib.dnnl_get_effective_cpu_isa();
    return {
      lib,
      engine,
      stream,
      version,
      isa: CPU_ISA_NAMES[isaCode] ?? `isa 0x${isaCode.toString(16)}`,
      threads,
      path,
    };
  } catch (e) {
    if (stream !== null) lib.dnnl_stream_destroy(stream);
    if (engine !== null) lib.dnnl_engine_destroy(engine);
    library.close();
    throw e;
  }
}
