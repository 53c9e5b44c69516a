/**
 * The oneDNN 2.x C API through `Deno.dlopen`: the symbols this project calls, the enum values it
 * passes (from `dnnl_types.h` of oneDNN 2.6), and `openOnednn()`, which finds the library, checks its
 * version and sets the thread count.
 *
 * oneDNN 2.x descriptors are structs the caller allocates (`dnnl_memory_desc_t`: 696 bytes,
 * `dnnl_convolution_desc_t`: 5,976 bytes); they are kept here as opaque byte buffers and passed by
 * pointer, so no field of them is read in TypeScript. oneDNN 3.x (`libdnnl.so.3`) replaced them with
 * opaque handles created by functions (`dnnl_memory_desc_create_with_tag`,
 * `dnnl_convolution_forward_primitive_desc_create`): supporting it means a second symbol table, not
 * a change of this one.
 *
 * @module
 */
import { readEnv } from "../../env.ts";

/** Bytes of `dnnl_memory_desc_t` in oneDNN 2.x. */
export const MEMORY_DESC_BYTES = 696;
/** Bytes of `dnnl_convolution_desc_t` in oneDNN 2.x. */
export const CONVOLUTION_DESC_BYTES = 5976;
/** `DNNL_MAX_NDIMS`: a `dnnl_dims_t` is `int64_t[12]`. */
export const MAX_NDIMS = 12;

/** Enum values of oneDNN 2.6 (`dnnl_types.h`), as the C compiler numbers them. */
export const DNNL = {
  success: 0,
  f32: 3,
  tagAny: 1,
  /** Plain 4-D: NCHW for data, OIHW for weights. */
  tagAbcd: 5,
  /** NHWC for data (dims N, C, H, W stored N, H, W, C). */
  tagAcdb: 20,
  /** HWIO for weights (dims O, I, H, W stored H, W, I, O): TensorFlow.js's filter layout. */
  tagCdba: 30,
  forwardTraining: 64,
  forwardInference: 96,
  backwardData: 160,
  backwardWeights: 192,
  convolutionDirect: 1,
  engineCpu: 1,
  streamDefault: 1,
  querySrcMd: 129,
  queryDiffSrcMd: 130,
  queryWeightsMd: 131,
  queryDiffWeightsMd: 132,
  queryDstMd: 133,
  queryDiffDstMd: 134,
  queryImplInfoStr: 8,
  argSrc: 1,
  argDst: 17,
  argWeights: 33,
  argBias: 41,
  /** `dnnl_eltwise_relu`. */
  eltwiseRelu: 0x1f,
  /** Plain 1-D. */
  tagA: 2,
  argDiffSrc: 129,
  argDiffDst: 145,
  argDiffWeights: 161,
} as const;

/** Names of `dnnl_cpu_isa_t` values, as oneDNN's `ONEDNN_MAX_CPU_ISA` spells them (lower case). */
export const CPU_ISA_NAMES: Record<number, string> = {
  0x0: "all",
  0x1: "sse41",
  0x3: "avx",
  0x7: "avx2",
  0xf: "avx512_mic",
  0x1f: "avx512_mic_4ops",
  0x27: "avx512_core",
  0x67: "avx512_core_vnni",
  0xe7: "avx512_core_bf16",
  0x3e7: "avx512_core_amx",
  0x407: "avx2_vnni",
};

