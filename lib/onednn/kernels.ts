/**
 * TensorFlow.js kernels for the wasm backend that run convolutions in oneDNN (`conv.ts`), reading and
 * writing the tensors where they live, in the wasm heap: oneDNN is handed a pointer to the heap's
 * first byte plus each tensor's offset, so nothing is copied.
 *
 * Each kernel falls back to the XNNPACK kernel it replaces for what it does not cover (NCHW, empty
 * tensors, a geometry oneDNN refuses), so registering them never changes what runs, only how fast.
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import { ConvPrimitives } from "./conv.ts";
import type { ConvGeometry } from "./conv.ts";
import type { Onednn } from "./ffi.ts";

type TensorInfo = tf.TensorInfo;
type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap };

/** The parts of tfjs-backend-wasm's `BackendWasm` these kernels use. */
interface WasmBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
}

/** Where a tensor's float32 data starts, as a pointer into the wasm heap. */
function pointerOf(backend: WasmBackend, base: Deno.PointerValue, t: TensorInfo): Deno.PointerValue {
  return Deno.UnsafePointer.offset(base as Deno.PointerObject, backend.dataIdMap.get(t.dataId).memoryOffset);
}

function geometry(info: tf.backend_util.Conv2DInfo): ConvGeometry {
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outChannels: info.outChannels,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    dilationHeight: info.dilationHeight,
    dilationWidth: info.dilationWidth,
    padTop: info.padInfo.top,
    padBottom: info.padInfo.bottom,
    padLeft: info.padInfo.left,
    padRight: info.padInfo.right,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
  };
}

/** What ran, counted per kernel: oneDNN calls, fallbacks, and the implementations oneDNN chose. */
export interface OnednnKernelStats {
  calls: Record<string, number>;
  fallbacks: Record<string, number>;
  /** The last reason a kernel fell back, per kernel. */
  lastFallback: Record<string, string>;
  implementations: Record<string, string>;
}

/**
 * Kernel configs for Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter on "wasm" that call oneDNN.
 *
 * @param onednn The opened library.
 * @param fallback The kernels they replace, by name (called for what oneDNN does not cover).
 * @returns The configs, and live counters of what ran.
 */
export function onednnKernels(
  onednn: Onednn,
  fallback: Record<string, tf.KernelConfig>,
): { configs: tf.KernelConfig[]; stats: OnednnKernelStats; primitives: ConvPrimitives } {
  const primitives = new ConvPrimitives(onednn);
  const stats: OnednnKernelStats = { calls: {}, fallbacks: {}, lastFallback: {}, implementations: {} };

  const wrap = (
    kernelName: string,
    body: (args: KernelArgs, backend: WasmBackend) => TensorInfo | undefined,
  ): tf.KernelConfig => {
    const original = fallback[kernelName];
    if (original === undefined) throw new Error(`Cannot add oneDNN's ${kernelName}: no wasm kernel to fall back to`);
    return {
      kernelName,
      backendName: "wasm",
      setupFunc: original.setupFunc,
      kernelFunc: ((args: KernelArgs) => {
        let out: TensorInfo | undefined;
        try {
          out = body(args, args.backend as unknown as WasmBackend);
        } catch (e) {
          stats.lastFallback[kernelName] = String((e as Error).message ?? e);
        }
        if (out !== undefined) {
          stats.calls[kernelName] = (stats.calls[kernelName] ?? 0) + 1;
          return out;
        }
        stats.fallbacks[kernelName] = (stats.fallbacks[kernelName] ?? 0) + 1;
        return original.kernelFunc(args as Parameters<tf.KernelFunc>[0]);
      }) as tf.KernelFunc,
    };
  };

  /** Runs one primitive with the wasm heap's base pointer; `out` must be allocated by then. */
  const run = (
    kernelName: string,
    kind: Parameters<ConvPrimitives["run"]>[0],
    info: tf.backend_util.Conv2DInfo,
    backend: WasmBackend,
    tensors: { input: TensorInfo; filter: TensorInfo; output: TensorInfo },
  ) => {
    const base = Deno.UnsafePointer.of(backend.wasm.HEAPU8);
    const implementation = primitives.run(kind, geometry(info), {
      input: pointerOf(backend, base, tensors.input),
      filter: pointerOf(backend, base, tensors.filter),
      output: pointerOf(backend, base, tensors.output),
    });
    stats.implementations[kernelName] = implementation;
  };

  const covered = (shapes: number[][], dataFormat: string | undefined, dtypes: tf.DataType[]) =>
    dataFormat !== "NCHW" && shapes.every((s) => s.every((d) => d > 0)) && dtypes.every((d) => d === "float32");

  const conv2d = wrap(tf.Conv2D, (args, backend) => {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    const a = args.attrs as unknown as tf.Conv2DAttrs;
    if (!covered([x.shape, filter.shape], a.dataFormat, [x.dtype, filter.dtype])) return undefined;
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      a.strides,
      a.dilations,
      a.pad,
      a.dimRoundingMode,
      false,
      "channelsLast",
    );
    const out = backend.makeOutput(info.outShape, "float32");
    try {
      run(tf.Conv2D, "forward", info, backend, { input: x, filter, output: out });
    } catch (e) {
      args.backend.disposeData(out.dataId);
      throw e;
    }
    return out;
  });

  const backpropInput = wrap(tf.Conv2DBackpropInput, (args, backend) => {
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const a = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
    if (!covered([dy.shape, filter.shape, a.inputShape], a.dataFormat, [dy.dtype, filter.dtype])) return undefined;
    const info = tf.backend_util.computeConv2DInfo(
      a.inputShape,
      filter.shape as [number, number, number, number],
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
      false,
      "channelsLast",
    );
    const out = backend.makeOutput([...a.inputShape], "float32");
    try {
      run(tf.Conv2DBackpropInput, "backwardData", info, backend, { input: out, filter, output: dy });
    } catch (e) {
      args.backend.disposeData(out.dataId);
      throw e;
    }
    return out;
  });

  const backpropFilter = wrap(tf.Conv2DBackpropFilter, (args, backend) => {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const a = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    if (!covered([x.shape, dy.shape, a.filterShape], a.dataFormat, [x.dtype, dy.dtype])) return undefined;
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      a.filterShape,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
      false,
      "channelsLast",
    );
    const out = backend.makeOutput([...a.filterShape], "float32");
    try {
      run(tf.Conv2DBackpropFilter, "backwardWeights", info, backend, { input: x, filter: out, output: dy });
    } catch (e) {
      args.backend.disposeData(out.dataId);
      throw e;
    }
    return out;
  });

  return { configs: [conv2d, backpropInput, backpropFilter], stats, primitives };
}
