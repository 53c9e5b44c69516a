/**
 * oneDNN memory and primitives: float32 memory descriptors (dense by layout tag, or strided), memory
 * objects on the engine, primitives from their descriptors, and the argument lists that execute them.
 *
 * @module
 */
import { check, dims, DNNL, MEMORY_DESC_BYTES, type Onednn, outPointer } from "./ffi.ts";

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
