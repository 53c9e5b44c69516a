/**
 * Elementwise primitives of oneDNN on plain (row-major) float32 tensors given by raw
 * pointers, cached by operation and shapes: binary add, sub, mul, div with the second operand
 * broadcast (numpy rules, same rank), and ReLU. They run on oneDNN's threads, where the wasm
 * backend's kernels run on one.
 *
 * @module
 */
import { check, type Onednn } from "./ffi.ts";
import { execArgs, MEMORY_ALLOCATE, MEMORY_NONE, memoryDesc } from "./memory.ts";
import { buildOwned, type OwnedObjects, PrimitiveCache } from "./owned.ts";

/** Bytes of `dnnl_binary_desc_t`, `dnnl_eltwise_desc_t` and `dnnl_matmul_desc_t` in oneDNN 2.6. */
const BINARY_DESC_BYTES = 2096, ELTWISE_DESC_BYTES = 1416, MATMUL_DESC_BYTES = 2800;

/** `dnnl_alg_kind_t` values of oneDNN 2.6. */
export const ALGORITHMS = {
  add: 0x1fff0,
  mul: 0x1fff1,
  div: 0x1fff4,
  sub: 0x1fff5,
  relu: 0x1f,
  /** ReLU whose gradient reads its output: dx = dy where y > 0, else 0. */
  reluGrad: 0x100,
} as const;

/** An operation these primitives compute: `colsum` and `colmean` reduce the rows of an [M, N] matrix. */
export type ElementwiseOp = keyof typeof ALGORITHMS | "colsum" | "colmean";

/** Plain layouts by rank: a, ab, abc, abcd, abcde. */
const PLAIN_TAGS = [0, 2, 3, 4, 5, 7];
/** Highest rank these primitives take. */
export const MAX_RANK = 5;

const ARG_SRC_0 = 1, ARG_SRC_1 = 2, ARG_WEIGHTS = 33, ARG_DST = 17, PROP_FORWARD_INFERENCE = 96;
const ARG_DIFF_SRC = 129, ARG_DIFF_DST = 145, PROP_FORWARD_TRAINING = 64;

interface Cached {
  /** The memory objects whose data handles the caller's pointers fill: a, b (binary only), out. */
  memories: Deno.PointerValue[];
  count: number;
  primitive: Deno.PointerValue;
  args: Uint8Array<ArrayBuffer>;
  /**
   * Every oneDNN object of the entry, freed on eviction: with the primitive and its memory objects, the
   * memory oneDNN allocated for the primitive itself (the row of weights of a column sum) and the
   * forward primitive descriptor a backward one was created with as its hint.
   */
  owned: OwnedObjects;
}

/** Elementwise primitives `ElementwisePrimitives` keeps by default: every large tensor shape of a few batch sizes. */
export const ELEMENTWISE_CACHE_CAPACITY = 512;

/**
 * Caches elementwise primitives by operation and shapes, at most `capacity` of them (the least
 * recently used is evicted, and its oneDNN objects destroyed).
 */
export class ElementwisePrimitives {
  readonly #onednn: Onednn;
  readonly #entries: PrimitiveCache<Cached>;

  /**
   * @param onednn The opened library.
   * @param capacity The most primitives kept (`ELEMENTWISE_CACHE_CAPACITY` by default).
   */
  constructor(onednn: Onednn, capacity = ELEMENTWISE_CACHE_CAPACITY) {
    this.#onednn = onednn;
    this.#entries = new PrimitiveCache(capacity, (entry) => entry.owned.destroy());
  }

