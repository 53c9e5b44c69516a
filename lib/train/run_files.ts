/**
 * The files of a run directory: which they are (`RUN_FILES`), reading its config and counting its epochs,
 * and the helpers that change them: removing a run all or none (`--overwrite`), putting `best/` back, and
 * rewriting `metrics.jsonl`. What is allowed when is the resume policy, in run_dir.ts.
 *
 * @module
 */
import { writeFileAtomic } from "../io/atomic.ts";
import { checkpointName } from "./checkpoint.ts";
import { loadModel } from "../models/resnet18.ts";
import { configDifferences, parseConfig, type TrainConfig } from "./config.ts";
import type { BatchMetrics, EpochMetrics } from "./metrics.ts";

/** What a run writes in its directory (`best/` by train; `report.*` by evaluate or demo). */
export const RUN_FILES = [
  "config.json",
  "metrics.jsonl",
  "latest.json",
  "checkpoints",
  "best",
  "report.json",
  "report.md",
];

/** Which of `names` exist in `dir`. */
export async function existing(dir: string, names: string[]): Promise<string[]> {
  const found: string[] = [];
  for (const name of names) {
    try {
      await Deno.lstat(`${dir}/${name}`);
      found.push(name);
    } catch { /* absent */ }
  }
  return found;
}

/** Text of the run's config.json, or undefined if there is none. */
export async function readSavedConfig(dir: string): Promise<string | undefined> {
  try {
    const info = await Deno.stat(dir);
    if (!info.isDirectory) throw new Error(`Cannot use ${dir} as the run directory: it is not a directory`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  try {
    return await Deno.readTextFile(`${dir}/config.json`);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`Cannot read ${dir}/config.json: ${(e as Error).message}`);
  }
}

/**
 * Puts `best/` back when it is missing and a checkpoint of the best epoch is kept (the same weights, saved
 * at the same moment); else says that it is missing.
 */
export async function restoreBest(dir: string, bestEpoch: number, log: (line: string) => void): Promise<void> {
  if (bestEpoch === 0 || (await existing(dir, ["best"])).length > 0) return;
  const from = `${dir}/${checkpointName(bestEpoch)}`;
  if ((await existing(dir, [checkpointName(bestEpoch)])).length > 0) {
    const model = await loadModel(from);
    try {
      await model.save(`${dir}/best`);
    } finally {
      model.dispose();
    }
    log(`restored ${dir}/best (epoch ${bestEpoch}) from ${from}, as best/ was missing`);
  } else {
    console.warn(
      `warning: ${dir}/best (the model of epoch ${bestEpoch}) is missing and no checkpoint of that epoch is ` +
        `kept: best/ comes back only if a later epoch does better`,
    );
  }
}

/**
 * What a directory holds, for a command that may replace it: `"none"` (no run's files), `"same"` (a
 * run of this very config, which the same command would make again) or `"other"`.
 *
 * @param dir The directory.
 * @param config The config that would run there.
 * @returns The verdict.
 */
export async function runInDirectory(dir: string, config: TrainConfig): Promise<"none" | "same" | "other"> {
  const text = await readSavedConfig(dir);
  if (text === undefined) return (await existing(dir, RUN_FILES)).length > 0 ? "other" : "none";
  try {
    return configDifferences(config, parseConfig(text).config).length === 0 ? "same" : "other";
  } catch {
    return "other";
  }
}

/**
 * Removes the files of a run (`RUN_FILES`) from `dir`, all or none: each is first moved into a new
 * directory inside `dir` (a rename, which does not copy), and only when all are moved is that directory
 * deleted. If one cannot be moved, those moved are put back and nothing is removed; if the deletion
 * fails part-way (a file that cannot be deleted, deep in `checkpoints/`), the run's own names are already
 * free and what is left is reported, in that one directory.
 *
 * @param dir The run directory (locked).
 * @throws {Error} Naming the file that cannot be moved, when nothing was removed.
 */
export async function removeRunFiles(dir: string): Promise<void> {
  const names = await existing(dir, RUN_FILES);
  if (names.length === 0) return;
  const trash = `${dir}/.overwritten-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  await Deno.mkdir(trash);
  const moved: string[] = [];
  for (const name of names) {
    try {
      await Deno.rename(`${dir}/${name}`, `${trash}/${name}`);
      moved.push(name);
    } catch (e) {
      const stuck: string[] = [];
      for (const back of moved.reverse()) {
        await Deno.rename(`${trash}/${back}`, `${dir}/${back}`).catch(() => stuck.push(back));
      }
      if (stuck.length === 0) await Deno.remove(trash).catch(() => {});
      throw new Error(
        `Cannot overwrite ${dir} as its ${name} cannot be removed: ${(e as Error).message}. ` +
          (stuck.length === 0
            ? "Nothing was removed"
            : `${stuck.join(", ")} could not be put back from ${trash}: move them back by hand`),
      );
    }
  }
  try {
    await Deno.remove(trash, { recursive: true });
  } catch (e) {
    console.warn(
      `warning: the files of the run replaced in ${dir} were moved to ${trash}, and not all of them could be ` +
        `deleted there (${(e as Error).message}): remove that directory by hand`,
    );
  }
}

/** Epoch lines in the run's metrics.jsonl (0 when it is missing or holds none). */
export async function recordedEpochs(dir: string): Promise<number> {
  const text = await Deno.readTextFile(`${dir}/metrics.jsonl`).catch(() => "");
  return text.split("\n").filter((line) => line.includes('"kind":"epoch"')).length;
}

/** Rewrites metrics.jsonl with exactly these lines. */
export async function writeMetrics(dir: string, lines: (EpochMetrics | BatchMetrics)[]): Promise<void> {
  await writeFileAtomic(`${dir}/metrics.jsonl`, lines.map((l) => JSON.stringify(l) + "\n").join(""));
}
