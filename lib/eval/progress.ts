/**
 * An interrupted evaluation's progress (`EvaluationProgress`): its check against the evaluation it is to
 * resume (`evaluationProgressProblem`), and its file beside the report (`readProgressFile`,
 * `writeProgressFile`), keyed by the model's weights, the test files and every option.
 *
 * @module
 */
import { tf } from "../tfjs.ts";
import type { Dataset } from "../data/cifar10.ts";
import { writeFileAtomicSync } from "../io/atomic.ts";
import { sha256Hex } from "../io/sha256.ts";
import { haatDifferences } from "../attacks/haat.ts";
import {
  type EvaluateOptions,
  type EvaluationProgress,
  type ResolvedEvaluateOptions as Resolved,
  resolveEvaluateOptions,
} from "./options.ts";

/**
 * What is wrong with `progress` as the finished parts of an evaluation of `dataset` with `options`, if
 * anything: parts of another form, outcomes of another number of images, HAAT or AutoAttack of other
 * settings, sweep rows at other eps (another evaluation's progress), and numbers that do not agree with
 * the per-image outcomes they were counted from (a damaged file): clean and PGD accuracy are the shares
 * of 1s in their outcomes, per class too, a point robust under PGD or HAAT is right clean, and every
 * accuracy lies in [0, 1].
 *
 * @param dataset The dataset the evaluation runs on.
 * @param options Its options (as given to `evaluate`).
 * @param progress What an interrupted evaluation saved (`onProgress`).
 * @returns The first problem, as a clause ("its clean accuracy 1.5 is not ..."), or undefined if none.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { evaluationProgressProblem } from "./progress.ts";
 * const data = { images: new Uint8Array(2 * 3072), labels: Int32Array.from([0, 1]), size: 2, classNames: ["a", "b"] };
 * const pgd = { clean: 1.5, pgd: 0, perClass: [], perImage: { clean: "11", pgd: "00" } };
 * const problem = evaluationProgressProblem(data, {}, { pgd, seconds: 1 });
 * assert.match(problem ?? "", /its clean accuracy 1\.5 is not the share of 1s in its 2 per-image outcomes \(1\)/);
 * ```
 */
export function evaluationProgressProblem(
  dataset: Dataset,
  options: EvaluateOptions,
  progress: EvaluationProgress,
): string | undefined {
  try {
    checkProgress(progress, resolveEvaluateOptions(dataset, options), dataset);
    return undefined;
  } catch (e) {
    if (e instanceof ProgressProblem) return e.message;
    throw e;
  }
}

/** A problem of a progress, as the clause `evaluationProgressProblem` returns. */
export class ProgressProblem extends Error {}

