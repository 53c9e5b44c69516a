/**
 * haat: second-order (Hessian-approximation) adversarial training in TensorFlow.js, after
 * "HAAT: Improve Adversarial Robustness via Hessian Approximation" (Mei, Yang, Wu, 2022).
 * Re-exports only; see SPEC.md section 8 for the public API.
 *
 * @example
 * ```ts ignore
 * import { evaluate, loadCifar10, resnet18, useBackend } from "./mod.ts";
 * await useBackend();
 * const test = await loadCifar10("../shared/data/cifar10", "test", { limit: 100 });
 * const model = resnet18({ width: 16 });
 * model.eval();
 * console.log(evaluate(model.logits, test));
 * ```
 *
 * @module
 */
export * from "./lib/backend.ts";
export * from "./lib/random.ts";
export * from "./lib/losses.ts";
export * from "./lib/data/cifar10.ts";
export * from "./lib/data/batches.ts";
export * from "./lib/models/resnet18.ts";
export * from "./lib/attacks/project.ts";
export * from "./lib/attacks/fgsm.ts";
export * from "./lib/attacks/pgd.ts";
export * from "./lib/eval/evaluate.ts";
export * from "./lib/train/schedules.ts";
export * from "./lib/train/sgd.ts";
export * from "./lib/train/objectives.ts";
export * from "./lib/train/checkpoint.ts";
export * from "./lib/train/train.ts";
export * from "./lib/attacks/haat.ts";
export * from "./lib/attacks/apgd.ts";
export * from "./lib/attacks/fab.ts";
export * from "./lib/attacks/square.ts";
export * from "./lib/attacks/autoattack.ts";
export * from "./lib/hessian/hvp.ts";
export * from "./lib/hessian/power_iteration.ts";
export * from "./lib/hessian/lanczos.ts";
export * from "./lib/hessian/linear_softmax.ts";
export * as plots from "./lib/plots/mod.ts";
