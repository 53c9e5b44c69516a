/**
 * TensorFlow.js kernels for the wasm backend that run in oneDNN (convolutions: `conv.ts`; training-mode
 * batch normalization: `batchnorm.ts`; elementwise ops and reductions: `elementwise.ts`), reading and
 * writing the tensors where they live, in the wasm heap (`heap.ts`): oneDNN is handed a pointer to the
 * heap's first byte plus each tensor's offset, so nothing is copied.
 *
 * Each kernel that replaces a wasm kernel falls back to it for what it does not cover (NCHW, empty
 * tensors, a geometry oneDNN refuses; `fallback.ts`), so registering them never changes what runs,
 * only how fast.
 * The kernels only oneDNN has (`ONEDNN_ONLY_KERNEL_NAMES`) are used by callers that check for them
 * and otherwise compute the same with TensorFlow.js ops (`lib/ops/batch_norm.ts`, `relu_grad.ts`).
 *
 * @module
 */
import { tf } from "../../tfjs.ts";
import { ConvPrimitives } from "./conv.ts";
import { ElementwisePrimitives, MAX_RANK } from "./elementwise.ts";
import { BatchNormPrimitives } from "./batchnorm.ts";
import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD } from "../../ops/batch_norm.ts";
import { RELU_GRAD } from "../../ops/relu_grad.ts";
import type { ConvGeometry } from "./conv.ts";
import type { Onednn } from "./ffi.ts";
import { type KernelArgs, newOutput, newOutputs, pointerOf, type TensorInfo, type WasmBackend } from "./heap.ts";
import { kernelWrappers, type OnednnKernelStats } from "./fallback.ts";

type Shape4 = [number, number, number, number];

/** TensorFlow.js's geometry of an NHWC convolution of input `x` with an HWIO filter. */
function nhwcInfo(
  x: number[],
  filter: number[],
  a: { strides: number | [number, number]; pad: tf.Conv2DAttrs["pad"]; dimRoundingMode?: "floor" | "round" | "ceil" },
  dilations: number | [number, number] = 1,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    x as Shape4,
    filter as Shape4,
    a.strides,
    dilations,
    a.pad,
    a.dimRoundingMode,
    false,
    "channelsLast",
  );
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
/**
 * Below this many output elements an elementwise kernel stays in wasm: the call into oneDNN and its
 * threads' wake-up cost more than they save (a per-channel vector, a batch of logits).
 */
const MIN_ELEMENTS = 1 << 14;

/** The kernels `onednnKernels` replaces; each falls back to the wasm kernel of the same name. */
export const ONEDNN_KERNEL_NAMES = [
  tf.Conv2D,
  tf.FusedConv2D,
  tf.Conv2DBackpropInput,
  tf.Conv2DBackpropFilter,
  tf.Add,
  tf.Sub,
  tf.Multiply,
  tf.RealDiv,
  tf.Relu,
  tf.Sum,
  tf.Mean,
] as const;

/**
 * Kernels only oneDNN provides (no wasm kernel of the name): registered with the others, and
 * unregistered when the plain wasm backend is chosen, so that their callers take their other path.
 */
export const ONEDNN_ONLY_KERNEL_NAMES = [BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD, RELU_GRAD] as const;

/**
 * Kernel configs on "wasm" that call oneDNN: the convolutions (FusedConv2D with a bias and optionally
 * ReLU as a post-op), training-mode batch normalization and its gradient, ReLU's gradient from its
 * output, and for large float32 tensors
 * Add, Sub, Multiply, RealDiv (second operand broadcast) and Relu, which then run on every core, and
 * Sum and Mean over leading axes (BatchNorm's per-channel statistics of an NHWC activation, and the
 * gradients of every per-channel scale and shift), as a row of ones times the [M, N] matrix the
 * tensor is: wasm's kernels transpose the reduced axes to the end first, and oneDNN 2.6's reduction
 * primitive was slower still on these shapes (bench/README.md).
 *
 * A call that oneDNN refuses (an error creating or running its primitive) runs the wasm kernel, is
 * remembered (`REFUSED_CALLS_LIMIT`) so that the same call goes straight to the wasm kernel next time
 * without asking oneDNN again, and the first refusal of each kernel prints one warning line
 * (`console.warn`) naming the kernel and the reason; later ones are counted in the stats only. Calls
 * these kernels do not cover by design (small tensors, NCHW) fall back silently.
 *
 * @param onednn The opened library.
 * @param fallback The kernels they replace, by name (called for what oneDNN does not cover).
 * @returns The configs, and live counters of what ran.
 */
