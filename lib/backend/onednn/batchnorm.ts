/**
 * Training-mode batch normalization as oneDNN primitives on NHWC float32 tensors given by raw
 * pointers, cached by shape: the forward pass computes the batch's per-channel mean and (biased)
 * variance and normalises in one primitive, and the backward pass gives the gradients of the input,
 * the scale and the shift in another, where TensorFlow.js would run a dozen elementwise kernels, each a
 * pass over the activation.
 *
 * @module
 */
import { check, DNNL, type Onednn } from "./ffi.ts";
import { execArgs, MEMORY_NONE, memoryDesc } from "./memory.ts";
import { buildOwned, type OwnedObjects, PrimitiveCache } from "./owned.ts";

/** Bytes of `dnnl_batch_normalization_desc_t` in oneDNN 2.6. */
const BATCH_NORMALIZATION_DESC_BYTES = 3496;
/** `dnnl_normalization_flags_t`: use_scale, use_shift. */
const USE_SCALE = 0x8, USE_SHIFT = 0x10;
/** `dnnl_backward`: the gradients of the data and of the scale and shift. */
const PROP_BACKWARD = 128;
/** Argument ids (`DNNL_ARG_*`). */
const ARG = {
  src: 1,
  dst: 17,
  mean: 49,
  variance: 50,
  scale: 51,
  shift: 52,
  diffSrc: 129,
  diffDst: 145,
  diffScale: 255,
  diffShift: 256,
} as const;

/** The tensors of a forward pass: x, gamma, beta in; y, mean, variance out. */
export interface BatchNormForwardPointers {
  x: Deno.PointerValue;
  scale: Deno.PointerValue;
  shift: Deno.PointerValue;
  y: Deno.PointerValue;
  mean: Deno.PointerValue;
  variance: Deno.PointerValue;
}

/** The tensors of a backward pass: dy, x, gamma, beta, mean, variance in; dx, dgamma, dbeta out. */
export interface BatchNormBackwardPointers {
  dy: Deno.PointerValue;
  x: Deno.PointerValue;
  scale: Deno.PointerValue;
  shift: Deno.PointerValue;
  mean: Deno.PointerValue;
  variance: Deno.PointerValue;
  dx: Deno.PointerValue;
  dscale: Deno.PointerValue;
  dshift: Deno.PointerValue;
}

interface Cached {
  /** Memory objects by the pointer name that fills them. */
  memories: [string, Deno.PointerValue][];
  primitive: Deno.PointerValue;
  args: Uint8Array<ArrayBuffer>;
  /** Every oneDNN object of the entry (a backward one's forward hint included), freed on eviction. */
  owned: OwnedObjects;
}

/** Batch normalization primitives `BatchNormPrimitives` keeps by default: both directions of many shapes. */
export const BATCH_NORM_CACHE_CAPACITY = 128;

/**
 * Caches batch normalization primitives by direction, NHWC shape and epsilon, at most `capacity` of
 * them (the least recently used is evicted, and its oneDNN objects destroyed).
 */
export class BatchNormPrimitives {
  readonly #onednn: Onednn;
  readonly #entries: PrimitiveCache<Cached>;

  /**
   * @param onednn The opened library.
   * @param capacity The most primitives kept (`BATCH_NORM_CACHE_CAPACITY` by default).
   */
  constructor(onednn: Onednn, capacity = BATCH_NORM_CACHE_CAPACITY) {
    this.#onednn = onednn;
    this.#entries = new PrimitiveCache(capacity, (entry) => entry.owned.destroy());
  }

  /** Entries cached now. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Forward, training: mean_c = avg x, var_c = avg (x - mean_c)^2 over n, h, w, and
   * y = scale_c (x - mean_c) / sqrt(var_c + epsilon) + shift_c.
   */
  forward(shape: readonly number[], epsilon: number, p: BatchNormForwardPointers): void {
    this.#run("forward", shape, epsilon, p as unknown as Record<string, Deno.PointerValue>);
  }

  /** Backward: dx, dscale = sum dy * xhat, dshift = sum dy, with the batch statistics' own gradient. */
  backward(shape: readonly number[], epsilon: number, p: BatchNormBackwardPointers): void {
    this.#run("backward", shape, epsilon, p as unknown as Record<string, Deno.PointerValue>);
  }

