/**
 * Training kernels that `@tensorflow/tfjs-backend-wasm` 4.22 does not ship, built from the kernels it
 * does ship (XNNPACK convolutions, transposes, slices). Registered once by `lib/backend/backend.ts`.
 *
 * @module
 */
import { tf } from "../tfjs.ts";

type TensorInfo = tf.TensorInfo;
type Backend = tf.KernelBackend & { disposeData(dataId: object): boolean };

/** Runs another wasm kernel directly, as the wasm backend's own composite kernels do. */
function runWasmKernel(
  name: string,
  backend: Backend,
  inputs: Record<string, TensorInfo>,
  attrs: Record<string, unknown>,
): TensorInfo {
  const kernel = tf.getKernel(name, "wasm");
  if (kernel === undefined) {
    throw new Error(`Cannot build Conv2DBackpropFilter as the wasm backend lacks kernel: ${name}`);
  }
  return kernel.kernelFunc({
    inputs,
    attrs: attrs as tf.NamedAttrMap,
    backend,
  }) as TensorInfo;
}

/**
 * Conv2DBackpropFilter for the wasm backend (NHWC).
 *
 * The filter gradient of y = conv(x, w; stride s) is
 *   dW[i, j, c, o] = sum_{n, p, q} x[n, s p + i - padTop, s q + j - padLeft, c] dy[n, p, q, o],
 * which is itself a convolution: with the batch and channel axes of x swapped (x^T: [C, H, W, N]) and dy
 * used as a filter (dy^T: [P, Q, N, O]) dilated by s, conv(x^T, dy^T; dilation s) has shape
 * [C, kh, kw, O], the transpose of dW. The padding is explicit: padTop/padLeft as in the forward pass,
 * and bottom/right chosen so that exactly kh x kw outputs come out (rows the forward pass never read
 * are sliced off first).
 */
export function conv2dBackpropFilterWasm(
  args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap },
): TensorInfo {
  const backend = args.backend as Backend;
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (attrs.dataFormat === "NCHW") {
    throw new Error("Cannot run Conv2DBackpropFilter on wasm as dataFormat must be NHWC: current value is NCHW");
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    "channelsLast",
  );
  const [n, h, w, c] = x.shape;
  const kh = info.filterHeight, kw = info.filterWidth;
  const sh = info.strideHeight, sw = info.strideWidth;
  const oh = info.outHeight, ow = info.outWidth;
  const top = info.padInfo.top, left = info.padInfo.left;
  // Rows of padded input read by the forward pass: kh + sh (oh - 1); the rest is padding.
  let bottom = kh + sh * (oh - 1) - top - h;
  let right = kw + sw * (ow - 1) - left - w;
  const temps: TensorInfo[] = [];
  let xT = runWasmKernel("Transpose", backend, { x }, { perm: [3, 1, 2, 0] });
  temps.push(xT);
  if (bottom < 0 || right < 0) {
    const hKeep = h + Math.min(bottom, 0), wKeep = w + Math.min(right, 0);
    xT = runWasmKernel("Slice", backend, { x: xT }, { begin: [0, 0, 0, 0], size: [c, hKeep, wKeep, n] });
    temps.push(xT);
    bottom = Math.max(bottom, 0);
    right = Math.max(right, 0);
  }
  const dyT = runWasmKernel("Transpose", backend, { x: dy }, { perm: [1, 2, 0, 3] });
  temps.push(dyT);
  const conv = runWasmKernel("Conv2D", backend, { x: xT, filter: dyT }, {
    strides: [1, 1],
    pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
    dataFormat: "NHWC",
    dilations: [sh, sw],
    dimRoundingMode: undefined,
  });
  temps.push(conv);
  const dw = runWasmKernel("Transpose", backend, { x: conv }, { perm: [1, 2, 0, 3] });
  for (const t of temps) backend.disposeData(t.dataId);
  return dw;
}

/**
 * Conv2DBackpropInput for the wasm backend (NHWC), as an XNNPACK convolution. The wasm package ships
 * a direct loop for this kernel that ran 9x slower than the forward convolution here (806 ms against
 * 87 ms for batch 32, 32x32x64, 3x3; bench/README.md).
 *
 * The input gradient of y = conv(x, w; stride s, padTop, padLeft) is
 *   dx[n, h, v, c] = sum_{i, j, o} up(dy)[n, h + padTop - i, v + padLeft - j, o] w[i, j, c, o],
 * where up(dy) puts dy[p] at s p and zeros between. That is a stride-1 convolution of up(dy) with the
 * filter flipped in space and with input and output channels swapped, padded by k - 1 - padTop on top
 * (and on the bottom as much as brings the output back to H rows).
 */