export function onednnKernels(
  onednn: Onednn,
  fallback: Record<string, tf.KernelConfig>,
): { configs: tf.KernelConfig[]; stats: OnednnKernelStats } {
  const primitives = new ConvPrimitives(onednn);
  const elementwise = new ElementwisePrimitives(onednn);
  const batchNorm = new BatchNormPrimitives(onednn);
  const { stats, wrap, only } = kernelWrappers(fallback);

  /** Runs one primitive on tensors in the wasm heap (`base`: its first byte); `out` must be allocated by then. */
  const run = (
    kernelName: string,
    kind: Parameters<ConvPrimitives["run"]>[0],
    info: tf.backend_util.Conv2DInfo,
    backend: WasmBackend,
    base: Deno.PointerValue,
    tensors: { input: TensorInfo; filter: TensorInfo; output: TensorInfo; bias?: TensorInfo },
  ) => {
    const implementation = primitives.run(kind, geometry(info), {
      input: pointerOf(backend, base, tensors.input),
      filter: pointerOf(backend, base, tensors.filter),
      output: pointerOf(backend, base, tensors.output),
      bias: tensors.bias && pointerOf(backend, base, tensors.bias),
    });
    stats.implementations[kernelName] = implementation;
  };

  const covered = (shapes: number[][], dataFormat: string | undefined, dtypes: tf.DataType[]) =>
    dataFormat !== "NCHW" && shapes.every((s) => s.every((d) => d > 0)) && dtypes.every((d) => d === "float32");

  const conv2d = wrap(tf.Conv2D, (args, backend) => {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    const a = args.attrs as unknown as tf.Conv2DAttrs;
    if (!covered([x.shape, filter.shape], a.dataFormat, [x.dtype, filter.dtype])) return undefined;
    const info = nhwcInfo(x.shape, filter.shape, a, a.dilations);
    return newOutput(
      args,
      backend,
      info.outShape,
      (out, base) => run(tf.Conv2D, "forward", info, backend, base, { input: x, filter, output: out }),
    );
  });

  // conv + bias (+ ReLU) in one pass: what BatchNorm folded into an eval-mode convolution becomes.
  const fusedConv2d = wrap(tf.FusedConv2D, (args, backend) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
    const a = args.attrs as unknown as tf.FusedConv2DAttrs;
    if (x === undefined || filter === undefined || bias === undefined || preluActivationWeights !== undefined) {
      return undefined;
    }
    if (a.activation !== "linear" && a.activation !== "relu") return undefined;
    const outChannels = filter.shape[3];
    if (bias.shape.length !== 1 || bias.shape[0] !== outChannels) return undefined;
    if (!covered([x.shape, filter.shape], a.dataFormat, [x.dtype, filter.dtype, bias.dtype])) return undefined;
    const info = nhwcInfo(x.shape, filter.shape, a, a.dilations);
    const kind = a.activation === "relu" ? "forwardBiasRelu" : "forwardBias";
    return newOutput(
      args,
      backend,
      info.outShape,
      (out, base) => run(tf.FusedConv2D, kind, info, backend, base, { input: x, filter, output: out, bias }),
    );
  });

  const backpropInput = wrap(tf.Conv2DBackpropInput, (args, backend) => {
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const a = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
    if (!covered([dy.shape, filter.shape, a.inputShape], a.dataFormat, [dy.dtype, filter.dtype])) return undefined;
    const info = nhwcInfo(a.inputShape, filter.shape, a);
    return newOutput(
      args,
      backend,
      [...a.inputShape],
      (out, base) =>
        run(tf.Conv2DBackpropInput, "backwardData", info, backend, base, { input: out, filter, output: dy }),
    );
  });

  const backpropFilter = wrap(tf.Conv2DBackpropFilter, (args, backend) => {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const a = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    if (!covered([x.shape, dy.shape, a.filterShape], a.dataFormat, [x.dtype, dy.dtype])) return undefined;
    const info = nhwcInfo(x.shape, a.filterShape, a);
    return newOutput(
      args,
      backend,
      [...a.filterShape],
      (out, base) =>
        run(tf.Conv2DBackpropFilter, "backwardWeights", info, backend, base, { input: x, filter: out, output: dy }),
    );
  });

  /** Runs an elementwise primitive into a new output (freed again if oneDNN fails). */
  const runElementwise = (
    args: KernelArgs,
    backend: WasmBackend,
    op: Parameters<ElementwisePrimitives["run"]>[0],
    tensors: { a: TensorInfo; b?: TensorInfo },
    shapes: { a: number[]; other?: number[]; out: number[] },
  ): TensorInfo =>
    newOutput(args, backend, shapes.out, (out, base) => {
      elementwise.run(op, shapes.a, shapes.other, {
        a: pointerOf(backend, base, tensors.a),
        b: tensors.b && pointerOf(backend, base, tensors.b),
        out: pointerOf(backend, base, out),
      });
    });

  const binary = (kernelName: string, op: "add" | "sub" | "mul" | "div", commutative: boolean) =>
    wrap(kernelName, (args, backend) => {
      const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
      if (a.dtype !== "float32" || b.dtype !== "float32") return undefined;
      const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
      if (outShape.length === 0 || outShape.length > MAX_RANK) return undefined;
      if (tf.util.sizeFromShape(outShape) < MIN_ELEMENTS) return undefined;
      const full = (s: number[]) => tf.util.arraysEqual(s, outShape);
      // oneDNN broadcasts only its second operand: swap a commutative op's operands if needed.
      const [first, second] = full(a.shape) ? [a, b] : commutative && full(b.shape) ? [b, a] : [undefined, undefined];
      if (first === undefined || second === undefined) return undefined;
      const other = [...Array(outShape.length - second.shape.length).fill(1), ...second.shape];
      return runElementwise(args, backend, op, { a: first, b: second }, {
        a: outShape,
        other,
        out: outShape,
      });
    });

  const relu = wrap(tf.Relu, (args, backend) => {
    const { x } = args.inputs as { x: TensorInfo };
    if (x.dtype !== "float32" || x.shape.length === 0 || x.shape.length > MAX_RANK) return undefined;
    if (tf.util.sizeFromShape(x.shape) < MIN_ELEMENTS) return undefined;
    return runElementwise(args, backend, "relu", { a: x }, {
      a: x.shape,
      out: x.shape,
    });
  });

  const reduction = (kernelName: string, op: "colsum" | "colmean") =>
    wrap(kernelName, (args, backend) => {
      const { x } = args.inputs as { x: TensorInfo };
      const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
      if (x.dtype !== "float32" || tf.util.sizeFromShape(x.shape) < MIN_ELEMENTS) return undefined;
      const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
      if (axes.length === 0 || axes.length === x.shape.length || axes.some((a, i) => a !== i)) return undefined;
      const rest = x.shape.slice(axes.length);
      const matrix = [tf.util.sizeFromShape(x.shape.slice(0, axes.length)), tf.util.sizeFromShape(rest)];
      return runElementwise(args, backend, op, { a: x }, {
        a: matrix,
        out: keepDims ? [...axes.map(() => 1), ...rest] : rest,
      });
    });

  /** Checks the NHWC activation and the per-channel vectors of a batch normalization kernel. */
  const checkBatchNorm = (kernelName: string, x: TensorInfo, channelwise: TensorInfo[], others: TensorInfo[]) => {
    const c = x.shape[3];
    const ok = x.shape.length === 4 && x.shape.every((d) => d > 0) &&
      channelwise.every((t) => t.shape.length === 1 && t.shape[0] === c) &&
      others.every((t) => tf.util.arraysEqual(t.shape, x.shape)) &&
      [x, ...channelwise, ...others].every((t) => t.dtype === "float32");
    if (!ok) {
      throw new Error(
        `Cannot run ${kernelName} as it takes a non-empty float32 NHWC activation and per-channel vectors: ` +
          `current shapes are ${JSON.stringify([x, ...channelwise, ...others].map((t) => t.shape))}`,
      );
    }
  };

  const batchNormTraining = only(BATCH_NORM_TRAINING, (args, backend) => {
    const { x, scale, offset } = args.inputs as Record<string, TensorInfo>;
    const { epsilon } = args.attrs as unknown as { epsilon: number };
    checkBatchNorm(BATCH_NORM_TRAINING, x, [scale, offset], []);
    const c = x.shape[3];
    return newOutputs(
      args,
      backend,
      [[...x.shape], [c], [c]],
      (base, [y, mean, variance]) =>
        batchNorm.forward(x.shape, epsilon, {
          x: pointerOf(backend, base, x),
          scale: pointerOf(backend, base, scale),
          shift: pointerOf(backend, base, offset),
          y: pointerOf(backend, base, y),
          mean: pointerOf(backend, base, mean),
          variance: pointerOf(backend, base, variance),
        }),
    );
  });

  const batchNormTrainingGrad = only(BATCH_NORM_TRAINING_GRAD, (args, backend) => {
    const { dy, x, scale, offset, mean, variance } = args.inputs as Record<string, TensorInfo>;
    const { epsilon } = args.attrs as unknown as { epsilon: number };
    checkBatchNorm(BATCH_NORM_TRAINING_GRAD, x, [scale, offset, mean, variance], [dy]);
    const c = x.shape[3];
    return newOutputs(
      args,
      backend,
      [[...x.shape], [c], [c]],
      (base, [dx, dscale, doffset]) =>
        batchNorm.backward(x.shape, epsilon, {
          dy: pointerOf(backend, base, dy),
          x: pointerOf(backend, base, x),
          scale: pointerOf(backend, base, scale),
          shift: pointerOf(backend, base, offset),
          mean: pointerOf(backend, base, mean),
          variance: pointerOf(backend, base, variance),
          dx: pointerOf(backend, base, dx),
          dscale: pointerOf(backend, base, dscale),
          dshift: pointerOf(backend, base, doffset),
        }),
    );
  });

  const reluGradKernel = only(RELU_GRAD, (args, backend) => {
    const { dy, y } = args.inputs as Record<string, TensorInfo>;
    if (
      !tf.util.arraysEqual(dy.shape, y.shape) || dy.dtype !== "float32" || y.dtype !== "float32" ||
      dy.shape.length > MAX_RANK
    ) {
      throw new Error(
        `Cannot run ${RELU_GRAD} as dy and y must be float32 of one shape of rank <= ${MAX_RANK}: ` +
          `current shapes are [${dy.shape}] and [${y.shape}]`,
      );
    }
    const shape = dy.shape.length === 0 ? [1] : dy.shape;
    return runElementwise(args, backend, "reluGrad", { a: dy, b: y }, { a: shape, out: [...dy.shape] });
  });

  return {
    configs: [
      reluGradKernel,
      batchNormTraining,
      batchNormTrainingGrad,
      conv2d,
      fusedConv2d,
      backpropInput,
      backpropFilter,
      binary(tf.Add, "add", true),
      binary(tf.Sub, "sub", false),
      binary(tf.Multiply, "mul", true),
      binary(tf.RealDiv, "div", false),
      relu,
      reduction(tf.Sum, "colsum"),
      reduction(tf.Mean, "colmean"),
    ],
    stats,
  };
}
