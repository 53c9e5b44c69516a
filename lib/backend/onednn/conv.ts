/**
 * 2-D convolutions (forward, input gradient, filter gradient) as oneDNN primitives on NHWC tensors
 * given by raw pointers, cached by geometry.
 *
 * Activations stay NHWC (oneDNN tag `acdb`, on which its `brgconv`/`jit` kernels run); the filter's
 * layout is left to oneDNN (`format_tag_any`) and the HWIO filter of TensorFlow.js is reordered to it
 * on every call (the weights change every step), and the filter gradient is reordered back to HWIO.
 * The backward primitives are created with the forward primitive as their hint, as oneDNN requires.
 *
 * The filter gradient of a strided 1x1 convolution without padding (a ResNet shortcut) is computed as
 * that of a unit-stride 1x1 convolution on the input's every s-th row and column, gathered into a
 * dense buffer by a reorder first (`reducedGeometry`). oneDNN 2.6 does the same inside its `jit_1x1`
 * kernel ("reduce to unit stride"), but with the NHWC layout and fewer than 16 input channels that
 * copy writes past its scratchpad whenever the kernel splits one image's pixels among threads (a batch
 * of one image on two threads or more; batches of 2 to 8 images on 8 or 16 threads): the stores land
 * kilobytes beyond the buffer and corrupt the process heap (`double free or corruption`, exit 134 or
 * 139). Found under a guard-page allocator: a masked `vmovups` 11,456 bytes into a 5,376-byte
 * scratchpad, for a [1, 32, 32, 2] input and a 1x1 stride-2 filter to 4 channels on two threads; the
 * gradient it computes is right, only the memory beyond is overwritten. Where oneDNN cannot describe
 * the gathered pixels as a view (an odd height with more than one image), its kernel does not reduce
 * the stride either, and the convolution runs as given.
 *
 * @module
 */
import { check, CONVOLUTION_DESC_BYTES, dims, DNNL, type Onednn, outPointer } from "./ffi.ts";
import { execArgs, MEMORY_ALLOCATE, MEMORY_NONE, memoryDesc, type Step, stridedMemoryDesc } from "./memory.ts";
import { buildOwned, type OwnedObjects, PrimitiveCache } from "./owned.ts";

/** A convolution's shapes and padding, in TensorFlow.js's terms (NHWC input, HWIO filter). */
export interface ConvGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  dilationHeight: number;
  dilationWidth: number;
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
  outHeight: number;
  outWidth: number;
}

/**
 * Which convolution a primitive computes: `forwardBias` adds a per-output-channel bias, and
 * `forwardBiasRelu` then applies ReLU as a oneDNN post-op, in the same pass over the output.
 */
export type ConvKind = "forward" | "forwardBias" | "forwardBiasRelu" | "backwardData" | "backwardWeights";

/** A cached primitive with its memory objects; the caller sets data handles, then `run`s. */
interface CachedConv {
  /** Memory objects whose data handle is the caller's tensor: by oneDNN argument. */
  user: Map<number, Deno.PointerValue>;
  /** Executed in order. */
  steps: Step[];
  /** Everything to free on eviction, its own forward primitive descriptor (a backward one's hint) included. */
  owned: OwnedObjects;
  /** The implementation oneDNN chose, e.g. "brgconv:avx512_core". */
  implementation: string;
}

/** Argument ids of the caller's tensors: the filter (HWIO) is `argWeights` or `argDiffWeights`. */
const USER_FILTER = 1000;

function implementationName(onednn: Onednn, pd: Deno.PointerValue): string {
  const out = new BigUint64Array(1);
  if (onednn.lib.dnnl_primitive_desc_query(pd, DNNL.queryImplInfoStr, 0, out) !== DNNL.success) return "unknown";
  const pointer = Deno.UnsafePointer.create(out[0]);
  return pointer === null ? "unknown" : Deno.UnsafePointerView.getCString(pointer);
}

/** Convolution primitives `ConvPrimitives` keeps by default: every geometry of a few batch sizes of ResNet18. */
export const CONV_CACHE_CAPACITY = 256;

/**
 * Caches oneDNN convolution primitives by kind and geometry, at most `capacity` of them (the least
 * recently used is evicted, and its oneDNN objects destroyed).
 *
 * Each entry owns every oneDNN object it runs on: the primitive, its memory objects, where oneDNN wants
 * the filter in another layout a reorder and the memory it reorders into, and for a backward primitive
 * the forward primitive descriptor it was created with as its hint, which must outlive it.
 */
