/**
 * haat: second-order (Hessian-approximation) adversarial training in TensorFlow.js, after
 * "HAAT: Improve Adversarial Robustness via Hessian Approximation" (Mei, Yang, Wu, 2022).
 *
 * The public API of SPEC section 8 and the types needed to name what it takes and returns. Re-exports
 * only; everything else is internal and imported by path. The figures (Observable Plot and its renderers)
 * have their own entry point, `plots.ts`, so that importing this module pulls in no plotting code.
 *
 * A model, for every attack and metric, is a `Classifier`: logits of NHWC float32 images in [0,1].
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { accuracy, pgd, tf, useBackend } from "./mod.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([4, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7, 1, 0], "int32");
 * const xAdv = pgd(f, x, y, { eps: 8 / 255, steps: 10 });
 * assert.ok(accuracy(f, xAdv, y) <= accuracy(f, x, y)); // the attack only takes accuracy away
 * assert.ok(tf.max(tf.abs(tf.sub(xAdv, x))).dataSync()[0] <= 8 / 255 + 1e-6); // inside the eps-ball
 * tf.dispose([w, x, y, xAdv]);
 * ```
 *
 * Layers (floors), lowest first; a module imports only from its own floor or lower ones, never up
 * (tests/graph_test.ts checks it):
 *
 * 0. `lib/tfjs.ts`, `lib/reading.ts`, `lib/io/`, `lib/random.ts`, `lib/env.ts`: TensorFlow.js, reading tensors back
 *    (synchronously or not), files, seeds, environment
 * 1. `lib/ops/`: custom ops and their gradients
 * 2. `lib/backend/`: choosing, starting and reporting the backend (oneDNN, wasm kernels, webgpu)
 * 3. `lib/models/`, `lib/data/`, `lib/losses.ts`, `lib/core.ts`: the model, the data, what attacks share
 * 4. `lib/hessian/`, `lib/attacks/`
 * 5. `lib/eval/`, `lib/train/`
 * 6. `lib/plots/`, then `cli/` (outside lib)
 *
 * @module
 */

// The TensorFlow.js namespace in use, and the backend.
export { tf } from "./lib/tfjs.ts";
export { type BackendInfo, backendInfo, type BackendName, ensureBackend, useBackend } from "./lib/backend/backend.ts";
export { canReadSync, type Reading } from "./lib/reading.ts";

// Data and model (SPEC section 3).
export {
  type Dataset,
  type DataSource,
  defaultDataDir,
  loadCifar10,
  type LoadCifar10Options,
} from "./lib/data/cifar10.ts";
export { type Batch, batches, type BatchOptions, splitValidation, toTensors } from "./lib/data/batches.ts";
export {
  loadModel,
  type ResNet18,
  resnet18,
  type ResNet18Config,
  type ResNet18Options,
} from "./lib/models/resnet18.ts";
export { saveModel, type SaveModelOptions, type WeightDtype } from "./lib/models/model_file.ts";
export { TRAINED_MODELS, trainedModel, type TrainedModelInfo } from "./lib/models/trained.ts";

// What every attack and metric shares: the model type and the losses.
export { type Classifier, type Loss, lossAndGradient, type Norm } from "./lib/core.ts";
export { crossEntropy, dlrLoss, targetedDlrLoss } from "./lib/losses.ts";

// Attacks (SPEC section 1).
export { fgsm, fgsmAsync, type FgsmOptions } from "./lib/attacks/fgsm.ts";
export { pgd, pgdAsync, type PgdOptions } from "./lib/attacks/pgd.ts";
export { project } from "./lib/attacks/project.ts";
export {
  haat,
  HAAT_DEFAULTS,
  haatAsync,
  type HaatCost,
  haatCost,
  type HaatDiagnostics,
  type HaatOptions,
  haatWithDiagnostics,
  haatWithDiagnosticsAsync,
} from "./lib/attacks/haat.ts";
export {
  apgd,
  apgdAsync,
  apgdCheckpoints,
  type ApgdOptions,
  apgdTargeted,
  apgdTargetedAsync,
  type ApgdTargetedOptions,
} from "./lib/attacks/apgd.ts";
export { type FabOptions, fabTargeted, fabTargetedAsync } from "./lib/attacks/fab.ts";
export { square, squareAsync, type SquareOptions } from "./lib/attacks/square.ts";
export {
  autoAttack,
  autoAttackAsync,
  type AutoAttackBudgets,
  type AutoAttackComponent,
  type AutoAttackOptions,
  type AutoAttackProgress,
  type AutoAttackResult,
  autoAttackVersion,
} from "./lib/attacks/autoattack.ts";

// Hessian tools (SPEC section 2).
export { changedShare, hessianVectorProduct, type HvpMethod, type HvpOptions } from "./lib/hessian/hvp.ts";
export {
  powerIteration,
  powerIterationAsync,
  type PowerIterationOptions,
  type PowerRecord,
} from "./lib/hessian/power_iteration.ts";
export { topEigenvalues, topEigenvaluesAsync, type TopEigenvaluesOptions } from "./lib/hessian/lanczos.ts";
export { linearSoftmaxHessian } from "./lib/hessian/linear_softmax.ts";
export {
  gaussNewton,
  gaussNewtonEigen,
  type GaussNewtonFactors,
  gaussNewtonRayleigh,
  symmetricEigen,
} from "./lib/hessian/gauss_newton.ts";

// Training, checkpoints and evaluation (SPEC sections 4 and 5).
export {
  type BatchMetrics,
  defaultTrainConfig,
  type EpochMetrics,
  train,
  type TrainConfig,
  type TrainOverrides,
  type TrainRunOptions,
  type TrainSummary,
} from "./lib/train/train.ts";
export { type Objective, OBJECTIVES } from "./lib/train/objectives.ts";
export {
  type Checkpoint,
  type EpochProgress,
  loadCheckpoint,
  saveCheckpoint,
  type TrainingState,
} from "./lib/train/checkpoint.ts";
export { type Sgd } from "./lib/train/sgd.ts";
export { accuracy, accuracyAsync, type BatchAttack, robustAccuracy, robustAccuracyAsync } from "./lib/eval/accuracy.ts";
export { evaluate, evaluateAsync } from "./lib/eval/evaluate.ts";
export {
  type ClassRow,
  type EvaluateOptions,
  type EvaluationProgress,
  type EvaluationReport,
  type SweepRow,
} from "./lib/eval/options.ts";
export { reportTable } from "./lib/eval/report.ts";
export { mcnemar, type McNemarResult } from "./lib/eval/paired.ts";
