/**
 * ResNet18, CIFAR variant (SPEC section 3): 3x3 conv stem, four stages of two BasicBlocks with
 * [w, 2w, 4w, 8w] channels and strides [1, 2, 2, 2], BatchNorm, global average pooling, one dense
 * layer. With w = 64 and 10 classes it has 11,173,962 trainable parameters, as the standard CIFAR
 * ResNet18. Inputs are images in [0,1]; the per-channel normalisation is the model's first operation,
 * so attacks work in pixel space.
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import { backendReady, ensureBackend } from "../backend/backend.ts";
import { convBias } from "../ops/conv_bias.ts";
import { batchNormTraining } from "../ops/batch_norm.ts";
import { readModelFile, saveModel, type SaveModelOptions } from "./model_file.ts";
import { backendOf, type Classifier } from "../core.ts";

/** Options of `resnet18()`. */
export interface ResNet18Options {
  /** Base channels w; stages have [w, 2w, 4w, 8w]. @default 64 (the paper's ResNet18) */
  width?: number;
  /** Number of classes. @default 10 (CIFAR-10) */
  numClasses?: number;
  /** Seed of the weight initialisation. @default 0 */
  seed?: number;
}

/** The configuration a model was built with, saved beside its weights. */
export type ResNet18Config = Required<ResNet18Options>;

/** CIFAR-10 per-channel mean and standard deviation of the training set (RGB, [0,1] scale). */
export const CIFAR10_MEAN = [0.4914, 0.4822, 0.4465] as const;
/** See `CIFAR10_MEAN`. */
export const CIFAR10_STD = [0.2471, 0.2435, 0.2616] as const;

/** BatchNorm constants, as PyTorch's: running = (1 - m) running + m batch, m = 0.1; eps = 1e-5. */
const BN_MOMENTUM = 0.1;
const BN_EPS = 1e-5;

/** A ResNet18 with its variables; `logits` follows the mode (`train()` / `eval()`). */
export interface ResNet18 {
  /** The configuration it was built with. */
  readonly config: ResNet18Config;
  /** Trainable variables, in a fixed order (conv kernels, BN gamma/beta, dense). */
  readonly trainableVariables: tf.Variable[];
  /** BatchNorm running means and variances (not trained; updated in train mode). */
  readonly statistics: tf.Variable[];
  /** Current mode: `"train"` uses batch statistics and updates the running ones, `"eval"` uses running ones. */
  readonly mode: "train" | "eval";
  /** Logits of NHWC images in [0,1] under the current mode. Caller disposes the result. */
  logits: Classifier;
  /** Switches BatchNorm to batch statistics (and running-statistic updates on every call). */
  train(): void;
  /** Switches BatchNorm to running statistics: `logits` is then a pure, deterministic function. */
  eval(): void;
  /** Number of trainable scalars. */
  parameterCount(): number;
  /** Writes the weights and config to directory `dir`, atomically (see `saveModel`). */
  save(dir: string, options?: SaveModelOptions): Promise<void>;
  /** Frees every variable. */
  dispose(): void;
}

interface ConvBn {
  kernel: tf.Variable<tf.Rank.R4>;
  gamma: tf.Variable<tf.Rank.R1>;
  beta: tf.Variable<tf.Rank.R1>;
  mean: tf.Variable<tf.Rank.R1>;
  variance: tf.Variable<tf.Rank.R1>;
  stride: number;
}

interface Block {
  conv1: ConvBn;
  conv2: ConvBn;
  shortcut?: ConvBn;
}

function validateOptions(options: ResNet18Options): ResNet18Config {
  const config = { width: 64, numClasses: 10, seed: 0, ...options };
  if (!Number.isInteger(config.width) || config.width < 1) {
    throw new Error(`Cannot build ResNet18 as width must be a positive integer: current value is ${config.width}`);
  }
  if (!Number.isInteger(config.numClasses) || config.numClasses < 2) {
    throw new Error(
      `Cannot build ResNet18 as numClasses must be an integer >= 2: current value is ${config.numClasses}`,
    );
  }
  if (!Number.isInteger(config.seed)) {
    throw new Error(`Cannot build ResNet18 as seed must be an integer: current value is ${config.seed}`);
  }
  return config;
}

/**
 * Builds a randomly initialised CIFAR ResNet18 (He-normal conv kernels with fan-out, as torchvision;
 * BN gamma 1, beta 0; dense U(-1/sqrt(in), 1/sqrt(in))). The same seed gives the same weights.
 *
 * @param options Width, classes and seed; see `ResNet18Options`.
 * @returns The model, in train mode.
 * @throws {Error} If width, numClasses or seed is not a valid integer, or no backend is started yet (call
 *   `await useBackend()` first; `loadModel()` and `train()` start one themselves).
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { resnet18, tf, useBackend } from "../../mod.ts";
 * await useBackend("cpu");
 * const model = resnet18({ width: 4 });
 * model.eval();
 * const logits = model.logits(tf.zeros([1, 32, 32, 3]));
 * assert.deepStrictEqual(logits.shape, [1, 10]);
 * const again = resnet18({ width: 4 }); // the same seed gives the same weights
 * assert.deepStrictEqual(again.trainableVariables[0].dataSync(), model.trainableVariables[0].dataSync());
 * tf.dispose(logits);
 * model.dispose();
 * again.dispose();
 * ```
 */
