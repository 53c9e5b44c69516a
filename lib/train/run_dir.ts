/**
 * A run directory and the resume policy. Everything is checked before anything is written or
 * removed: a refused command leaves the directory as it was.
 *
 * - A new run needs a directory without a run in it (`--overwrite` removes the files a run writes,
 *   `RUN_FILES`, and nothing else, so a `train.log` or `command.sh` beside them stays).
 * - A resume needs the run's `config.json`; the config asked for must equal it in every field but
 *   `RESUMABLE_FIELDS`, and the training records read must have the checksums it lists. It continues
 *   from the checkpoint `latest.json` names, with the metrics lines of the epochs that checkpoint
 *   holds; a damaged `metrics.jsonl` is refused, not silently cut. A run killed before its first
 *   checkpoint starts again in place; a run whose checkpoints were removed cannot continue.
 * - Temporary files left by a kill or a full disk (`*.tmp-<pid>-<hex>`) are removed on each start.
 * - The directory is locked (`lib/io/lock.ts`) from the moment the run is opened until `train` ends: a
 *   second process that would train there at the same time is refused; a lock left by a killed process
 *   is taken over.
 *
 * The files themselves (which they are, removing, repairing and rewriting them) are in run_files.ts.
 *
 * @module
 */
import type { DataSource } from "../data/cifar10.ts";
import { removeTempFiles, writeFileAtomic } from "../io/atomic.ts";
import { type DirectoryLock, lockDirectory } from "../io/lock.ts";
import { type Checkpoint, loadCheckpoint } from "./checkpoint.ts";
import { learningRate } from "./step.ts";
import {
  existing,
  readSavedConfig,
  recordedEpochs,
  removeRunFiles,
  restoreBest,
  RUN_FILES,
  writeMetrics,
} from "./run_files.ts";
import {
  configDifferences,
  configJson,
  notRunConfig,
  parseConfig,
  RESUMABLE_FIELDS,
  type SavedConfig,
  type TrainConfig,
} from "./config.ts";
import { type BatchMetrics, bestEpoch, type EpochMetrics, readMetrics } from "./metrics.ts";

/** How `train` treats an existing run directory. */
export interface TrainRunOptions {
  /** Continue the run in `config.runDir` from its latest checkpoint. @default false */
  resume?: boolean;
  /** Start afresh even if `config.runDir` holds a run (the files in `RUN_FILES` are removed). @default false */
  overwrite?: boolean;
  /**
   * Where the progress lines go (the backend, the config, the data, every `logEvery` steps, every epoch, a
   * resume or a repair of the run directory). @default console.log
   */
  log?: (line: string) => void;
}

/**
 * An opened run: the checkpoint to continue from (none for a new run), the epoch lines so far, and the
 * lock on its directory, which the caller releases when it is done with the run.
 */
export interface OpenedRun {
  checkpoint?: Checkpoint;
  history: EpochMetrics[];
  lock: DirectoryLock;
}

/** The flags a resume may change, for messages. */
const RESUMABLE_FLAGS = "--data, --log-every, --checkpoint-steps, --backend";

/** One line per file whose records differ from the run's, or [] if the data is the same. */
function dataDifferences(read: DataSource[] | undefined, saved: DataSource[]): string[] {
  const key = (s: DataSource) => `${s.file}: first ${s.records} records, SHA-256 ${s.sha256.slice(0, 16)}`;
  const here = (read ?? []).map(key), there = saved.map(key);
  if (here.join("\n") === there.join("\n")) return [];
  return [`read here: ${here.join("; ") || "nothing"}`, `the run read: ${there.join("; ")}`];
}

/**
 * The checks of `openRun` that need only the config and the run's config.json (not the data), so
 * that a command is refused before it reads the data.
 *
 * @param config The validated config.
 * @param options `resume`, `overwrite`.
 * @returns The run's saved config when resuming (undefined otherwise).
 * @throws {Error} As `openRun`.
 */
export async function checkRunConfig(config: TrainConfig, options: TrainRunOptions): Promise<SavedConfig | undefined> {
  const dir = config.runDir;
  if (!dir) {
    if (options.resume) throw new Error("Cannot resume as no run directory is given");
    return undefined;
  }
  if (options.resume && options.overwrite) throw new Error("Cannot both resume and overwrite a run: choose one");
  const text = await readSavedConfig(dir);
  if (options.resume) {
    if (text === undefined) throw new Error(`Cannot resume as ${dir}/config.json is missing: no run to continue`);
    const saved = parseConfig(text, `${dir}/config.json`);
    const differences = configDifferences(config, saved.config);
    if (differences.length > 0) {
      throw new Error(
        `Cannot resume ${dir} with a different config: ${differences.join(", ")}. ` +
          `A resume continues the run as it was started; only ${RESUMABLE_FLAGS} may change (fields ${
            RESUMABLE_FIELDS.join(", ")
          })`,
      );
    }
    return saved;
  }
  if (options.overwrite) {
    const why = text === undefined ? undefined : notRunConfig(text);
    if (why) {
      throw new Error(
        `Cannot overwrite ${dir} as its config.json is not a run's config (${why}): --overwrite removes only ` +
          `what a run writes, so move that file away or choose another --run`,
      );
    }
    return undefined;
  }
  if (text !== undefined) {
    const saved = parseConfig(text, `${dir}/config.json`);
    const differences = configDifferences(config, saved.config);
    throw new Error(
      differences.length === 0
        ? `Cannot train as ${dir} already holds this run: pass --resume ${dir} to continue it, or --overwrite`
        : `Cannot train as ${dir} holds a different run (${differences.join(", ")}): ` +
          `choose another --run, or --overwrite`,
    );
  }
  const found = await existing(dir, RUN_FILES);
  if (found.length > 0) {
    throw new Error(
      `Cannot train as ${dir} holds files of a run (${found.join(", ")}) but no config.json: ` +
        `choose another --run, or --overwrite`,
    );
  }
  return undefined;
}

