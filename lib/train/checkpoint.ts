/**
 * Resumable training checkpoints (SPEC section 4). A checkpoint is a directory under `<run>/checkpoints/`
 * holding the model (`model.json` + weights, loadable by `loadModel`), the optimiser's momentum buffers
 * (`optimizer.bin`) and `state.json` (epoch, global step, best validation result): `epoch-NNN` after
 * epoch NNN, `step-NNNNNN` after global step NNNNNN inside an epoch (`TrainConfig.checkpointSteps`;
 * its state then also holds the epoch's running sums, `inEpoch`). It becomes the run's current one only
 * when `<run>/latest.json` is rewritten to name it, atomically, after every file of it is on disk: a
 * process killed at any moment leaves `latest.json` naming a complete checkpoint.
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { loadModel, type ResNet18 } from "../models/resnet18.ts";
import type { Sgd } from "./sgd.ts";

/** Where an epoch stands at a checkpoint taken before its end. */
export interface EpochProgress {
  /** The epoch in progress: the state's `epoch` + 1. */
  epoch: number;
  /** Global step at its start: its first `step - startStep` batches are done. */
  startStep: number;
  /** Over those batches: sum of loss times images, right predictions, images. */
  lossSum: number;
  correct: number;
  seen: number;
  /** Learning rate of the last step. */
  lr: number;
  /** Seconds spent training in it so far (the epoch's `seconds` adds those of every process that ran it). */
  seconds: number;
}

/** Where training stands at a checkpoint. */
export interface TrainingState {
  /** Epochs completed (0: the initial weights). */
  epoch: number;
  /** Optimiser steps taken so far (the schedule's position). */
  step: number;
  /** The best validation PGD accuracy so far and its epoch (epoch 0, -1: none yet). */
  best: { epoch: number; valPgd: number };
  /** Present when the checkpoint was taken inside an epoch: how far it had come. */
  inEpoch?: EpochProgress;
}

/** Directory name of the checkpoint after `epoch` epochs. */
export function checkpointName(epoch: number): string {
  return `checkpoints/epoch-${String(epoch).padStart(3, "0")}`;
}

/** Directory name of a checkpoint at global step `step` inside an epoch. */
export function stepCheckpointName(step: number): string {
  return `checkpoints/step-${String(step).padStart(6, "0")}`;
}

/** Whether `value` is what `EpochProgress` says for a state `state`: numbers in range, the epoch next. */
function isEpochProgress(value: EpochProgress, state: TrainingState): boolean {
  const count = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  const real = (v: unknown) => typeof v === "number" && Number.isFinite(v);
  return typeof value === "object" && value !== null && value.epoch === state.epoch + 1 &&
    count(value.startStep) && value.startStep < state.step && count(value.correct) && count(value.seen) &&
    value.correct <= value.seen && value.seen > 0 && real(value.lossSum) && real(value.lr) && real(value.seconds) &&
    value.seconds >= 0;
}

/**
 * Writes a checkpoint of model, optimiser and state, then points `<runDir>/latest.json` at it.
 *
 * @param runDir Run directory.
 * @param model The model (its trainable variables and BatchNorm statistics are saved).
 * @param optimiser The optimiser (its velocities are saved).
 * @param state Epoch, step, best result; with `inEpoch`, a checkpoint inside an epoch (`step-NNNNNN`).
 * @returns The checkpoint directory, relative to `runDir`.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { resnet18, saveCheckpoint, useBackend } from "../../mod.ts";
 * import { sgd } from "./sgd.ts";
 * await useBackend("cpu");
 * const runDir = await Deno.makeTempDir();
 * const model = resnet18({ width: 2 }), optimiser = sgd(model.trainableVariables);
 * const state = { epoch: 1, step: 10, best: { epoch: 1, valPgd: 0.3 } };
 * assert.strictEqual(await saveCheckpoint(runDir, model, optimiser, state), "checkpoints/epoch-001");
 * assert.strictEqual(JSON.parse(Deno.readTextFileSync(`${runDir}/latest.json`)).checkpoint, "checkpoints/epoch-001");
 * model.dispose();
 * optimiser.dispose();
 * ```
 */