export function resnet18(options: ResNet18Options = {}): ResNet18 {
  const config = validateOptions(options);
  if (!backendReady()) {
    throw new Error(
      "Cannot build ResNet18 as no TensorFlow.js backend is started: call await useBackend() first " +
        "(loadModel() and train() start one themselves)",
    );
  }
  let seed = config.seed * 1000;
  const nextSeed = () => ++seed;
  const variables: tf.Variable[] = [];
  const statistics: tf.Variable[] = [];

  // tf.variable copies its initial value: each one is made and freed here, or every model leaks them.
  const variable = (initial: tf.Tensor, trainable = true): tf.Variable => {
    const v = tf.variable(initial, trainable);
    initial.dispose();
    return v;
  };
  const convBn = (inC: number, outC: number, size: number, stride: number): ConvBn => {
    const std = Math.sqrt(2 / (size * size * outC));
    const kernel = variable(tf.randomNormal([size, size, inC, outC], 0, std, "float32", nextSeed()));
    const gamma = variable(tf.ones([outC]));
    const beta = variable(tf.zeros([outC]));
    variables.push(kernel, gamma, beta);
    const mean = variable(tf.zeros([outC]), false);
    const variance = variable(tf.ones([outC]), false);
    statistics.push(mean, variance);
    return {
      kernel: kernel as tf.Variable<tf.Rank.R4>,
      gamma: gamma as tf.Variable<tf.Rank.R1>,
      beta: beta as tf.Variable<tf.Rank.R1>,
      mean: mean as tf.Variable<tf.Rank.R1>,
      variance: variance as tf.Variable<tf.Rank.R1>,
      stride,
    };
  };

  const w = config.width;
  const stem = convBn(3, w, 3, 1);
  const blocks: Block[] = [];
  let inC = w;
  for (const [stage, stride] of [1, 2, 2, 2].entries()) {
    const outC = w * 2 ** stage;
    for (let b = 0; b < 2; b++) {
      const s = b === 0 ? stride : 1;
      const block: Block = { conv1: convBn(inC, outC, 3, s), conv2: convBn(outC, outC, 3, 1) };
      if (s !== 1 || inC !== outC) block.shortcut = convBn(inC, outC, 1, s);
      blocks.push(block);
      inC = outC;
    }
  }
  const bound = 1 / Math.sqrt(inC);
  const denseW = variable(tf.randomUniform([inC, config.numClasses], -bound, bound, "float32", nextSeed()));
  const denseB = variable(tf.randomUniform([config.numClasses], -bound, bound, "float32", nextSeed()));
  variables.push(denseW, denseB);

  const mean = tf.tensor1d([...CIFAR10_MEAN]);
  const invStd = tf.tensor1d(CIFAR10_STD.map((s) => 1 / s));
  let mode: "train" | "eval" = "train";

  /** y = gamma (conv(x) - mu) / sqrt(var + eps) + beta, mu/var from the batch (train) or running (eval). */
  const applyConvBn = (x: tf.Tensor4D, layer: ConvBn, relu = false): tf.Tensor4D => {
    const size = layer.kernel.shape[0];
    const pad = size === 3 ? [[0, 0], [1, 1], [1, 1], [0, 0]] as tf.backend_util.ExplicitPadding : "valid";
    if (mode === "eval") {
      // Folded into the convolution: conv(x, W) * scale + shift = conv(x, W * scale) + shift, with the
      // per-channel scale multiplying the small filter instead of every activation (and its gradient);
      // the shift and the ReLU run in the convolution's own pass over its output (convBias).
      const scale = tf.mul(layer.gamma, tf.rsqrt(tf.add(layer.variance, BN_EPS)));
      const shift = tf.sub(layer.beta, tf.mul(layer.mean, scale)) as tf.Tensor1D;
      return convBias(x, tf.mul(layer.kernel, scale) as tf.Tensor4D, shift, layer.stride, pad, relu);
    }
    const y = tf.conv2d(x, layer.kernel, layer.stride, pad);
    const { y: normalised, mean, variance } = batchNormTraining(y, layer.gamma, layer.beta, BN_EPS);
    const n = y.shape[0] * y.shape[1] * y.shape[2];
    // Running variance uses the unbiased batch variance, as PyTorch does.
    tf.tidy(() => {
      layer.mean.assign(tf.add(tf.mul(layer.mean, 1 - BN_MOMENTUM), tf.mul(mean, BN_MOMENTUM)));
      const unbiased = tf.mul(variance, n / Math.max(n - 1, 1));
      layer.variance.assign(tf.add(tf.mul(layer.variance, 1 - BN_MOMENTUM), tf.mul(unbiased, BN_MOMENTUM)));
    });
    return relu ? tf.relu(normalised) : normalised;
  };

  const logits: Classifier = (x) =>
    tf.tidy(() => {
      if (x.rank !== 4 || x.shape[3] !== 3) {
        throw new Error(`Cannot run ResNet18 as input must be NHWC with 3 channels: current shape is [${x.shape}]`);
      }
      // TensorFlow.js would copy weights made on another backend at their first use there, without a word
      // (and from webgpu it cannot, in Deno).
      const home = backendOf(stem.kernel), active = tf.getBackend();
      if (home !== undefined && home !== active) {
        throw new Error(
          `Cannot run ResNet18 as its weights live on the ${home} backend, not on ${active}, the active one: ` +
            `build or load it after useBackend("${active}")`,
        );
      }
      let h = tf.mul(tf.sub(x, mean), invStd) as tf.Tensor4D;
      h = applyConvBn(h, stem, true);
      for (const block of blocks) {
        const out = applyConvBn(h, block.conv1, true);
        const residual = block.shortcut ? applyConvBn(h, block.shortcut) : h;
        h = tf.relu(tf.add(applyConvBn(out, block.conv2), residual));
      }
      const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
      return tf.add(tf.matMul(pooled, denseW), denseB) as tf.Tensor2D;
    });

  const model: ResNet18 = {
    config,
    trainableVariables: variables,
    statistics,
    get mode() {
      return mode;
    },
    logits,
    train() {
      mode = "train";
    },
    eval() {
      mode = "eval";
    },
    parameterCount: () => variables.reduce((sum, v) => sum + v.size, 0),
    save: (dir: string, options?: SaveModelOptions) => saveModel(model, dir, options),
    dispose() {
      tf.dispose([...variables, ...statistics, mean, invStd]);
    },
  };
  return model;
}