/** See `evaluationProgressProblem`; throws a `ProgressProblem`. */
export function checkProgress(resume: EvaluationProgress, o: Resolved, dataset: Dataset): void {
  const fail = (what: string): never => {
    throw new ProgressProblem(what);
  };
  const other = (what: string) => fail(`${what}: was it made with other options?`);
  const object = (v: unknown) => typeof v === "object" && v !== null && !Array.isArray(v);
  const unit = (v: unknown) => typeof v === "number" && v >= 0 && v <= 1;
  const outcomes = (name: string, v: unknown, length: number): string => {
    if (typeof v !== "string" || !/^[01]*$/.test(v)) fail(`its ${name} outcomes are not a string of 0 and 1`);
    if ((v as string).length !== length) {
      other(`it holds ${name} outcomes of ${(v as string).length} images, not ${length}`);
    }
    return v as string;
  };
  const ones = (v: string) => [...v].filter((c) => c === "1").length;
  const share = (name: string, value: unknown, of: string) => {
    if (value !== ones(of) / of.length) {
      fail(
        `its ${name} accuracy ${JSON.stringify(value)} is not the share of 1s in its ${of.length} per-image ` +
          `outcomes (${ones(of) / of.length})`,
      );
    }
  };
  const within = (name: string, robust: string, clean: string) => {
    const j = [...robust].findIndex((c, i) => c === "1" && clean[i] !== "1");
    if (j >= 0) fail(`its ${name} outcome of image ${j} is robust although the image is wrong clean`);
  };
  if (!object(resume)) fail("it is not an object of finished parts");
  if (!(typeof resume.seconds === "number" && Number.isFinite(resume.seconds) && resume.seconds >= 0)) {
    fail(`its seconds are ${resume.seconds}`);
  }
  let clean: string | undefined;
  if (resume.pgd !== undefined) {
    const p = resume.pgd;
    if (!object(p) || !object(p.perImage) || !Array.isArray(p.perClass)) {
      fail(`its clean and PGD part is not { clean, pgd, perClass, perImage }: ${JSON.stringify(p).slice(0, 80)}`);
    }
    clean = outcomes("clean", p.perImage.clean, o.n);
    const robust = outcomes("PGD", p.perImage.pgd, o.n);
    share("clean", p.clean, clean);
    share("PGD", p.pgd, robust);
    within("PGD", robust, clean);
    // Per class: counted from the labels and the same outcomes, as cleanAndPgd counts them.
    const rows = dataset.classNames.map((name, label) => ({ label, name, n: 0, clean: 0, pgd: 0 }));
    for (let i = 0; i < o.n; i++) {
      const row = rows[dataset.labels[i]];
      row.n++;
      row.clean += Number(clean[i] === "1");
      row.pgd += Number(robust[i] === "1");
    }
    const expected = rows.map((r) => ({ ...r, clean: r.n > 0 ? r.clean / r.n : 0, pgd: r.n > 0 ? r.pgd / r.n : 0 }));
    if (JSON.stringify(p.perClass) !== JSON.stringify(expected)) {
      fail("its per-class rows are not those of its per-image outcomes and the images' labels");
    }
  }
  if (resume.haat !== undefined) {
    if (!object(resume.haat) || !object(resume.haat.haat)) fail("its HAAT part is not { haat, outcomes }");
    const h = resume.haat.haat;
    if (!o.haat) other("it holds HAAT, which this evaluation does not run");
    const differ = haatDifferences(h, o.haat!);
    if (differ.length > 0) other(`its HAAT has ${differ.join("; ")}`);
    const robust = outcomes("HAAT", resume.haat.outcomes, o.n);
    share("HAAT", h.accuracy, robust);
    if (clean !== undefined) within("HAAT", robust, clean);
  }
  if (resume.haatPartial !== undefined) {
    if (!object(resume.haatPartial)) fail("its unfinished HAAT part is not an object");
    const { haat: h, batchSize, outcomes: done } = resume.haatPartial;
    if (!o.haat) other("it holds unfinished HAAT, which this evaluation does not run");
    if (!object(h)) fail("its unfinished HAAT names no HAAT options");
    const differ = haatDifferences(h, o.haat!);
    if (differ.length > 0) other(`its unfinished HAAT has ${differ.join("; ")}`);
    if (batchSize !== o.batchSize) other(`its unfinished HAAT ran in batches of ${batchSize}, not ${o.batchSize}`);
    if (typeof done !== "string" || !/^[01]*$/.test(done)) fail("its unfinished HAAT outcomes are not 0 and 1");
    if (!(done.length % batchSize === 0 && done.length < o.n)) {
      other(`its unfinished HAAT holds outcomes of ${done.length} images, not whole batches of fewer than ${o.n}`);
    }
    if (clean !== undefined) within("unfinished HAAT", done, clean.slice(0, done.length));
  }
  const aa = resume.autoattack, aaProgress = resume.autoattackProgress;
  if (aa !== undefined && !(object(aa) && Array.isArray(aa.perAttack))) fail("its AutoAttack part is not an object");
  if (aaProgress !== undefined && !(object(aaProgress) && Array.isArray(aaProgress.robust))) {
    fail("its unfinished AutoAttack part holds no per-point outcomes");
  }
  const aaN = aa?.n ?? aaProgress?.robust.length;
  if (aaN !== undefined && aaN !== o.autoattack?.n) other(`its AutoAttack ran on ${aaN} images`);
  if (aa) {
    if (aa.version !== o.autoattack?.version) other(`its AutoAttack is version ${aa.version}`);
    const accuracies = aa.perAttack.map((a) => a?.robustAccuracy);
    const ordered = accuracies.every((r, i) => unit(r) && (i === 0 || r <= accuracies[i - 1]));
    if (!(unit(aa.clean) && unit(aa.robust) && aa.robust <= aa.clean && ordered && accuracies.at(-1) === aa.robust)) {
      fail(
        `its AutoAttack accuracies are not 0 <= robust <= clean <= 1, falling attack by attack to the robust one: ` +
          `clean ${aa.clean}, robust ${aa.robust}, per attack ${accuracies.join(", ")}`,
      );
    }
  }
  if (resume.sweep !== undefined) {
    if (!Array.isArray(resume.sweep)) fail("its sweep is not a list of rows");
    resume.sweep.forEach((row, i) => {
      if (!object(row) || row.eps !== o.sweep?.eps[i]) other(`its sweep row ${i} is at eps ${row?.eps}`);
      if (!(unit(row.pgd) && unit(row.apgdCe))) {
        fail(`its sweep row at eps ${row.eps} has accuracies outside [0, 1]: PGD ${row.pgd}, APGD-CE ${row.apgdCe}`);
      }
    });
  }
}

