/**
 * Evaluation (SPEC section 5), one function per measurement: clean and PGD-20 accuracy with per-class
 * rows (`cleanAndPgd`), HAAT accuracy (`haatAccuracy`), AutoAttack (`autoAttackSection`) and the eps
 * sweep (`epsSweep`); `evaluate` checks every option first (`resolveEvaluateOptions`, options.ts) and
 * runs those asked for, going on from an interrupted evaluation's progress (progress.ts). Each attack's
 * output is checked (inside B(x0, eps) and [0,1]) before it is counted, and a point counts as robust
 * only if it is classified correctly both clean and after the attack (accuracy.ts).
 *
 * @module
 */
import { backendInfo } from "../backend/backend.ts";
import { tf } from "../tfjs.ts";
import type { Classifier } from "../core.ts";
import { batches, toTensors } from "../data/batches.ts";
import type { Dataset } from "../data/cifar10.ts";
import { deriveSeed } from "../random.ts";
import { outcomesFromString, outcomesToString } from "./paired.ts";
import { type Reading, runAsync, runSync } from "../reading.ts";
import { pgdReading } from "../attacks/pgd.ts";
import { type HaatOptions, haatReading } from "../attacks/haat.ts";
import { apgdReading } from "../attacks/apgd.ts";
import { type AutoAttackProgress, autoAttackReading } from "../attacks/autoattack.ts";
import { accuracyReading, robustPredictionsReading } from "./accuracy.ts";
import {
  type ClassRow,
  type EvaluateOptions,
  type EvaluationProgress,
  type EvaluationReport,
  type ResolvedEvaluateOptions as Resolved,
  resolveEvaluateOptions,
  type SweepRow,
} from "./options.ts";
import { checkProgress, ProgressProblem } from "./progress.ts";

/**
 * Clean and PGD robust accuracy of the first `n` images, in total and per class.
 *
 * @returns `{ clean, pgd, perClass }`.
 */
function* cleanAndPgd(
  f: Classifier,
  dataset: Dataset,
  o: Resolved,
): Reading<{ clean: number; pgd: number; perClass: ClassRow[]; perImage: NonNullable<EvaluationReport["perImage"]> }> {
  const rows = dataset.classNames.map((name, label) => ({ label, name, n: 0, clean: 0, pgd: 0 }));
  const cleanOutcomes: boolean[] = new Array(o.n).fill(false), pgdOutcomes: boolean[] = new Array(o.n).fill(false);
  let clean = 0, robust = 0, seen = 0, batch = 0;
  for (const { x, y, indices } of batches({ ...dataset, size: o.n }, { batchSize: o.batchSize })) {
    const seed = deriveSeed(o.seed, batch++);
    try {
      const r = yield* robustPredictionsReading(
        f,
        x,
        y,
        (xb, yb) => pgdReading(f, xb, yb, { eps: o.eps, alpha: o.alpha, steps: o.pgdSteps, seed }),
        {
          name: "PGD",
          eps: o.eps,
          batchSize: o.batchSize,
        },
      );
      indices.forEach((index, j) => {
        const row = rows[dataset.labels[index]];
        row.n++;
        row.clean += Number(r.clean[j]);
        row.pgd += Number(r.robust[j]);
        cleanOutcomes[index] = r.clean[j];
        pgdOutcomes[index] = r.robust[j];
      });
      clean += r.clean.filter(Boolean).length;
      robust += r.robust.filter(Boolean).length;
    } finally {
      tf.dispose([x, y]);
    }
    seen += indices.length;
    if (o.verbose) {
      const pct = (v: number) => `${(100 * v / seen).toFixed(1)}%`;
      console.log(`  evaluate ${seen}/${o.n}: clean ${pct(clean)}  PGD-${o.pgdSteps} ${pct(robust)}`);
    }
  }
  const perClass = rows.map((row) => ({
    ...row,
    clean: row.n > 0 ? row.clean / row.n : 0,
    pgd: row.n > 0 ? row.pgd / row.n : 0,
  }));
  return {
    clean: clean / o.n,
    pgd: robust / o.n,
    perClass,
    perImage: { clean: outcomesToString(cleanOutcomes), pgd: outcomesToString(pgdOutcomes) },
  };
}