/**
 * Checks the run directory against the config and the resume / overwrite choice, then (only then)
 * prepares it: a new run gets `config.json` and an empty `metrics.jsonl`; a resumed one keeps the
 * metrics lines of the epochs its checkpoint holds.
 *
 * @param config The validated config (its `runDir` may be empty: nothing is checked or written).
 * @param data The training records read (`Dataset.sources`), saved or checked against the run's.
 * @param options `resume`, `overwrite`.
 * @returns The checkpoint to continue from, if any, and the epoch lines so far; the caller disposes
 *   the checkpoint's model.
 * @throws {Error} Before anything is written: a resume without a run, with a different config (the
 *   differing fields named) or different data, a damaged metrics file or checkpoint, or a new run in
 *   a directory that holds one without `overwrite`.
 */
export async function openRun(
  config: TrainConfig,
  data: DataSource[] | undefined,
  options: TrainRunOptions,
): Promise<OpenedRun> {
  const dir = config.runDir;
  if (!dir) return { history: [], lock: { release() {} } };
  await checkRunConfig(config, options); // refusals before the directory is made or locked
  await Deno.mkdir(dir, { recursive: true });
  const action = options.resume ? `resume ${dir}` : `train in ${dir}`;
  const lock = await lockDirectory(dir, options.resume ? "resuming this run" : "training this run", action);
  try {
    // Checked again under the lock: another process may have changed the directory meanwhile.
    return { ...await openLocked(config, data, options), lock };
  } catch (e) {
    lock.release();
    throw e;
  }
}

/** `openRun` once the run directory is locked. */
async function openLocked(
  config: TrainConfig,
  data: DataSource[] | undefined,
  options: TrainRunOptions,
): Promise<Omit<OpenedRun, "lock">> {
  const dir = config.runDir;
  const saved = await checkRunConfig(config, options);
  if (options.resume && saved) {
    if (saved.data) {
      const differ = dataDifferences(data, saved.data);
      if (differ.length > 0) {
        throw new Error(
          `Cannot resume ${dir} as the training data in ${config.dataDir} is not the data the run was trained on ` +
            `(${differ.join("; ")}): pass the run's data with --data`,
        );
      }
    } else {
      console.warn(
        `note: ${dir}/config.json predates data checksums, so the data in ${config.dataDir} cannot be checked`,
      );
    }
    const checkpoint = await loadCheckpoint(dir);
    try {
      const { kept, history } = await readMetrics(dir, checkpoint?.state.epoch ?? 0, checkpoint?.state);
      const recorded = await recordedEpochs(dir);
      if (!checkpoint && recorded > 0) {
        throw new Error(
          `Cannot resume ${dir} as it has no checkpoint (latest.json is missing) although metrics.jsonl records ` +
            `${recorded} epochs: its checkpoints were removed, so it cannot continue (its best model, if any, is in ` +
            `${dir}/best). Start a new run with another --run, or --overwrite`,
        );
      }
      const images = (data ?? []).reduce((sum, source) => sum + source.records, 0) - config.valSize;
      if (checkpoint) checkRecords(dir, config, Math.ceil(images / config.batchSize), checkpoint, kept);
      for (const path of await removeTempFiles(dir)) {
        (options.log ?? console.log)(`removed ${path}, left by an interrupted write`);
      }
      if (!checkpoint) return await startRun(dir, config, data); // killed before its first checkpoint
      await writeMetrics(dir, kept);
      await restoreBest(dir, checkpoint.state.best.epoch, options.log ?? console.log);
      return { checkpoint, history };
    } catch (e) {
      checkpoint?.model.dispose();
      throw e;
    }
  }
  await removeRunFiles(dir);
  await removeTempFiles(dir);
  return await startRun(dir, config, data);
}

/**
 * Checks that what a resume reads back agrees with itself and with the config, beyond each file's own
 * form: a checkpoint's step is where its epoch ends (or, inside an epoch, where its running sums say);
 * its model is the config's; its best result is the best of the epoch lines; each metrics line's step,
 * learning rate and accuracies are what the config's schedule and the counts allow. A hand-edited
 * `config.json` (more epochs, another lr, batch size or schedule) disagrees with the records of the
 * epochs already run and is refused, as a resume with those flags would be.
 *
 * @throws {Error} `Cannot resume <dir> as <what disagrees>`.
 */
