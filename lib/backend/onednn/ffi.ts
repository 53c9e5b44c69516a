/**
 * The oneDNN 2.x C API as this project binds it through `Deno.dlopen`: the symbols it calls
 * (`SYMBOLS`), the enum values it passes (from `dnnl_types.h` of oneDNN 2.6), the opened library's
 * type (`Onednn`) and the small helpers every call uses (`check`, `outPointer`, `dims`). Opening the
 * library is `open.ts`; memory descriptors, memory objects and primitives are `memory.ts`; what a
 * cache entry owns and the bounded caches are `owned.ts`.
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

/** The oneDNN functions this project binds, with their C signatures as `Deno.dlopen` takes them. */
export const SYMBOLS = {
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