  /** Entries cached now. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Runs `op` on float32 data at the given pointers.
   *
   * - add, sub, mul, div: `out = a op b`; `a` and `out` have `shape`, `b` has `otherShape` (same rank,
   *   each dim equal or 1);
   * - relu: `out = max(a, 0)`, all of `shape`;
   * - reluGrad: `out = a` where `b` > 0, else 0 (`a` = dL/dy, `b` = y = relu(x)), all of `shape`;
   * - colsum, colmean: `a` is an [M, N] matrix (`shape`), `out[n]` = sum (or mean) over m of `a[m, n]`,
   *   as the matrix product of a row of ones (or 1/M) with `a`.
   */
  run(
    op: ElementwiseOp,
    shape: readonly number[],
    otherShape: readonly number[] | undefined,
    pointers: { a: Deno.PointerValue; b?: Deno.PointerValue; out: Deno.PointerValue },
  ): void {
    const key = `${op}:${shape.join(",")}:${otherShape?.join(",") ?? ""}`;
    const entry = this.#entries.get(key, () => this.#create(op, shape, otherShape));
    const lib = this.#onednn.lib;
    const handles = entry.memories.length === 3 ? [pointers.a, pointers.b!, pointers.out] : [pointers.a, pointers.out];
    entry.memories.forEach((m, i) => check(lib.dnnl_memory_set_data_handle(m, handles[i]), "memory_set_data_handle"));
    check(lib.dnnl_primitive_execute(entry.primitive, this.#onednn.stream, entry.count, entry.args), op);
    check(lib.dnnl_stream_wait(this.#onednn.stream), "stream_wait");
  }

  /** Builds an entry; if oneDNN fails halfway, what it built is destroyed. */
  #create(op: ElementwiseOp, shape: readonly number[], otherShape: readonly number[] | undefined): Cached {
    if (shape.length < 1 || shape.length > MAX_RANK) throw new Error(`rank ${shape.length} is not 1..${MAX_RANK}`);
    return buildOwned(this.#onednn, (owned) => this.#build(op, shape, otherShape, owned));
  }

  #build(
    op: ElementwiseOp,
    shape: readonly number[],
    otherShape: readonly number[] | undefined,
    owned: OwnedObjects,
  ): Cached {
    const o = this.#onednn, lib = o.lib;
    const tag = PLAIN_TAGS[shape.length];
    const mdA = memoryDesc(o, shape, tag);
    let desc: Uint8Array<ArrayBuffer>;
    let mds: [number, Uint8Array<ArrayBuffer>][];
    if (op === "colsum" || op === "colmean") return this.#columnReduction(shape, op === "colmean", owned);
    if (op === "reluGrad") return this.#reluGrad(mdA, owned);
    if (op === "relu") {
      desc = new Uint8Array(ELTWISE_DESC_BYTES);
      check(lib.dnnl_eltwise_forward_desc_init(desc, PROP_FORWARD_INFERENCE, ALGORITHMS.relu, mdA, 0, 0), "eltwise");
      mds = [[ARG_SRC_0, mdA], [ARG_DST, mdA]];
    } else {
      const mdB = memoryDesc(o, otherShape!, tag);
      desc = new Uint8Array(BINARY_DESC_BYTES);
      check(lib.dnnl_binary_desc_init(desc, ALGORITHMS[op], mdA, mdB, mdA), "binary_desc_init");
      mds = [[ARG_SRC_0, mdA], [ARG_SRC_1, mdB], [ARG_DST, mdA]];
    }
    const pd = owned.createPd(desc, null, null, `primitive_desc_create (${op})`);
    const memories = mds.map(([, md]) => owned.createMemory(md, MEMORY_NONE));
    const primitive = owned.createPrimitive(pd);
    const args = execArgs(mds.map(([arg], i) => [arg, memories[i]]));
    return { memories, count: memories.length, primitive, args, owned };
  }

  /** ReLU's backward pass from its output: one pass where `dy * step(y)` is two (wasm's Step, then a product). */
  #reluGrad(md: Uint8Array<ArrayBuffer>, owned: OwnedObjects): Cached {
    const lib = this.#onednn.lib;
    const forward = new Uint8Array(ELTWISE_DESC_BYTES);
    check(lib.dnnl_eltwise_forward_desc_init(forward, PROP_FORWARD_TRAINING, ALGORITHMS.reluGrad, md, 0, 0), "eltwise");
    const hint = owned.createPd(forward, null, null, "primitive_desc_create (relu)");
    const desc = new Uint8Array(ELTWISE_DESC_BYTES);
    check(lib.dnnl_eltwise_backward_desc_init(desc, ALGORITHMS.reluGrad, md, md, 0, 0), "eltwise_backward_desc_init");
    const pd = owned.createPd(desc, null, hint, "primitive_desc_create (relu bwd)");
    const memories = [
      owned.createMemory(md, MEMORY_NONE),
      owned.createMemory(md, MEMORY_NONE),
      owned.createMemory(md, MEMORY_NONE),
    ];
    const primitive = owned.createPrimitive(pd);
    const args = execArgs([[ARG_DIFF_DST, memories[0]], [ARG_DST, memories[1]], [ARG_DIFF_SRC, memories[2]]]);
    return { memories, count: 3, primitive, args, owned };
  }

  /** out[1, N] = w[1, M] a[M, N] with w all 1 (sum) or all 1/M (mean): a gemv on every thread. */
  #columnReduction(shape: readonly number[], mean: boolean, owned: OwnedObjects): Cached {
    const o = this.#onednn, lib = o.lib;
    if (shape.length !== 2) throw new Error(`a column reduction takes an [M, N] matrix: got [${shape}]`);
    const [m, n] = shape;
    const mdRow = memoryDesc(o, [1, m], PLAIN_TAGS[2]), mdA = memoryDesc(o, [m, n], PLAIN_TAGS[2]);
    const mdOut = memoryDesc(o, [1, n], PLAIN_TAGS[2]);
    const desc = new Uint8Array(MATMUL_DESC_BYTES);
    check(lib.dnnl_matmul_desc_init(desc, mdRow, mdA, null, mdOut), "matmul_desc_init");
    const pd = owned.createPd(desc, null, null, "primitive_desc_create (matmul)");
    const row = owned.createMemory(mdRow, MEMORY_ALLOCATE);
    const handle = new BigUint64Array(1);
    check(lib.dnnl_memory_get_data_handle(row, handle), "memory_get_data_handle");
    const rowPointer = Deno.UnsafePointer.create(handle[0]);
    if (rowPointer === null) throw new Error("oneDNN allocated no memory for the row of weights");
    new Float32Array(Deno.UnsafePointerView.getArrayBuffer(rowPointer, 4 * m)).fill(mean ? 1 / m : 1);
    const a = owned.createMemory(mdA, MEMORY_NONE), out = owned.createMemory(mdOut, MEMORY_NONE);
    const primitive = owned.createPrimitive(pd);
    const args = execArgs([[ARG_SRC_0, row], [ARG_WEIGHTS, a], [ARG_DST, out]]);
    return { memories: [a, out], count: 3, primitive, args, owned };
  }

  /** Frees every cached primitive. */
  clear(): void {
    this.#entries.clear();
  }
}