export function checkRecords(
  dir: string,
  config: TrainConfig,
  stepsPerEpoch: number,
  checkpoint: Checkpoint,
  lines: (EpochMetrics | BatchMetrics)[],
): void {
  const state = checkpoint.state;
  const at = `${dir}/${checkpoint.name}/state.json`;
  const fail = (what: string): never => {
    throw new Error(
      `Cannot resume ${dir} as ${what}. Was a file edited by hand? A run cannot change its settings: start ` +
        `a new run with --overwrite or another --run`,
    );
  };
  const totalSteps = stepsPerEpoch * config.epochs;
  const model = checkpoint.model.config;
  if (model.width !== config.width || model.seed !== config.seed || model.numClasses !== 10) {
    fail(
      `the model of ${dir}/${checkpoint.name} (width ${model.width}, seed ${model.seed}) is not config.json's ` +
        `(width ${config.width}, seed ${config.seed})`,
    );
  }
  if (state.epoch > config.epochs || (state.inEpoch && state.epoch >= config.epochs)) {
    fail(`${at} is past the end of the run: epoch ${state.epoch}, of ${config.epochs} in config.json`);
  }
  const epochStart = state.epoch * stepsPerEpoch;
  if (!state.inEpoch && state.step !== epochStart) {
    fail(
      `${at} says step ${state.step} after epoch ${state.epoch}, where config.json's ${stepsPerEpoch} steps per ` +
        `epoch give ${epochStart}`,
    );
  }
  if (state.inEpoch) {
    const p = state.inEpoch, done = state.step - p.startStep;
    if (p.startStep !== epochStart || !(done > 0 && done < stepsPerEpoch)) {
      fail(
        `${at} is at step ${state.step} inside epoch ${p.epoch}, which runs steps ${epochStart + 1}..` +
          `${epochStart + stepsPerEpoch} (from step ${p.startStep})`,
      );
    }
    if (p.seen !== done * config.batchSize) {
      fail(`${at} counts ${p.seen} images after ${done} batches of ${config.batchSize}`);
    }
    if (p.lr !== learningRate(config, state.step - 1, totalSteps)) {
      fail(
        `${at} has lr ${p.lr} at step ${state.step}, where config.json's schedule gives ` +
          `${learningRate(config, state.step - 1, totalSteps)}`,
      );
    }
  }
  const unit = (v: unknown) => typeof v === "number" && v >= 0 && v <= 1;
  const real = (v: unknown) => typeof v === "number" && Number.isFinite(v);
  const history = lines.filter((l): l is EpochMetrics => l.kind === "epoch");
  for (const line of lines) {
    const where = `metrics.jsonl's ${line.kind} line of epoch ${line.epoch}`;
    const step = line.kind === "epoch" ? line.steps : line.step;
    const first = (line.epoch - 1) * stepsPerEpoch;
    if (line.kind === "epoch" ? step !== first + stepsPerEpoch : !(step > first && step <= first + stepsPerEpoch)) {
      fail(`${where} is at step ${step}, outside that epoch's steps ${first + 1}..${first + stepsPerEpoch}`);
    }
    if (!(real(line.loss) && line.loss >= 0 && unit(line.trainAccuracy) && real(line.imagesPerSecond))) {
      fail(`${where} holds a loss or train accuracy that no run writes: ${JSON.stringify(line).slice(0, 120)}`);
    }
    if (line.lr !== learningRate(config, step - 1, totalSteps)) {
      fail(
        `${where} has lr ${line.lr} at step ${step}, where config.json's schedule gives ` +
          `${learningRate(config, step - 1, totalSteps)}`,
      );
    }
    if (line.kind === "epoch" && !(unit(line.valClean) && unit(line.valPgd) && line.valPgd <= line.valClean)) {
      fail(`${where} has validation accuracies that are not 0 <= PGD <= clean <= 1: ${line.valPgd}, ${line.valClean}`);
    }
  }
  // The best result is the first epoch with the highest validation PGD (standard: clean) accuracy.
  const best = bestEpoch(config.objective, history);
  if (state.best.epoch !== best.epoch || state.best.valPgd !== best.valPgd) {
    fail(
      `${at} names epoch ${state.best.epoch} (PGD ${state.best.valPgd}) as the best, where metrics.jsonl's ` +
        `best is epoch ${best.epoch} (PGD ${best.valPgd})`,
    );
  }
}

/** Writes a new run's config.json and empty metrics.jsonl. */
async function startRun(
  dir: string,
  config: TrainConfig,
  data: DataSource[] | undefined,
): Promise<Omit<OpenedRun, "lock">> {
  await Deno.mkdir(dir, { recursive: true });
  await writeFileAtomic(`${dir}/config.json`, configJson(config, data));
  await writeFileAtomic(`${dir}/metrics.jsonl`, "");
  return { history: [] };
}