/**
 * SHA-256 of the variables' float32 values, in order: which weights an evaluation ran on.
 *
 * @param variables The model's variables (trainable ones, then statistics).
 * @returns The digest, in hex.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { weightsDigest } from "./progress.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const v = tf.variable(tf.tensor1d([1, 2]));
 * assert.strictEqual((await weightsDigest([v])).length, 64);
 * v.dispose();
 * ```
 */
export async function weightsDigest(variables: tf.Variable[]): Promise<string> {
  const flat = tf.tidy(() => tf.concat(variables.map((v) => tf.reshape(v, [-1]))));
  let values: Float32Array;
  try {
    values = await flat.data() as Float32Array;
  } finally {
    flat.dispose();
  }
  return await sha256Hex(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}

/** What an evaluation's progress file must match to be resumed: the weights, the test files, the options. */
export interface ProgressKey {
  weights: string;
  data: unknown;
  options: unknown;
}

/**
 * The options in which a saved key and this run's differ, each as `name saved, now current` (nested ones
 * as `haat.w2`), so that a refusal names them.
 */
function keyDifferences(saved: unknown, now: unknown, prefix = ""): string[] {
  const object = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!object(saved) || !object(now)) {
    return JSON.stringify(saved) === JSON.stringify(now)
      ? []
      : [`${prefix || "options"} ${JSON.stringify(saved)}, now ${JSON.stringify(now)}`];
  }
  const names = [...new Set([...Object.keys(saved), ...Object.keys(now)])];
  return names.flatMap((name) =>
    object(saved[name]) && object(now[name])
      ? keyDifferences(saved[name], now[name], `${prefix}${name}.`)
      : JSON.stringify(saved[name]) === JSON.stringify(now[name])
      ? []
      : [`${prefix}${name} ${JSON.stringify(saved[name]) ?? "(none)"}, now ${JSON.stringify(now[name]) ?? "(none)"}`]
  );
}

/**
 * Reads `path` (an interrupted evaluation's progress, `writeProgressFile`), if there is one, and checks it
 * was made for `key` and holds a progress this evaluation can resume (`evaluationProgressProblem`).
 *
 * @param path The progress file.
 * @param key The weights, test files and options of this evaluation.
 * @param test The test images.
 * @param options The options of this evaluation (as given to `evaluate`).
 * @returns Its progress, or undefined when there is no file.
 * @throws {Error} Naming the file and the part of the key that differs (each option that differs, by name:
 *   `haat.w2 0.5, now 0.25`), or if it is not JSON or not consistent.
 */
export async function readProgressFile(
  path: string,
  key: ProgressKey,
  test: Dataset,
  options: EvaluateOptions,
): Promise<EvaluationProgress | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw new Error(`Cannot resume from ${path}: ${(e as Error).message}`);
  }
  let saved: { key: ProgressKey; progress: EvaluationProgress };
  try {
    saved = JSON.parse(text);
  } catch (e) {
    throw new Error(
      `Cannot resume from ${path} as it is not JSON (${(e as Error).message}): remove it to start afresh`,
    );
  }
  for (const part of ["weights", "data", "options"] as const) {
    if (JSON.stringify(saved?.key?.[part]) !== JSON.stringify(key[part])) {
      const named = part === "options" ? keyDifferences(saved?.key?.options, key.options) : [];
      const what = named.length > 0
        ? named.join("; ")
        : `${JSON.stringify(saved?.key?.[part])}, now ${JSON.stringify(key[part])}`;
      throw new Error(
        `Cannot evaluate as ${path} holds an unfinished evaluation with other ${part}: ${what}. Run the command ` +
          `that made it to finish it, or remove the file to start afresh`,
      );
    }
  }
  // The same options and weights, but is what it holds consistent (a damaged file that is still JSON)?
  const problem = evaluationProgressProblem(test, options, saved.progress);
  if (problem) throw new Error(`Cannot resume from ${path} as ${problem}. Remove it to start afresh`);
  return saved.progress;
}

/**
 * Writes an evaluation's progress with its key to `path`, atomically (`readProgressFile` reads it).
 *
 * @param path The progress file.
 * @param key The weights, test files and options of the evaluation.
 * @param progress What it finished (`EvaluateOptions.onProgress`).
 */
export function writeProgressFile(path: string, key: ProgressKey, progress: EvaluationProgress): void {
  writeFileAtomicSync(path, JSON.stringify({ key, progress }));
}
