/**
 * The wasm heap as the oneDNN kernels see it: the parts of tfjs-backend-wasm's backend they use, a
 * tensor's data as a pointer into the heap, and new outputs that a oneDNN call fills (freed again if it
 * throws).
 *
 * @module
 */
import type { tf } from "../../tfjs.ts";

/** A tensor as a kernel receives it. */
export type TensorInfo = tf.TensorInfo;
/** What TensorFlow.js passes a kernel function. */
export type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap };

/** The parts of tfjs-backend-wasm's `BackendWasm` these kernels use. */
export interface WasmBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
}

/** Where a tensor's float32 data starts, as a pointer into the wasm heap. */
export function pointerOf(backend: WasmBackend, base: Deno.PointerValue, t: TensorInfo): Deno.PointerValue {
  return Deno.UnsafePointer.offset(base as Deno.PointerObject, backend.dataIdMap.get(t.dataId).memoryOffset);
}

/** New float32 outputs of `shapes` that `fill` writes (given the heap's base pointer); all freed again if it throws. */
export function newOutputs(
  args: KernelArgs,
  backend: WasmBackend,
  shapes: number[][],
  fill: (base: Deno.PointerValue, outs: TensorInfo[]) => void,
): TensorInfo[] {
  const outs = shapes.map((shape) => backend.makeOutput(shape, "float32"));
  try {
    fill(Deno.UnsafePointer.of(backend.wasm.HEAPU8), outs);
  } catch (e) {
    for (const out of outs) args.backend.disposeData(out.dataId);
    throw e;
  }
  return outs;
}

/** A new float32 output of `shape` that `fill` writes (given the heap's base pointer); freed again if it throws. */
export function newOutput(
  args: KernelArgs,
  backend: WasmBackend,
  shape: number[],
  fill: (out: TensorInfo, base: Deno.PointerValue) => void,
): TensorInfo {
  return newOutputs(args, backend, [shape], (base, [out]) => fill(out, base))[0];
}