const SYMBOLS = {
  dnnl_version: { parameters: [], result: "pointer" },
  dnnl_get_effective_cpu_isa: { parameters: [], result: "i32" },
  dnnl_engine_create: { parameters: ["buffer", "i32", "usize"], result: "i32" },
  dnnl_engine_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_stream_create: { parameters: ["buffer", "pointer", "u32"], result: "i32" },
  dnnl_stream_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_memory_desc_init_by_tag: { parameters: ["buffer", "i32", "buffer", "i32", "i32"], result: "i32" },
  dnnl_memory_desc_init_by_strides: { parameters: ["buffer", "i32", "buffer", "i32", "buffer"], result: "i32" },
  dnnl_memory_desc_equal: { parameters: ["pointer", "pointer"], result: "i32" },
  dnnl_memory_desc_get_size: { parameters: ["pointer"], result: "usize" },
  dnnl_dilated_convolution_forward_desc_init: {
    parameters: [
      "buffer",
      "i32",
      "i32",
      "buffer",
      "buffer",
      "pointer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
      "buffer",
    ],
    result: "i32",
  },
  dnnl_dilated_convolution_backward_data_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  dnnl_dilated_convolution_backward_weights_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "pointer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  dnnl_binary_desc_init: { parameters: ["buffer", "i32", "buffer", "buffer", "buffer"], result: "i32" },
  dnnl_eltwise_forward_desc_init: { parameters: ["buffer", "i32", "i32", "buffer", "f32", "f32"], result: "i32" },
  dnnl_eltwise_backward_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "f32", "f32"],
    result: "i32",
  },
  dnnl_matmul_desc_init: { parameters: ["buffer", "buffer", "buffer", "pointer", "buffer"], result: "i32" },
  dnnl_memory_get_data_handle: { parameters: ["pointer", "buffer"], result: "i32" },
  dnnl_primitive_desc_create: { parameters: ["buffer", "buffer", "pointer", "pointer", "pointer"], result: "i32" },
  dnnl_primitive_desc_query: { parameters: ["pointer", "i32", "i32", "buffer"], result: "i32" },
  dnnl_primitive_desc_query_md: { parameters: ["pointer", "i32", "i32"], result: "pointer" },
  dnnl_primitive_desc_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_reorder_primitive_desc_create: {
    parameters: ["buffer", "pointer", "pointer", "pointer", "pointer", "pointer"],
    result: "i32",
  },
  dnnl_primitive_create: { parameters: ["buffer", "pointer"], result: "i32" },
  dnnl_primitive_execute: { parameters: ["pointer", "pointer", "i32", "buffer"], result: "i32" },
  dnnl_primitive_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_memory_create: { parameters: ["buffer", "pointer", "pointer", "pointer"], result: "i32" },
  dnnl_memory_set_data_handle: { parameters: ["pointer", "pointer"], result: "i32" },
  dnnl_memory_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_stream_wait: { parameters: ["pointer"], result: "i32" },
  dnnl_batch_normalization_forward_desc_init: {
    parameters: ["buffer", "i32", "buffer", "f32", "u32"],
    result: "i32",
  },
  dnnl_batch_normalization_backward_desc_init: {
    parameters: ["buffer", "i32", "buffer", "buffer", "f32", "u32"],
    result: "i32",
  },
  dnnl_primitive_attr_create: { parameters: ["buffer"], result: "i32" },
  dnnl_primitive_attr_destroy: { parameters: ["pointer"], result: "i32" },
  dnnl_primitive_attr_set_post_ops: { parameters: ["pointer", "pointer"], result: "i32" },
  dnnl_post_ops_create: { parameters: ["buffer"], result: "i32" },
  dnnl_post_ops_append_eltwise: { parameters: ["pointer", "f32", "i32", "f32", "f32"], result: "i32" },
  dnnl_post_ops_destroy: { parameters: ["pointer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

const OPENMP_SYMBOLS = {
  omp_set_num_threads: { parameters: ["i32"], result: "void" },
  omp_get_max_threads: { parameters: [], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The bound oneDNN functions. */
export type OnednnSymbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** An opened oneDNN library with its CPU engine and stream. */
export interface Onednn {
  /** The raw symbols; see `oneDNN`'s C API. */
  readonly lib: OnednnSymbols;
  /** The CPU engine (`dnnl_engine_t`). */
  readonly engine: Deno.PointerValue;
  /** An in-order stream on it (`dnnl_stream_t`). */
  readonly stream: Deno.PointerValue;
  /** "2.6.3" */
  readonly version: string;
  /** The instruction set its jit kernels use, e.g. "avx512_core". */
  readonly isa: string;
  /** OpenMP threads its primitives run on. */
  readonly threads: number;
  /** The file name it was opened by. */
  readonly path: string;
}

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

/** Throws a readable error when a oneDNN call did not return `dnnl_success`. */
export function check(status: number, what: string): void {
  if (status !== DNNL.success) throw new Error(`oneDNN ${what} failed with dnnl_status_t ${status}`);
}

/** A pointer out-parameter (`T*`) and a reader of the pointer it received. */
export function outPointer(): { buffer: BigUint64Array<ArrayBuffer>; get(): Deno.PointerValue } {
  const buffer = new BigUint64Array(1);
  return { buffer, get: () => Deno.UnsafePointer.create(buffer[0]) };
}

/** A `dnnl_dims_t` (int64[12]) holding `values`. */
export function dims(values: readonly number[]): BigInt64Array<ArrayBuffer> {
  const out = new BigInt64Array(MAX_NDIMS);
  values.forEach((v, i) => out[i] = BigInt(v));
  return out;
}

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

/** One primitive execution: the primitive and its `dnnl_exec_arg_t[]`. */
export interface Step {
  primitive: Deno.PointerValue;
  args: Uint8Array<ArrayBuffer>;
  count: number;
}

/** `DNNL_MEMORY_NONE`: a memory object without data yet. */
export const MEMORY_NONE: Deno.PointerValue = null;
/** `DNNL_MEMORY_ALLOCATE`: oneDNN allocates the memory. */
export const MEMORY_ALLOCATE: Deno.PointerValue = Deno.UnsafePointer.create(0xffffffffffffffffn);

/** A `dnnl_memory_desc_t` of float32 with `shape` (logical dims) and layout `tag`. */
export function memoryDesc(onednn: Onednn, shape: readonly number[], tag: number): Uint8Array<ArrayBuffer> {
  const md = new Uint8Array(MEMORY_DESC_BYTES);
  check(onednn.lib.dnnl_memory_desc_init_by_tag(md, shape.length, dims(shape), DNNL.f32, tag), "memory_desc_init");
  return md;
}

/**
 * A `dnnl_memory_desc_t` of float32 with `shape` (logical dims) and an element stride per dim: a view
 * that need not be dense (every other row and column of an image, for instance).
 */
export function stridedMemoryDesc(
  onednn: Onednn,
  shape: readonly number[],
  strides: readonly number[],
): Uint8Array<ArrayBuffer> {
  const md = new Uint8Array(MEMORY_DESC_BYTES);
  check(
    onednn.lib.dnnl_memory_desc_init_by_strides(md, shape.length, dims(shape), DNNL.f32, dims(strides)),
    "memory_desc_init_by_strides",
  );
  return md;
}

/** A `dnnl_memory_t` on the engine, for a descriptor (buffer or pointer) and a data handle. */
export function createMemory(
  onednn: Onednn,
  md: Deno.PointerValue | Uint8Array,
  handle: Deno.PointerValue,
): Deno.PointerValue {
  const out = outPointer();
  const mdPointer = md instanceof Uint8Array ? Deno.UnsafePointer.of(md) : md;
  check(onednn.lib.dnnl_memory_create(out.buffer, mdPointer, onednn.engine, handle), "memory_create");
  return out.get();
}

/** A `dnnl_primitive_t` from a primitive descriptor. */
export function createPrimitive(onednn: Onednn, pd: Deno.PointerValue): Deno.PointerValue {
  const out = outPointer();
  check(onednn.lib.dnnl_primitive_create(out.buffer, pd), "primitive_create");
  return out.get();
}

/** `dnnl_exec_arg_t[]`: { int arg; dnnl_memory_t memory; } is 16 bytes. */
export function execArgs(pairs: [number, Deno.PointerValue][]): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(16 * pairs.length);
  const view = new DataView(bytes.buffer);
  pairs.forEach(([arg, memory], i) => {
    view.setInt32(16 * i, arg, true);
    view.setBigUint64(16 * i + 8, BigInt(Deno.UnsafePointer.value(memory)), true);
  });
  return bytes;
}

/** The kinds of oneDNN object a cache entry owns, each with its destroy function. */
type OwnedKind = "primitive" | "memory" | "pd";

/**
 * The oneDNN objects one cache entry created (primitive descriptors, primitives, memory objects),
 * destroyed together, newest first (a backward primitive descriptor before the forward one that was
 * its hint). Each `create*` method records what it made before returning it, so a build that throws
 * halfway can destroy exactly what it made (`buildOwned`).
 */
export class OwnedObjects {
  readonly #onednn: Onednn;
  readonly #objects: [OwnedKind, Deno.PointerValue][] = [];

  constructor(onednn: Onednn) {
    this.#onednn = onednn;
  }

  /** Objects owned now. */
  get count(): number {
    return this.#objects.length;
  }

  /** A primitive descriptor from an operation descriptor (`attr` and `hint` may be null). */
  createPd(desc: Uint8Array, attr: Deno.PointerValue, hint: Deno.PointerValue, what: string): Deno.PointerValue {
    const out = outPointer();
    check(this.#onednn.lib.dnnl_primitive_desc_create(out.buffer, desc, attr, this.#onednn.engine, hint), what);
    return this.own("pd", out.get());
  }

  /** A reorder's primitive descriptor, from one memory descriptor to another on the engine. */
  createReorderPd(from: Deno.PointerValue, to: Deno.PointerValue): Deno.PointerValue {
    const o = this.#onednn, out = outPointer();
    check(o.lib.dnnl_reorder_primitive_desc_create(out.buffer, from, o.engine, to, o.engine, null), "reorder_pd");
    return this.own("pd", out.get());
  }

  /** A memory object (see `createMemory`). */
  createMemory(md: Deno.PointerValue | Uint8Array, handle: Deno.PointerValue): Deno.PointerValue {
    return this.own("memory", createMemory(this.#onednn, md, handle));
  }

  /** A primitive (see `createPrimitive`). */
  createPrimitive(pd: Deno.PointerValue): Deno.PointerValue {
    return this.own("primitive", createPrimitive(this.#onednn, pd));
  }

  /** Records an object made elsewhere, to destroy with the rest. */
  own(kind: OwnedKind, pointer: Deno.PointerValue): Deno.PointerValue {
    this.#objects.push([kind, pointer]);
    return pointer;
  }

  /** Destroys every object, newest first; the list is empty afterwards. */
  destroy(): void {
    const lib = this.#onednn.lib;
    while (this.#objects.length > 0) {
      const [kind, pointer] = this.#objects.pop()!;
      if (kind === "primitive") lib.dnnl_primitive_destroy(pointer);
      else if (kind === "memory") lib.dnnl_memory_destroy(pointer);
      else lib.dnnl_primitive_desc_destroy(pointer);
    }
  }
}

/**
 * Runs `build` with a new `OwnedObjects`; if it throws, destroys whatever it had created, then rethrows.
 *
 * @param onednn The opened library.
 * @param build Creates a cache entry, recording every object in `owned`, which the entry keeps.
 * @returns What `build` returned.
 * @throws What `build` threw, after freeing.
 */
export function buildOwned<T>(onednn: Onednn, build: (owned: OwnedObjects) => T): T {
  const owned = new OwnedObjects(onednn);
  try {
    return build(owned);
  } catch (e) {
    owned.destroy();
    throw e;
  }
}

/**
 * A map of at most `capacity` entries that evicts the least recently used one, handing it to `free`:
 * the primitive caches, so that a run through many shapes (evaluation at every batch size, a sweep)
 * holds a bounded number of oneDNN primitives and their scratch memory.
 */
export class PrimitiveCache<V> {
  readonly #capacity: number;
  readonly #free: (value: V) => void;
  readonly #entries = new Map<string, V>();

  /**
   * @param capacity The most entries kept (a positive integer).
   * @param free Frees an evicted or cleared entry.
   * @throws {RangeError} If `capacity` is not a positive integer.
   */
  constructor(capacity: number, free: (value: V) => void) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(
        `Cannot cache primitives as capacity must be a positive integer: current value is ${capacity}`,
      );
    }
    this.#capacity = capacity;
    this.#free = free;
  }

  /** Entries cached now. */
  get size(): number {
    return this.#entries.size;
  }

  /** The entry of `key`, made by `create` (and cached, evicting the oldest past capacity) on a miss. */
  get(key: string, create: () => V): V {
    const hit = this.#entries.get(key);
    if (hit !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit;
    }
    const value = create();
    this.#entries.set(key, value);
    while (this.#entries.size > this.#capacity) {
      const [oldest, evicted] = this.#entries.entries().next().value!;
      this.#entries.delete(oldest);
      this.#free(evicted);
    }
    return value;
  }

  /** Frees every entry. */
  clear(): void {
    for (const value of this.#entries.values()) this.#free(value);
    this.#entries.clear();
  }
}