export class ConvPrimitives {
  readonly #onednn: Onednn;
  readonly #entries: PrimitiveCache<CachedConv>;

  /**
   * @param onednn The opened library.
   * @param capacity The most primitives kept (`CONV_CACHE_CAPACITY` by default).
   */
  constructor(onednn: Onednn, capacity = CONV_CACHE_CAPACITY) {
    this.#onednn = onednn;
    this.#entries = new PrimitiveCache(capacity, (entry) => entry.owned.destroy());
  }

  /** Entries cached now. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Runs one convolution on raw pointers to float32 data.
   *
   * - forward: `output` (NHWC, [n, oh, ow, o]) = conv(`input` NHWC, `filter` HWIO);
   * - forwardBias, forwardBiasRelu: `output` = conv(`input`, `filter`) + `bias` ([o]), then max(., 0);
   * - backwardData: `input` receives dL/dx (NHWC) from `output` = dL/dy and `filter`;
   * - backwardWeights: `filter` receives dL/dW (HWIO) from `input` = x and `output` = dL/dy.
   *
   * @returns The name of oneDNN's implementation.
   * @throws {Error} If oneDNN refuses the geometry (nothing it created for it is kept).
   */
  run(
    kind: ConvKind,
    g: ConvGeometry,
    pointers: {
      input: Deno.PointerValue;
      filter: Deno.PointerValue;
      output: Deno.PointerValue;
      bias?: Deno.PointerValue;
    },
  ): string {
    const entry = this.#entries.get(`${kind}:${geometryKey(g)}`, () => this.#create(kind, g));
    const lib = this.#onednn.lib;
    for (const [arg, memory] of entry.user) {
      const handle = arg === DNNL.argSrc || arg === DNNL.argDiffSrc
        ? pointers.input
        : arg === DNNL.argDst || arg === DNNL.argDiffDst
        ? pointers.output
        : arg === DNNL.argBias
        ? pointers.bias ?? null
        : pointers.filter;
      check(lib.dnnl_memory_set_data_handle(memory, handle), "memory_set_data_handle");
    }
    for (const step of entry.steps) {
      check(lib.dnnl_primitive_execute(step.primitive, this.#onednn.stream, step.count, step.args), "execute");
    }
    check(lib.dnnl_stream_wait(this.#onednn.stream), "stream_wait");
    return entry.implementation;
  }

  /** Frees every cached primitive. */
  clear(): void {
    this.#entries.clear();
  }

  #descriptors(g: ConvGeometry) {
    const o = this.#onednn;
    return {
      data: memoryDesc(o, [g.batch, g.inChannels, g.inHeight, g.inWidth], DNNL.tagAcdb),
      out: memoryDesc(o, [g.batch, g.outChannels, g.outHeight, g.outWidth], DNNL.tagAcdb),
      anyFilter: memoryDesc(o, filterDims(g), DNNL.tagAny),
      hwio: memoryDesc(o, filterDims(g), DNNL.tagCdba),
      strides: dims([g.strideHeight, g.strideWidth]),
      dilates: dims([g.dilationHeight - 1, g.dilationWidth - 1]),
      padL: dims([g.padTop, g.padLeft]),
      padR: dims([g.padBottom, g.padRight]),
    };
  }

  /** The forward-training primitive descriptor of `g` (the backward primitives' hint), owned by `owned`. */
  #forwardPd(g: ConvGeometry, owned: OwnedObjects): Deno.PointerValue {
    const o = this.#onednn, d = this.#descriptors(g);
    const desc = new Uint8Array(CONVOLUTION_DESC_BYTES);
    check(
      o.lib.dnnl_dilated_convolution_forward_desc_init(
        desc,
        DNNL.forwardTraining,
        DNNL.convolutionDirect,
        d.data,
        d.anyFilter,
        null,
        d.out,
        d.strides,
        d.dilates,
        d.padL,
        d.padR,
      ),
      `convolution_forward_desc_init (${geometryKey(g)})`,
    );
    return owned.createPd(desc, null, null, "primitive_desc_create (forward)");
  }

  /** An inference primitive descriptor of `g` with a bias and, if `relu`, a ReLU post-op. */
  #biasPd(g: ConvGeometry, relu: boolean, owned: OwnedObjects): Deno.PointerValue {
    const o = this.#onednn, lib = o.lib, d = this.#descriptors(g);
    const desc = new Uint8Array(CONVOLUTION_DESC_BYTES);
    const biasMd = memoryDesc(o, [g.outChannels], DNNL.tagA);
    check(
      lib.dnnl_dilated_convolution_forward_desc_init(
        desc,
        DNNL.forwardInference,
        DNNL.convolutionDirect,
        d.data,
        d.anyFilter,
        Deno.UnsafePointer.of(biasMd),
        d.out,
        d.strides,
        d.dilates,
        d.padL,
        d.padR,
      ),
      `convolution_forward_desc_init with bias (${geometryKey(g)})`,
    );
    let attr: Deno.PointerValue = null, postOps: Deno.PointerValue = null;
    try {
      if (relu) {
        const a = outPointer(), p = outPointer();
        check(lib.dnnl_primitive_attr_create(a.buffer), "primitive_attr_create");
        attr = a.get();
        check(lib.dnnl_post_ops_create(p.buffer), "post_ops_create");
        postOps = p.get();
        check(lib.dnnl_post_ops_append_eltwise(postOps, 1, DNNL.eltwiseRelu, 0, 0), "post_ops_append_eltwise");
        check(lib.dnnl_primitive_attr_set_post_ops(attr, postOps), "primitive_attr_set_post_ops");
      }
      return owned.createPd(desc, attr, null, "primitive_desc_create (bias)");
    } finally {
      if (postOps !== null) lib.dnnl_post_ops_destroy(postOps);
      if (attr !== null) lib.dnnl_primitive_attr_destroy(attr);
    }
  }

  /** Builds the entry of `kind` and `original`; if oneDNN fails halfway, what it built is destroyed. */
  #create(kind: ConvKind, original: ConvGeometry): CachedConv {
    return buildOwned(this.#onednn, (owned) => this.#build(kind, original, owned));
  }

  #build(kind: ConvKind, original: ConvGeometry, owned: OwnedObjects): CachedConv {
    // A strided 1x1 filter gradient runs at unit stride on the gathered pixels (see the module doc).
    const view = kind === "backwardWeights" ? stridedView(this.#onednn, original) : undefined;
    const reduced = view && reducedGeometry(original);
    const g = reduced ?? original;
    const o = this.#onednn, lib = o.lib, d = this.#descriptors(g);
    let pd: Deno.PointerValue;
    if (kind === "forward") {
      pd = this.#forwardPd(g, owned);
    } else if (kind === "forwardBias" || kind === "forwardBiasRelu") {
      pd = this.#biasPd(g, kind === "forwardBiasRelu", owned);
    } else {
      const forwardPd = this.#forwardPd(g, owned);
      const desc = new Uint8Array(CONVOLUTION_DESC_BYTES);
      const status = kind === "backwardData"
        ? lib.dnnl_dilated_convolution_backward_data_desc_init(
          desc,
          DNNL.convolutionDirect,
          d.data,
          d.anyFilter,
          d.out,
          d.strides,
          d.dilates,
          d.padL,
          d.padR,
        )
        : lib.dnnl_dilated_convolution_backward_weights_desc_init(
          desc,
          DNNL.convolutionDirect,
          d.data,
          d.anyFilter,
          null,
          d.out,
          d.strides,
          d.dilates,
          d.padL,
          d.padR,
        );
      check(status, `convolution_${kind}_desc_init`);
      pd = owned.createPd(desc, null, forwardPd, `primitive_desc_create (${kind})`);
    }
    const filterArg = kind === "backwardWeights" ? DNNL.argDiffWeights : DNNL.argWeights;
    const filterMd = lib.dnnl_primitive_desc_query_md(
      pd,
      kind === "backwardWeights" ? DNNL.queryDiffWeightsMd : DNNL.queryWeightsMd,
      0,
    );
    const [dataArg, outArg] = kind === "forward" || kind === "forwardBias" || kind === "forwardBiasRelu"
      ? [DNNL.argSrc, DNNL.argDst]
      : kind === "backwardData"
      ? [DNNL.argDiffSrc, DNNL.argDiffDst]
      : [DNNL.argSrc, DNNL.argDiffDst];
    const memory = (md: Deno.PointerValue | Uint8Array, handle: Deno.PointerValue) => owned.createMemory(md, handle);
    // The caller's input: the dense NHWC tensor, or for a reduced geometry the strided view of it
    // that a reorder gathers into the dense buffer the primitive reads.
    const userDataMem = memory(view ?? d.data, MEMORY_NONE);
    const dataMem = reduced ? memory(d.data, MEMORY_ALLOCATE) : userDataMem;
    const outMem = memory(d.out, MEMORY_NONE);
    const userFilterMem = memory(d.hwio, MEMORY_NONE);
    const user = new Map<number, Deno.PointerValue>([[dataArg, userDataMem], [outArg, outMem], [
      USER_FILTER,
      userFilterMem,
    ]]);
    const biasArgs: [number, Deno.PointerValue][] = [];
    if (kind === "forwardBias" || kind === "forwardBiasRelu") {
      const biasMem = memory(memoryDesc(o, [g.outChannels], DNNL.tagA), MEMORY_NONE);
      user.set(DNNL.argBias, biasMem);
      biasArgs.push([DNNL.argBias, biasMem]);
    }
    const plainFilter = lib.dnnl_memory_desc_equal(filterMd, Deno.UnsafePointer.of(d.hwio)) === 1;
    const filterMem = plainFilter ? userFilterMem : memory(filterMd, MEMORY_ALLOCATE);
    const steps: Step[] = [];
    const reorder = (
      from: Deno.PointerValue,
      fromMd: Deno.PointerValue,
      to: Deno.PointerValue,
      toMd: Deno.PointerValue,
    ) => {
      const primitive = owned.createPrimitive(owned.createReorderPd(fromMd, toMd));
      steps.push({ primitive, args: execArgs([[DNNL.argSrc, from], [DNNL.argDst, to]]), count: 2 });
    };
    const hwioMd = Deno.UnsafePointer.of(d.hwio);
    if (view) reorder(userDataMem, Deno.UnsafePointer.of(view), dataMem, Deno.UnsafePointer.of(d.data));
    if (!plainFilter && kind !== "backwardWeights") reorder(userFilterMem, hwioMd, filterMem, filterMd);
    const primitive = owned.createPrimitive(pd);
    steps.push({
      primitive,
      args: execArgs([[dataArg, dataMem], [outArg, outMem], [filterArg, filterMem], ...biasArgs]),
      count: 3 + biasArgs.length,
    });
    if (!plainFilter && kind === "backwardWeights") reorder(filterMem, filterMd, userFilterMem, hwioMd);
    return { user, steps, owned, implementation: implementationName(o, pd) };
  }
}

/**
 * For a 1x1 filter with a stride above 1 and no padding or dilation, the same convolution at unit
 * stride on the input's pixels (s r, s c) it reads: an input of the output's height and width. Its
 * filter gradient is the original's. Undefined for any other geometry.
 */
export function reducedGeometry(g: ConvGeometry): ConvGeometry | undefined {
  const oneByOne = g.filterHeight === 1 && g.filterWidth === 1 && g.dilationHeight === 1 && g.dilationWidth === 1;
  const strided = g.strideHeight > 1 || g.strideWidth > 1;
  const unpadded = g.padTop === 0 && g.padBottom === 0 && g.padLeft === 0 && g.padRight === 0;
  if (!(oneByOne && strided && unpadded)) return undefined;
  return { ...g, inHeight: g.outHeight, inWidth: g.outWidth, strideHeight: 1, strideWidth: 1 };
}

/**
 * The pixels a strided 1x1 convolution without padding reads, as a view of its NHWC input: dims
 * (N, C, OH, OW) with strides (H W C, 1, s_h W C, s_w C) elements. Undefined for another geometry, and
 * where oneDNN refuses the view: it takes a layout only if each stride, in increasing order, is at
 * least the one before times its dim, which an odd height (OH s_h = H + 1) breaks for N > 1.
 */
function stridedView(o: Onednn, g: ConvGeometry): Uint8Array<ArrayBuffer> | undefined {
  if (reducedGeometry(g) === undefined) return undefined;
  const c = g.inChannels;
  const shape = [g.batch, c, g.outHeight, g.outWidth];
  const strides = [g.inHeight * g.inWidth * c, 1, g.strideHeight * g.inWidth * c, g.strideWidth * c];
  try {
    return stridedMemoryDesc(o, shape, strides);
  } catch {
    return undefined;
  }
}

/** oneDNN's logical filter dims: (O, I, KH, KW). */
function filterDims(g: ConvGeometry): number[] {
  return [g.outChannels, g.inChannels, g.filterHeight, g.filterWidth];
}

function geometryKey(g: ConvGeometry): string {
  return [
    g.batch,
    g.inHeight,
    g.inWidth,
    g.inChannels,
    g.outChannels,
    g.filterHeight,
    g.filterWidth,
    g.strideHeight,
    g.strideWidth,
    g.dilationHeight,
    g.dilationWidth,
    g.padTop,
    g.padBottom,
    g.padLeft,
    g.padRight,
    g.outHeight,
    g.outWidth,
  ].join(",");
}