export function conv2dBackpropInputWasm(
  args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap },
): TensorInfo {
  const backend = args.backend as Backend;
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  if (attrs.dataFormat === "NCHW") {
    throw new Error("Cannot run Conv2DBackpropInput on wasm as dataFormat must be NHWC: current value is NCHW");
  }
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    "channelsLast",
  );
  const [n, h, w, c] = attrs.inputShape;
  const o = info.outChannels;
  const kh = info.filterHeight, kw = info.filterWidth;
  const sh = info.strideHeight, sw = info.strideWidth;
  const oh = info.outHeight, ow = info.outWidth;
  const temps: TensorInfo[] = [];
  const keep = (t: TensorInfo) => (temps.push(t), t);
  // up(dy): zeros between rows and columns, two 4-D pads (width, then height).
  let up: TensorInfo = dy;
  if (sw > 1) {
    const r = keep(runWasmKernel("Reshape", backend, { x: up }, { shape: [n * oh, ow, 1, o] }));
    const p = keep(runWasmKernel("PadV2", backend, { x: r }, {
      paddings: [[0, 0], [0, 0], [0, sw - 1], [0, 0]],
      constantValue: 0,
    }));
    up = keep(runWasmKernel("Reshape", backend, { x: p }, { shape: [n, oh, ow * sw, o] }));
  }
  const upW = sw > 1 ? ow * sw : ow;
  if (sh > 1) {
    const r = keep(runWasmKernel("Reshape", backend, { x: up }, { shape: [n, oh, 1, upW * o] }));
    const p = keep(runWasmKernel("PadV2", backend, { x: r }, {
      paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0]],
      constantValue: 0,
    }));
    up = keep(runWasmKernel("Reshape", backend, { x: p }, { shape: [n, oh * sh, upW, o] }));
  }
  // Only the first s (out - 1) + 1 rows/columns of up(dy) are real; the zeros after them are not.
  const upH = (oh - 1) * sh + 1, upWReal = (ow - 1) * sw + 1;
  const top = kh - 1 - info.padInfo.top, left = kw - 1 - info.padInfo.left;
  let bottom = h + kh - 1 - upH - top, right = w + kw - 1 - upWReal - left;
  let hUsed = upH, wUsed = upWReal;
  if (bottom < 0) (hUsed += bottom, bottom = 0);
  if (right < 0) (wUsed += right, right = 0);
  if (up.shape[1] !== hUsed || up.shape[2] !== wUsed) {
    up = keep(runWasmKernel("Slice", backend, { x: up }, { begin: [0, 0, 0, 0], size: [n, hUsed, wUsed, o] }));
  }
  const flipped = keep(runWasmKernel("Reverse", backend, { x: filter }, { dims: [0, 1] }));
  const swapped = keep(runWasmKernel("Transpose", backend, { x: flipped }, { perm: [0, 1, 3, 2] }));
  const dx = runWasmKernel("Conv2D", backend, { x: up, filter: swapped }, {
    strides: [1, 1],
    pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
    dataFormat: "NHWC",
    dilations: [1, 1],
    dimRoundingMode: undefined,
  });
  for (const t of temps) if (t !== dy) backend.disposeData(t.dataId);
  if (dx.shape[1] !== h || dx.shape[2] !== w || dx.shape[3] !== c) {
    throw new Error(`Conv2DBackpropInput on wasm produced shape [${dx.shape}]: expected [${attrs.inputShape}]`);
  }
  return dx;
}

/**
 * Identity for the wasm backend without a copy: the output shares the input's data, as the cpu
 * backend's Identity and every backend's Reshape do (TensorFlow.js never writes into a tensor's data
 * in place). The shipped kernel copies, and the engine runs Identity on every input it saves for a
 * gradient: about 10% of a ResNet18 input gradient's time (bench/README.md).
 */
export function identityWasm(args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend }): TensorInfo {
  const { x } = args.inputs as { x: TensorInfo };
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

const shippedCast = tf.getKernel(tf.Cast, "wasm")!;

/**
 * Cast for the wasm backend: to the same dtype it shares the input's data, as `identityWasm`; the
 * shipped kernel copies, and every ReLU gradient casts its float32 step function to float32.
 */
export function castWasm(
  args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs: tf.NamedAttrMap },
): TensorInfo {
  const { x } = args.inputs as { x: TensorInfo };
  if ((args.attrs as unknown as tf.CastAttrs).dtype === x.dtype && x.dtype !== "string") return identityWasm(args);
  return shippedCast.kernelFunc(args as Parameters<tf.KernelFunc>[0]) as TensorInfo;
}

/** Kernels added to, or replaced in, the wasm backend. */
export const addedWasmKernels: readonly tf.KernelConfig[] = [
  {
    kernelName: tf.Cast,
    backendName: "wasm",
    setupFunc: shippedCast.setupFunc,
    kernelFunc: castWasm as unknown as tf.KernelFunc,
  },
  {
    kernelName: tf.Identity,
    backendName: "wasm",
    kernelFunc: identityWasm as unknown as tf.KernelFunc,
  },
  {
    kernelName: tf.Conv2DBackpropInput,
    backendName: "wasm",
    kernelFunc: conv2dBackpropInputWasm as unknown as tf.KernelFunc,
  },
  {
    kernelName: tf.Conv2DBackpropFilter,
    backendName: "wasm",
    kernelFunc: conv2dBackpropFilterWasm as unknown as tf.KernelFunc,
  },
];