/**
 * HAAT robust accuracy of the first `n` images (SPEC section 1's attack, options `o.haat`), going on after
 * the batches whose outcomes are `done` (batch b draws with `deriveSeed(o.seed, b)` wherever it starts).
 */
function* haatAccuracy(
  f: Classifier,
  dataset: Dataset,
  o: Resolved,
  done: boolean[],
  onBatch: (outcomes: boolean[]) => void,
): Reading<{ haat: NonNullable<EvaluationReport["haat"]>; outcomes: boolean[] }> {
  const h = o.haat!;
  let batch = done.length / o.batchSize;
  const outcomes: boolean[] = [...done];
  for (const { x, y } of batches({ ...dataset, size: o.n }, { batchSize: o.batchSize, startBatch: batch })) {
    const seed = deriveSeed(o.seed, batch++);
    try {
      const r = yield* robustPredictionsReading(f, x, y, (xb, yb) => haatImages(f, xb, yb, { ...h, seed }), {
        name: "HAAT",
        eps: o.eps,
        batchSize: o.batchSize,
      });
      outcomes.push(...r.robust);
    } finally {
      tf.dispose([x, y]);
    }
    if (o.verbose) {
      const share = (100 * outcomes.filter(Boolean).length / outcomes.length).toFixed(1);
      console.log(`  HAAT-${h.steps} ${outcomes.length}/${o.n}: ${share}%`);
    }
    if (outcomes.length < o.n) onBatch(outcomes);
  }
  const robust = outcomes.filter(Boolean).length;
  if (o.verbose) console.log(`  HAAT-${h.steps} (k = ${h.k}, xi = ${h.xi}): ${(100 * robust / o.n).toFixed(1)}%`);
  return { haat: { accuracy: robust / o.n, ...h }, outcomes };
}

/** AutoAttack on the first `o.autoattack.n` images. */
function* autoAttackSection(
  f: Classifier,
  dataset: Dataset,
  o: Resolved,
  resume: AutoAttackProgress | undefined,
  onAttack: (progress: AutoAttackProgress) => void,
): Reading<NonNullable<EvaluationReport["autoattack"]>> {
  const { version, n: m, budgets } = o.autoattack!;
  const { x, y } = toTensors(dataset, Array.from({ length: m }, (_, i) => i));
  if (o.verbose) console.log(`  AutoAttack (${version}) on ${m} images, eps ${(o.eps * 255).toFixed(1)}/255`);
  try {
    const result = yield* autoAttackReading(f, x, y, {
      version,
      eps: o.eps,
      seed: o.seed,
      batchSize: o.batchSize,
      verbose: o.verbose,
      budgets,
      resume,
      onAttack,
    });
    result.x.dispose();
    return {
      version,
      n: m,
      clean: result.cleanAccuracy,
      robust: result.robustAccuracy,
      perAttack: result.perAttack,
      perImage: outcomesToString(result.robust),
      ...(budgets ? { budgets } : {}),
      ...(result.warnings.length > 0 ? { warnings: result.warnings } : {}),
    };
  } finally {
    tf.dispose([x, y]);
  }
}

/**
 * Robust accuracy against each eps of `o.sweep` (PGD with alpha = eps / 4, and APGD-CE), after the rows
 * already `done`, calling `onRow` with the rows so far after each.
 */