export async function saveCheckpoint(
  runDir: string,
  model: ResNet18,
  optimiser: Sgd,
  state: TrainingState,
): Promise<string> {
  const name = state.inEpoch ? stepCheckpointName(state.step) : checkpointName(state.epoch);
  const dir = `${runDir}/${name}`;
  await Deno.remove(dir, { recursive: true }).catch(() => {}); // a partial one from a killed run
  await model.save(dir);
  const velocities = await Promise.all(optimiser.velocities.map((v) => v.data() as Promise<Float32Array>));
  const buffer = new Float32Array(velocities.reduce((s, v) => s + v.length, 0));
  let offset = 0;
  for (const v of velocities) {
    buffer.set(v, offset);
    offset += v.length;
  }
  await writeFileAtomic(`${dir}/optimizer.bin`, new Uint8Array(buffer.buffer));
  await writeFileAtomic(`${dir}/state.json`, JSON.stringify(state, null, 2));
  await writeFileAtomic(`${runDir}/latest.json`, JSON.stringify({ checkpoint: name, ...state }, null, 2));
  return name;
}

/** A checkpoint as `loadCheckpoint` reads it. */
export interface Checkpoint {
  /** Its directory, relative to the run directory. */
  name: string;
  /** Epoch, step, best result. */
  state: TrainingState;
  /** The model, in train mode; the caller disposes it. */
  model: ResNet18;
  /** Loads the momentum buffers into an optimiser made for that model. */
  restoreOptimizer: (optimiser: Sgd) => void;
}

/**
 * Reads `<runDir>/latest.json` and the checkpoint it names.
 *
 * @param runDir Run directory.
 * @returns The checkpoint, or `undefined` when the run has no `latest.json` yet.
 * @throws {Error} Naming the file, if `latest.json` is not JSON or names no checkpoint, or the
 *   checkpoint's files are missing, damaged or do not match.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { loadCheckpoint, resnet18, saveCheckpoint, useBackend } from "../../mod.ts";
 * import { sgd } from "./sgd.ts";
 * await useBackend("cpu");
 * const runDir = await Deno.makeTempDir();
 * assert.strictEqual(await loadCheckpoint(runDir), undefined); // no latest.json yet
 * const model = resnet18({ width: 2 }), optimiser = sgd(model.trainableVariables);
 * const state = { epoch: 1, step: 10, best: { epoch: 1, valPgd: 0.3 } };
 * await saveCheckpoint(runDir, model, optimiser, state);
 * const checkpoint = (await loadCheckpoint(runDir))!;
 * assert.deepStrictEqual(checkpoint.state, state);
 * assert.deepStrictEqual(checkpoint.model.trainableVariables[0].dataSync(), model.trainableVariables[0].dataSync());
 * [model, optimiser, checkpoint.model].forEach((m) => m.dispose());
 * ```
 */
