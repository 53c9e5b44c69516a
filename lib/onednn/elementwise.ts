/**
 * Elementwise primitives of oneDNN on plain (row-major) float32 tensors given by raw
 * pointers, cached by operation and shapes: binary add, sub, mul, div with the second operand
 * broadcast (numpy rules, same rank), and ReLU. They run on oneDNN's threads, where the wasm
 * backend's kernels run on one.
 *
 * @module
 */
import { check, createMemory, createPrimitive, execArgs, MEMORY_NONE, memoryDesc, type Onednn } from "./ffi.ts";
import { outPointer } from "./ffi.ts";

/** Bytes of `dnnl_binary_desc_t` and `dnnl_eltwise_desc_t` in oneDNN 2.6. */
const BINARY_DESC_BYTES = 2096, ELTWISE_DESC_BYTES = 1416;

/** `dnnl_alg_kind_t` values of oneDNN 2.6. */
export const ALGORITHMS = {
  add: 0x1fff0,
  mul: 0x1fff1,
  div: 0x1fff4,
  sub: 0x1fff5,
  relu: 0x1f,
} as const;

/** An operation these primitives compute. */
export type ElementwiseOp = keyof typeof ALGORITHMS;

/** Plain layouts by rank: a, ab, abc, abcd, abcde. */
const PLAIN_TAGS = [0, 2, 3, 4, 5, 7];
/** Highest rank these primitives take. */
export const MAX_RANK = 5;

const ARG_SRC_0 = 1, ARG_SRC_1 = 2, ARG_DST = 17, PROP_FORWARD_INFERENCE = 96;

interface Cached {
  memories: Deno.PointerValue[];
  primitive: Deno.PointerValue;
  pd: Deno.PointerValue;
  args: Uint8Array<ArrayBuffer>;
}

/** Caches elementwise primitives (least recently used evicted past `capacity`). */
export class ElementwisePrimitives {
  readonly #onednn: Onednn;
  readonly #capacity: number;
  readonly #entries = new Map<string, Cached>();

  constructor(onednn: Onednn, capacity = 512) {
    this.#onednn = onednn;
    this.#capacity = capacity;
  }

  /**
   * Runs `op` on float32 data at the given pointers.
   *
   * - add, sub, mul, div: `out = a op b`; `a` and `out` have `shape`, `b` has `otherShape` (same rank,
   *   each dim equal or 1);
   * - relu: `out = max(a, 0)`, all of `shape`.
   */
  run(
    op: ElementwiseOp,
    shape: readonly number[],
    otherShape: readonly number[] | undefined,
    pointers: { a: Deno.PointerValue; b?: Deno.PointerValue; out: Deno.PointerValue },
  ): void {
    const key = `${op}:${shape.join(",")}:${otherShape?.join(",") ?? ""}`;
    let entry = this.#entries.get(key);
    if (entry === undefined) {
      entry = this.#create(op, shape, otherShape);
      this.#entries.set(key, entry);
      while (this.#entries.size > this.#capacity) {
        const [oldest, evicted] = this.#entries.entries().next().value!;
        this.#entries.delete(oldest);
        this.#free(evicted);
      }
    } else {
      this.#entries.delete(key);
      this.#entries.set(key, entry);
    }
    const lib = this.#onednn.lib;
    const handles = entry.memories.length === 3 ? [pointers.a, pointers.b!, pointers.out] : [pointers.a, pointers.out];
    entry.memories.forEach((m, i) => check(lib.dnnl_memory_set_data_handle(m, handles[i]), "memory_set_data_handle"));
    check(lib.dnnl_primitive_execute(entry.primitive, this.#onednn.stream, entry.memories.length, entry.args), op);
    check(lib.dnnl_stream_wait(this.#onednn.stream), "stream_wait");
  }

  #free(entry: Cached): void {
    const lib = this.#onednn.lib;
    lib.dnnl_primitive_destroy(entry.primitive);
    for (const m of entry.memories) lib.dnnl_memory_destroy(m);
    lib.dnnl_primitive_desc_destroy(entry.pd);
  }

  #create(op: ElementwiseOp, shape: readonly number[], otherShape: readonly number[] | undefined): Cached {
    const o = this.#onednn, lib = o.lib;
    if (shape.length < 1 || shape.length > MAX_RANK) throw new Error(`rank ${shape.length} is not 1..${MAX_RANK}`);
    const tag = PLAIN_TAGS[shape.length];
    const mdA = memoryDesc(o, shape, tag);
    let desc: Uint8Array<ArrayBuffer>;
    let mds: [number, Uint8Array<ArrayBuffer>][];
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
    const pd = outPointer();
    check(lib.dnnl_primitive_desc_create(pd.buffer, desc, null, o.engine, null), `primitive_desc_create (${op})`);
    const memories = mds.map(([, md]) => createMemory(o, md, MEMORY_NONE));
    const primitive = createPrimitive(o, pd.get());
    const args = execArgs(mds.map(([arg], i) => [arg, memories[i]]));
    return { memories, primitive, pd: pd.get(), args };
  }

  /** Frees every cached primitive. */
  clear(): void {
    for (const entry of this.#entries.values()) this.#free(entry);
    this.#entries.clear();
  }
}
