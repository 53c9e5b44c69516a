/**
 * The pieces `bench/step.ts` (one training step per process, on the CPU backends) and `bench/gpu/bench.ts`
 * (the WebGPU benchmark) share: the step as `train` takes it, the attack alone, the benchmarks' names and
 * the CPU's name. A step reads asynchronously (`trainingImagesAsync`, `sgdStepAsync`), as `train` does,
 * so it runs on every backend, webgpu included, and its time includes the device's queued work (or, asked
 * for, synchronously).
 *
 * @module
 */
import { type Objective, type ResNet18, tf } from "../mod.ts";
import { resolveHaatOptions } from "../lib/attacks/haat_options.ts";
import type { Sgd } from "../lib/train/sgd.ts";
import { sgdStep, sgdStepAsync } from "../lib/train/step.ts";
import { trainingImages, trainingImagesAsync } from "../lib/train/objectives.ts";

/** The attack of a benchmarked step: PGD's and HAAT's settings (eps 8/255, step 2/255). */
export interface StepAttack {
  /** Attack steps (PGD, HAAT, TRADES). */
  steps: number;
  /** HAAT's power-iteration steps (with `warmStart`: at the first attack step). */
  k: number;
  /** HAAT's finite-difference step. */
  xi: number;
  /** HAAT: warm-start each attack step's power iteration from the last step's vector. */
  warmStart: boolean;
  /** HAAT with `warmStart`: power steps at every attack step after the first. */
  warmK: number;
}

/**
 * One step of `objective` as `train` takes it: the objective's training images with the model in eval
 * mode, in chunks of `micro` images (0: all at once), then the SGD step in train mode with the gradient
 * accumulated over those chunks. Called with the attack's steps and k (fewer for a warm-up). With
 * `reads` "sync", the synchronous twins (`trainingImages`, `sgdStep`: dataSync) instead, for comparisons
 * with code from before the reads became asynchronous (issue 25); not on webgpu.
 *
 * @returns The step; it resolves once the step's reads (the loss, the largest weight) came back.
 */
export function trainingStep(
  model: ResNet18,
  optimiser: Sgd,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  objective: Objective,
  attack: StepAttack,
  micro: number,
  reads: "async" | "sync" = "async",
): (attackSteps: number, k: number) => Promise<void> {
  return async (attackSteps, k) => {
    model.eval();
    const options = attackOptions(attack, attackSteps, k);
    const xTrain = reads === "sync"
      ? trainingImages(objective, model.logits, x, y, options, 0, micro)
      : await trainingImagesAsync(objective, model.logits, x, y, options, 0, micro);
    try {
      model.train();
      const name = { name: objective, xClean: x };
      if (reads === "sync") sgdStep(model, optimiser, xTrain, y, 0.01, micro, name);
      else await sgdStepAsync(model, optimiser, xTrain, y, 0.01, micro, name);
    } finally {
      xTrain.dispose();
    }
  };
}

/**
 * The PGD attack alone, as a training step makes its images (eval mode, in chunks of `micro`), ending on
 * the read of one number that depends on every adversarial image.
 *
 * @returns The attack; it resolves once that read came back.
 */
export function pgdAttack(
  model: ResNet18,
  x: tf.Tensor4D,
  y: tf.Tensor1D,
  attack: StepAttack,
  micro: number,
): (attackSteps: number) => Promise<void> {
  return async (attackSteps) => {
    model.eval();
    const xAdv = await trainingImagesAsync("pgd", model.logits, x, y, attackOptions(attack, attackSteps, 1), 0, micro);
    const sum = tf.sum(xAdv);
    try {
      await sum.data();
    } finally {
      tf.dispose([xAdv, sum]);
    }
  };
}

/** The objectives' attack options: eps 8/255, step 2/255, and HAAT's checked options with k. */
function attackOptions(attack: StepAttack, steps: number, k: number) {
  const { eps: _eps, steps: _steps, seed: _seed, ...haat } = resolveHaatOptions({
    k,
    xi: attack.xi,
    warmStart: attack.warmStart,
    warmK: attack.warmK,
  });
  return { eps: 8 / 255, alpha: 2 / 255, steps, haat };
}

/**
 * The benchmark name of an objective's step, e.g. "pgd10-adversarial-training-step",
 * "haat10-k5-adversarial-training-step", and with a warm start "haat10-k5-warm1-adversarial-training-step".
 */
export function benchName(objective: Objective, steps: number, k: number, warmK: number | null): string {
  switch (objective) {
    case "standard":
      return "resnet18-training-step";
    case "pgd":
      return `pgd${steps}-adversarial-training-step`;
    case "haat":
      return `haat${steps}-k${k}${warmK === null ? "" : `-warm${warmK}`}-adversarial-training-step`;
    case "trades":
      return `trades${steps}-training-step`;
    case "fgsm-rs":
      return "fgsm-rs-training-step";
  }
}

/** CPU model name from /proc/cpuinfo, if readable. */
export function cpuModel(): string {
  try {
    return Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown";
  } catch {
    return "unknown";
  }
}