export async function loadCheckpoint(runDir: string): Promise<Checkpoint | undefined> {
  let latest: { checkpoint: string } & Record<string, unknown>;
  try {
    latest = JSON.parse(await Deno.readTextFile(`${runDir}/latest.json`));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`Cannot resume as ${runDir}/latest.json is not readable JSON: ${(e as Error).message}`);
  }
  if (
    typeof latest?.checkpoint !== "string" || !/^checkpoints\/(epoch-\d{3,}|step-\d{6,})$/.test(latest.checkpoint)
  ) {
    throw new Error(
      `Cannot resume as ${runDir}/latest.json names no checkpoint of the form checkpoints/epoch-NNN or ` +
        `checkpoints/step-NNNNNN: ` +
        `current value is ${latest?.checkpoint}`,
    );
  }
  const dir = `${runDir}/${latest.checkpoint}`;
  let state: TrainingState;
  let bytes: Uint8Array;
  try {
    state = JSON.parse(await Deno.readTextFile(`${dir}/state.json`));
    bytes = await Deno.readFile(`${dir}/optimizer.bin`);
  } catch (e) {
    throw new Error(`Cannot resume as the checkpoint ${dir} is incomplete or damaged: ${(e as Error).message}`);
  }
  if (
    !(Number.isInteger(state?.epoch) && state.epoch >= 0 && Number.isInteger(state?.step) && state.step >= 0 &&
      typeof state?.best?.valPgd === "number") ||
    (state.inEpoch !== undefined && !isEpochProgress(state.inEpoch, state)) ||
    (state.inEpoch === undefined) !== latest.checkpoint.startsWith("checkpoints/epoch-")
  ) {
    throw new Error(`Cannot resume as ${dir}/state.json is not a training state: ${JSON.stringify(state)}`);
  }
  // The checkpoint's name says its epoch or step, and latest.json repeats its state: all must agree.
  const number = Number(latest.checkpoint.match(/\d+$/)![0]);
  if (number !== (state.inEpoch ? state.step : state.epoch)) {
    throw new Error(
      `Cannot resume as ${dir}/state.json is at epoch ${state.epoch}, step ${state.step}, which is not the ` +
        `checkpoint its directory names`,
    );
  }
  const best = state.best;
  if (
    !(Number.isInteger(best.epoch) && best.epoch >= 0 && best.epoch <= state.epoch) ||
    !(best.epoch === 0 ? best.valPgd === -1 : best.valPgd >= 0 && best.valPgd <= 1)
  ) {
    throw new Error(`Cannot resume as ${dir}/state.json holds a best result no run writes: ${JSON.stringify(best)}`);
  }
  const { checkpoint: _, ...repeated } = latest;
  if (Object.keys(repeated).length > 0 && JSON.stringify(repeated) !== JSON.stringify(state)) {
    throw new Error(
      `Cannot resume as ${runDir}/latest.json and ${dir}/state.json disagree: ${JSON.stringify(repeated)} and ` +
        `${JSON.stringify(state)}`,
    );
  }
  const model = await loadModel(dir);
  model.train();
  // One momentum buffer per trainable variable: check the file now, before anything is written.
  const expected = model.trainableVariables.reduce((s, v) => s + v.size, 0);
  const floats = new Float32Array(bytes.slice().buffer);
  const problem = bytes.byteLength !== 4 * expected
    ? `holds ${bytes.byteLength} bytes: expected ${4 * expected}`
    : !floats.every(Number.isFinite)
    ? "holds values that are not finite"
    : undefined;
  if (problem) {
    model.dispose();
    throw new Error(`Cannot resume as ${dir}/optimizer.bin ${problem}`);
  }
  const restoreOptimizer = (optimiser: Sgd) => {
    let offset = 0;
    for (const v of optimiser.velocities) {
      tf.tidy(() => v.assign(tf.tensor(floats.subarray(offset, offset + v.size), v.shape)));
      offset += v.size;
    }
  };
  return { name: latest.checkpoint, state, model, restoreOptimizer };
}

/**
 * Removes checkpoint directories other than the current one and the epochs' kept every `keepEvery`:
 * every checkpoint taken inside an epoch goes once a later one is current.
 *
 * @param runDir Run directory.
 * @param current The current checkpoint, as `saveCheckpoint` named it (`checkpoints/epoch-NNN` or `checkpoints/step-NNNNNN`).
 * @param keepEvery Keep epochs that are multiples of this (0: keep only the current one).
 */
export async function pruneCheckpoints(runDir: string, current: string, keepEvery: number): Promise<void> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(`${runDir}/checkpoints`));
  } catch {
    return;
  }
  for (const entry of entries) {
    const m = entry.name.match(/^(epoch|step)-(\d+)$/);
    if (!m || `checkpoints/${entry.name}` === current) continue;
    const epoch = Number(m[2]);
    if (m[1] === "epoch" && keepEvery > 0 && epoch > 0 && epoch % keepEvery === 0) continue;
    await Deno.remove(`${runDir}/checkpoints/${entry.name}`, { recursive: true }).catch(() => {});
  }
}