function* epsSweep(
  f: Classifier,
  dataset: Dataset,
  o: Resolved,
  done: SweepRow[],
  onRow: (rows: SweepRow[]) => void,
): Reading<NonNullable<EvaluationReport["sweep"]>> {
  const m = o.sweep!.n;
  const { x, y } = toTensors(dataset, Array.from({ length: m }, (_, i) => i));
  const rows: SweepRow[] = [...done];
  try {
    for (const e of o.sweep!.eps.slice(done.length)) {
      if (e === 0) {
        const acc = yield* accuracyReading(f, x, y, { batchSize: o.batchSize });
        rows.push({ eps: 0, pgd: acc, apgdCe: acc });
        onRow([...rows]);
        continue;
      }
      const options = { eps: e, batchSize: o.batchSize };
      const pgdAcc = robustShare(
        yield* robustPredictionsReading(
          f,
          x,
          y,
          (xb, yb, b) =>
            pgdReading(f, xb, yb, { eps: e, alpha: e / 4, steps: o.pgdSteps, seed: deriveSeed(o.seed, b) }),
          { ...options, name: "PGD" },
        ),
      );
      const apgdAcc = robustShare(
        yield* robustPredictionsReading(
          f,
          x,
          y,
          (xb, yb, b) => apgdReading(f, xb, yb, { eps: e, loss: "ce", seed: deriveSeed(o.seed, b) }),
          { ...options, name: "APGD-CE" },
        ),
      );
      rows.push({ eps: e, pgd: pgdAcc, apgdCe: apgdAcc });
      onRow([...rows]);
      if (o.verbose) {
        console.log(
          `  sweep eps ${(e * 255).toFixed(1)}/255: PGD-${o.pgdSteps} ${(100 * pgdAcc).toFixed(1)}%  ` +
            `APGD-CE ${(100 * apgdAcc).toFixed(1)}%`,
        );
      }
    }
  } finally {
    tf.dispose([x, y]);
  }
  return { n: m, rows };
}

/** HAAT's images of a batch, as a reading. */
function* haatImages(f: Classifier, x: tf.Tensor4D, y: tf.Tensor1D, options: HaatOptions): Reading<tf.Tensor4D> {
  return (yield* haatReading(f, x, y, options, false)).x;
}

/** The share of robust points. */
function robustShare(r: { robust: boolean[] }): number {
  return r.robust.filter(Boolean).length / r.robust.length;
}

/**
 * The evaluation of SPEC section 5: clean and PGD accuracy (per class too), and on request HAAT
 * accuracy, AutoAttack and the eps sweep. Every option is checked before anything runs; robust means
 * correct clean and after the attack. With `onProgress` and `resume`, an interrupted evaluation goes on
 * where it stopped (after its last finished section, AutoAttack attack or sweep eps).
 *
 * @param f Classifier (put a model in eval mode first).
 * @param dataset Test images (at least one).
 * @param options See `EvaluateOptions`.
 * @returns The report.
 * @throws {Error} On an empty dataset or a bad option (before anything runs), or if an attack's
 *   output leaves the eps-ball or [0,1].
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { evaluate } from "./evaluate.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const images = Uint8Array.from({ length: 4 * 3072 }, (_, i) => (i * 37) % 256);
 * const data = { images, labels: Int32Array.from([0, 1, 2, 3]), size: 4, classNames: "abcdefghij".split("") };
 * const report = evaluate(f, data, { pgdSteps: 2 });
 * assert.ok(report.pgd <= report.clean);
 * w.dispose();
 * ```
 */
export function evaluate(f: Classifier, dataset: Dataset, options: EvaluateOptions = {}): EvaluationReport {
  return runSync("evaluate", evaluateReading(f, dataset, options));
}