/**
 * Loads a model written by `saveModel` / `model.save`, in eval mode, starting a backend as
 * `ensureBackend()` does where none is started, after checking its files before anything is built: the weights file must hold as many values as `model.json` lists (4 or 2 bytes
 * each), its SHA-256 must begin with the 16 hex digits of its name, and every value must be finite. A
 * committed model (`trainedModel(run)`) must also be the one `TRAINED_MODELS` lists: its width, its
 * weights file and that file's size.
 *
 * @param dir Directory holding `model.json` and its weights file, or the http(s) URL of one (a
 *   repository's raw files, for instance): the hash check makes a download as safe as a local copy.
 * @returns The model, in eval mode.
 * @throws {Error} Naming the file, if a file is missing or unreadable, truncated or too long (with
 *   the size expected), corrupted (hash), holds NaN or infinite values, or shapes or sizes do not
 *   match the config; for a committed model, also if it is not the one committed.
 * @example
 * ```ts
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 * import { loadModel, resnet18, useBackend } from "../../mod.ts";
 * await useBackend("cpu");
 * const dir = await Deno.makeTempDir();
 * const model = resnet18({ width: 2 });
 * await model.save(dir);
 * const loaded = await loadModel(dir);
 * assertEquals(loaded.parameterCount(), model.parameterCount());
 * model.dispose();
 * loaded.dispose();
 * ```
 */
export async function loadModel(location: string): Promise<ResNet18> {
  const { dir, path, manifest, floats } = await readModelFile(location);
  const values = floats.length;
  try {
    validateOptions(manifest.config);
  } catch (e) {
    throw new Error(`Cannot load model as ${dir}/model.json has a bad config: ${(e as Error).message}`);
  }
  await ensureBackend(); // the same choice as useBackend(), where the caller made none
  const model = resnet18(manifest.config);
  try {
    const all = [...model.trainableVariables, ...model.statistics];
    const expected = all.reduce((s, v) => s + v.size, 0);
    if (floats.length !== expected || manifest.tensors.length !== all.length) {
      throw new Error(
        `Cannot load model as ${path} does not match its config: ` +
          `${values} values in ${manifest.tensors.length} tensors, expected ${expected} in ${all.length} ` +
          `for a width-${model.config.width} ResNet18`,
      );
    }
    // saveModel lays the tensors end to end in their fixed order: a manifest that places one elsewhere
    // (offsets swapped, say) would load valid bytes into the wrong tensor, and the hash would not see it.
    let offset = 0;
    for (const [i, v] of all.entries()) {
      const entry = manifest.tensors[i];
      const name = i < model.trainableVariables.length ? `w${i}` : `s${i - model.trainableVariables.length}`;
      if (entry?.name !== name || entry?.shape?.join(",") !== v.shape.join(",") || entry.offset !== offset) {
        throw new Error(
          `Cannot load model as tensor ${i} of ${dir}/model.json is ${entry?.name} of shape [${entry?.shape}] at ` +
            `offset ${entry?.offset}: expected ${name} of shape [${v.shape}] at offset ${offset}`,
        );
      }
      offset += v.size;
    }
    for (const [i, v] of all.entries()) {
      const entry = manifest.tensors[i];
      tf.tidy(() => v.assign(tf.tensor(floats.subarray(entry.offset, entry.offset + v.size), v.shape)));
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  model.eval();
  return model;
}
