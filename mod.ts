/**
 * haat: second-order (Hessian-approximation) adversarial training in TensorFlow.js, after
 * "HAAT: Improve Adversarial Robustness via Hessian Approximation" (Mei, Yang, Wu, 2022).
 *
 * The public API of SPEC section 8, and what users of it need (option and result types, the helpers
 * the notebooks teach with). Re-exports only; everything else is internal and imported by path.
 *
 * A model, for every attack and metric, is a `Classifier`: logits of NHWC float32 images in [0,1].
 *
 * @example
 * ```ts
 * import { accuracy, pgd, tf, useBackend } from "./mod.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const x = tf.randomUniform([4, 32, 32, 3], 0, 1, "float32", 2) as tf.Tensor4D;
 * const y = tf.tensor1d([3, 7, 1, 0], "int32");
 * const xAdv = pgd(f, x, y, { eps: 8 / 255, steps: 10 });
 * console.log(accuracy(f, x, y), accuracy(f, xAdv, y));
 * tf.dispose([w, x, y, xAdv]);
 * ```
 *
 * @module
 */

// The TensorFlow.js namespace in use, and the backend.
export { type BackendInfo, backendInfo, type BackendName, onednnStats, tf, useBackend } from "./lib/backend.ts";

// Data and model.
export { type Dataset, type DataSource, defaultDataDir, loadCifar10 } from "./lib/data/cifar10.ts";
export { batches, splitValidation, toTensors } from "./lib/data/batches.ts";
export {
  loadModel,
  type ResNet18,
  resnet18,
  saveModel,
  type SaveModelOptions,
  type WeightDtype,
} from "./lib/models/resnet18.ts";
export { TRAINED_MODELS, trainedModel, type TrainedModelInfo } from "./lib/models/trained.ts";

// What every attack and metric shares.
export { type Classifier, lossAndGradient, type Norm, normalizeRows, rowDot } from "./lib/core.ts";
export { crossEntropy, dlrLoss, targetedDlrLoss } from "./lib/losses.ts";
export { deriveSeed, normalSeed } from "./lib/random.ts";

// Attacks (SPEC section 1).
export { fgsm, type FgsmOptions } from "./lib/attacks/fgsm.ts";
export { pgd, type PgdOptions } from "./lib/attacks/pgd.ts";
export { project } from "./lib/attacks/project.ts";
export {
  haat,
  HAAT_DEFAULTS,
  haatCost,
  type HaatDiagnostics,
  type HaatOptions,
  haatWithDiagnostics,
} from "./lib/attacks/haat.ts";
export { apgd, apgdCheckpoints, type ApgdOptions, apgdTargeted, type ApgdTargetedOptions } from "./lib/attacks/apgd.ts";
export { type FabOptions, fabTargeted } from "./lib/attacks/fab.ts";
export { square, type SquareOptions } from "./lib/attacks/square.ts";
export {
  autoAttack,
  type AutoAttackBudgets,
  type AutoAttackComponent,
  type AutoAttackOptions,
  type AutoAttackProgress,
  type AutoAttackResult,
  autoAttackVersion,
} from "./lib/attacks/autoattack.ts";

// Hessian tools (SPEC section 2).
export { changedShare, hessianVectorProduct, type HvpMethod, type HvpOptions } from "./lib/hessian/hvp.ts";
export { powerIteration, type PowerIterationOptions, type PowerRecord } from "./lib/hessian/power_iteration.ts";
export { topEigenvalues, type TopEigenvaluesOptions } from "./lib/hessian/lanczos.ts";
export { linearSoftmaxHessian } from "./lib/hessian/linear_softmax.ts";

// Training and evaluation (SPEC sections 4 and 5).
export {
  type BatchMetrics,
  defaultTrainConfig,
  type EpochMetrics,
  train,
  type TrainConfig,
  type TrainRunOptions,
  type TrainSummary,
} from "./lib/train/train.ts";
export { type Objective, OBJECTIVES } from "./lib/train/objectives.ts";
export {
  accuracy,
  evaluate,
  type EvaluateOptions,
  type EvaluationProgress,
  type EvaluationReport,
  robustAccuracy,
} from "./lib/eval/evaluate.ts";
export { reportTable } from "./lib/eval/report.ts";
export { mcnemar, type McNemarResult, outcomesFromString, outcomesToString } from "./lib/eval/paired.ts";

// Figures (Observable Plot).
export * as plots from "./lib/plots/mod.ts";