/**
 * `evaluate`, reading asynchronously (the attacks' reads, and each batch's predictions): the way to
 * evaluate on the webgpu backend. The report is the one `evaluate` writes.
 *
 * @param f Classifier (put a model in eval mode first).
 * @param dataset Test images (at least one).
 * @param options See `EvaluateOptions`.
 * @returns The report.
 * @throws {Error} As `evaluate`.
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { evaluate, evaluateAsync } from "./evaluate.ts";
 * import { tf, useBackend } from "../backend/backend.ts";
 * await useBackend("cpu");
 * const w = tf.randomNormal([3072, 10], 0, 0.05, "float32", 1);
 * const f = (x: tf.Tensor4D) => tf.matMul(tf.reshape(x, [x.shape[0], -1]), w) as tf.Tensor2D;
 * const images = Uint8Array.from({ length: 4 * 3072 }, (_, i) => (i * 37) % 256);
 * const data = { images, labels: Int32Array.from([0, 1, 2, 3]), size: 4, classNames: "abcdefghij".split("") };
 * const a = evaluate(f, data, { pgdSteps: 2 }), b = await evaluateAsync(f, data, { pgdSteps: 2 });
 * assert.deepStrictEqual(b.perImage, a.perImage);
 * w.dispose();
 * ```
 */
export function evaluateAsync(
  f: Classifier,
  dataset: Dataset,
  options: EvaluateOptions = {},
): Promise<EvaluationReport> {
  return runAsync(evaluateReading(f, dataset, options));
}

/** `evaluate` as a reading: its sections, one after the other. */
function* evaluateReading(f: Classifier, dataset: Dataset, options: EvaluateOptions): Reading<EvaluationReport> {
  const o = resolveEvaluateOptions(dataset, options);
  if (options.resume) {
    try {
      checkProgress(options.resume, o, dataset);
    } catch (e) {
      throw e instanceof ProgressProblem ? new Error(`Cannot resume the evaluation as ${e.message}`) : e;
    }
  }
  const t0 = performance.now(), before = options.resume?.seconds ?? 0;
  const p: EvaluationProgress = { ...options.resume, seconds: before };
  const saved = () => {
    p.seconds = before + (performance.now() - t0) / 1000;
    options.onProgress?.({ ...p });
  };
  if (!p.pgd) {
    p.pgd = yield* cleanAndPgd(f, dataset, o);
    saved();
  }
  if (o.haat && !p.haat) {
    const settings = o.haat, batchSize = o.batchSize;
    const done = p.haatPartial ? outcomesFromString(p.haatPartial.outcomes) : [];
    const { haat, outcomes } = yield* haatAccuracy(f, dataset, o, done, (sofar) => {
      p.haatPartial = { haat: settings, batchSize, outcomes: outcomesToString(sofar) };
      saved();
    });
    delete p.haatPartial;
    p.haat = { haat, outcomes: outcomesToString(outcomes) };
    saved();
  }
  if (o.autoattack && !p.autoattack) {
    p.autoattack = yield* autoAttackSection(f, dataset, o, p.autoattackProgress, (progress) => {
      p.autoattackProgress = progress;
      saved();
    });
    delete p.autoattackProgress;
    saved();
  }
  if (o.sweep && (p.sweep?.length ?? 0) < o.sweep.eps.length) {
    p.sweep = (yield* epsSweep(f, dataset, o, p.sweep ?? [], (rows) => {
      p.sweep = rows;
      saved();
    })).rows;
  }
  const { clean, pgd, perClass, perImage } = p.pgd;
  return {
    n: o.n,
    eps: o.eps,
    pgdSteps: o.pgdSteps,
    alpha: o.alpha,
    seed: o.seed,
    batchSize: o.batchSize,
    clean,
    pgd,
    ...(p.haat ? { haat: p.haat.haat } : {}),
    perClass,
    perImage: { ...perImage, ...(p.haat ? { haat: p.haat.outcomes } : {}) },
    ...(p.autoattack ? { autoattack: p.autoattack } : {}),
    ...(o.sweep ? { sweep: { n: o.sweep.n, rows: p.sweep! } } : {}),
    seconds: before + (performance.now() - t0) / 1000,
    backend: backendInfo().name,
  };
}