  #run(kind: "forward" | "backward", shape: readonly number[], epsilon: number, p: Record<string, Deno.PointerValue>) {
    if (shape.length !== 4) throw new Error(`batch normalization takes NHWC tensors: got shape [${shape}]`);
    const key = `${kind}:${shape.join(",")}:${epsilon}`;
    const entry = this.#entries.get(key, () => this.#create(kind, shape, epsilon));
    const lib = this.#onednn.lib;
    for (const [name, memory] of entry.memories) {
      check(lib.dnnl_memory_set_data_handle(memory, p[name]), "memory_set_data_handle");
    }
    check(lib.dnnl_primitive_execute(entry.primitive, this.#onednn.stream, entry.memories.length, entry.args), kind);
    check(lib.dnnl_stream_wait(this.#onednn.stream), "stream_wait");
  }

  #descriptors(shape: readonly number[]) {
    const [n, h, w, c] = shape;
    return {
      data: memoryDesc(this.#onednn, [n, c, h, w], DNNL.tagAcdb),
      channel: memoryDesc(this.#onednn, [c], DNNL.tagA),
    };
  }

  /** The forward-training primitive descriptor (a backward one's hint), owned by `owned`. */
  #forwardPd(shape: readonly number[], epsilon: number, owned: OwnedObjects): Deno.PointerValue {
    const o = this.#onednn, d = this.#descriptors(shape);
    const desc = new Uint8Array(BATCH_NORMALIZATION_DESC_BYTES);
    check(
      o.lib.dnnl_batch_normalization_forward_desc_init(
        desc,
        DNNL.forwardTraining,
        d.data,
        epsilon,
        USE_SCALE | USE_SHIFT,
      ),
      `batch_normalization_forward_desc_init ([${shape}])`,
    );
    return owned.createPd(desc, null, null, "primitive_desc_create (bnorm)");
  }

  /** Builds an entry; if oneDNN fails halfway, what it built is destroyed. */
  #create(kind: "forward" | "backward", shape: readonly number[], epsilon: number): Cached {
    return buildOwned(this.#onednn, (owned) => this.#build(kind, shape, epsilon, owned));
  }

  #build(kind: "forward" | "backward", shape: readonly number[], epsilon: number, owned: OwnedObjects): Cached {
    const lib = this.#onednn.lib, d = this.#descriptors(shape);
    const forwardPd = this.#forwardPd(shape, epsilon, owned);
    let pd = forwardPd;
    if (kind === "backward") {
      const desc = new Uint8Array(BATCH_NORMALIZATION_DESC_BYTES);
      check(
        lib.dnnl_batch_normalization_backward_desc_init(
          desc,
          PROP_BACKWARD,
          d.data,
          d.data,
          epsilon,
          USE_SCALE | USE_SHIFT,
        ),
        `batch_normalization_backward_desc_init ([${shape}])`,
      );
      pd = owned.createPd(desc, null, forwardPd, "primitive_desc_create (bnorm backward)");
    }
    const plan: [string, number, Uint8Array<ArrayBuffer>][] = kind === "forward"
      ? [
        ["x", ARG.src, d.data],
        ["y", ARG.dst, d.data],
        ["mean", ARG.mean, d.channel],
        ["variance", ARG.variance, d.channel],
        ["scale", ARG.scale, d.channel],
        ["shift", ARG.shift, d.channel],
      ]
      : [
        ["x", ARG.src, d.data],
        ["dy", ARG.diffDst, d.data],
        ["mean", ARG.mean, d.channel],
        ["variance", ARG.variance, d.channel],
        ["scale", ARG.scale, d.channel],
        // oneDNN 2.6 wants the shift among a backward pass's arguments too (it does not change the result).
        ["shift", ARG.shift, d.channel],
        ["dx", ARG.diffSrc, d.data],
        ["dscale", ARG.diffScale, d.channel],
        ["dshift", ARG.diffShift, d.channel],
      ];
    const memories: [string, Deno.PointerValue][] = plan.map((
      [name, , md],
    ) => [name, owned.createMemory(md, MEMORY_NONE)]);
    const primitive = owned.createPrimitive(pd);
    const args = execArgs(plan.map(([, arg], i) => [arg, memories[i][1]]));
    return { memories, primitive, args, owned };
  }

  /** Frees every cached primitive. */
  clear(): void {
    this.#entries.clear();
  }
}
