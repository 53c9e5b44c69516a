/**
 * Interrupted evaluations go on where they stopped and end with the uninterrupted report: AutoAttack
 * resumed after each of its attacks, `evaluate` resumed from each progress it reported, and `deno task
 * evaluate` killed (SIGKILL) once its progress file exists and run again; a progress file of other options
 * is refused before anything runs.
 */
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import {
  autoAttack,
  type AutoAttackProgress,
  evaluate,
  type EvaluationProgress,
  type EvaluationReport,
  HAAT_DEFAULTS,
  resnet18,
  tf,
  toTensors,
} from "../../mod.ts";
import { evaluationProgressProblem } from "../../lib/eval/progress.ts";
import { linearClassifier, randomImages, records, setup, syntheticDataset } from "../_helpers.ts";

await setup();

const BUDGETS = { apgdSteps: 5, fabSteps: 3, squareSteps: 30 };

Deno.test("autoAttack() resumed after any of its attacks gives the uninterrupted run's robust points", () => {
  const { f, w, b } = linearClassifier(10, 41);
  const x = randomImages(24, 42);
  const y = tf.tidy(() => tf.argMax(f(x), 1).cast("int32")) as tf.Tensor1D; // all clean-correct
  const eps = 1 / 255;
  const progress: AutoAttackProgress[] = [];
  const full = autoAttack(f, x, y, { eps, budgets: BUDGETS, batchSize: 10, onAttack: (p) => progress.push(p) });
  assertEquals(progress.map((p) => p.perAttack.length), [1, 2, 3, 4]);
  // The case is not trivial: some points survive every attack and some fall.
  const robust = full.robust.filter(Boolean).length;
  assert(robust > 0 && robust < 24, `robust ${robust} of 24: pick another eps`);
  let calls = 0;
  const counted = (xs: tf.Tensor4D) => (calls++, f(xs));
  const callsAfter: number[] = [];
  for (const p of progress) {
    calls = 0;
    const resumed = autoAttack(counted, x, y, { eps, budgets: BUDGETS, batchSize: 10, resume: p });
    callsAfter.push(calls);
    assertEquals(resumed.robust, full.robust, `resumed after ${p.perAttack.length} attacks`);
    assertEquals(
      resumed.perAttack.map((a) => [a.attack, a.robustAccuracy]),
      full.perAttack.map((a) => [a.attack, a.robustAccuracy]),
    );
    resumed.x.dispose();
  }
  // The attacks already run are skipped: only the sanity checks and the clean pass remain at the end.
  assert(callsAfter.every((c, i) => i === 0 || c < callsAfter[i - 1]), `model calls ${callsAfter}`);
  assert(callsAfter[3] <= 10, `model calls after all four attacks: ${callsAfter[3]}`);
  const wrongOrder = { ...progress[0], perAttack: [{ ...progress[0].perAttack[0], attack: "square" }] };
  assertThrows(() => autoAttack(f, x, y, { eps, resume: wrongOrder }), /not the first of this version's/);
  const notClean = { ...progress[0], robust: progress[0].robust.map(() => true) };
  const yWrong = tf.tidy(() => tf.mod(tf.add(y, 1), 10).cast("int32")) as tf.Tensor1D;
  assertThrows(() => autoAttack(f, x, yWrong, { eps, resume: notClean }), /do not fit these images/);
  tf.dispose([w, b, x, y, yWrong, full.x]);
});

/** A report without its timings, for comparing runs. */
const untimed = (r: EvaluationReport) => ({
  ...r,
  seconds: 0,
  autoattack: r.autoattack && { ...r.autoattack, perAttack: r.autoattack.perAttack.map((a) => ({ ...a, seconds: 0 })) },
});

Deno.test("evaluate() resumed from each progress it reported gives the uninterrupted report", () => {
  const { f, w, b } = linearClassifier(10, 43);
  // Labelled by the model itself, so that every point is clean-correct and every attack has work to do.
  const data = syntheticDataset(12);
  const { x } = toTensors(data);
  const predicted = tf.tidy(() => tf.argMax(f(x), 1));
  data.labels = Int32Array.from(predicted.dataSync());
  tf.dispose([x, predicted]);
  const options = {
    eps: 1 / 255,
    pgdSteps: 2,
    batchSize: 5,
    haat: { steps: 2, k: 1 },
    autoattack: { version: "standard" as const, n: 12, budgets: BUDGETS },
    // The sweep's APGD-CE runs its full 100 steps per batch, most of this test's time when the sweep had 12
    // images (three batches). Its rows are resumed whole (no progress is reported inside a row), so one batch of 5
    // checks the same: every row resumed from, and every row run after a resume. The batch-level resume is HAAT's,
    // on all 12 images in three batches.
    sweep: { eps: [0, 0.5 / 255, 1 / 255], n: 5 },
  };
  const progress: EvaluationProgress[] = [];
  let calls = 0;
  const counted = (x: tf.Tensor4D) => (calls++, f(x));
  const full = evaluate(counted, data, { ...options, onProgress: (p) => progress.push(p) });
  const fullCalls = calls;
  // pgd, HAAT after its first two batches of 5 (not after the last), haat, 4 AutoAttack attacks, AutoAttack
  // finished, 3 sweep rows.
  assertEquals(progress.length, 12);
  assertEquals(progress.slice(1, 3).map((p) => p.haatPartial?.outcomes.length), [5, 10]);
  assertEquals(progress[3].haatPartial, undefined);
  assertEquals(progress[2].haatPartial!.outcomes, progress[3].haat!.outcomes.slice(0, 10));
  assert(full.autoattack!.robust > 0 && full.pgd < 1, `AutoAttack ${full.autoattack!.robust}, PGD ${full.pgd}`);
  assert(progress.every((p, i) => i === 0 || p.seconds >= progress[i - 1].seconds), "seconds went back");
  // Each resume gives the same report, and skips the work done: fewer model calls the later it resumes. It resumes
  // from every progress, which is also the smallest set covering every kind: after PGD, after HAAT's first and
  // middle batch and its last (HAAT done), after each AutoAttack attack, AutoAttack done, and after each sweep row.
  const callsAfter: number[] = [];
  for (const [i, p] of progress.entries()) {
    calls = 0;
    assertEquals(untimed(evaluate(counted, data, { ...options, resume: p })), untimed(full), `resumed from ${i}`);
    callsAfter.push(calls);
  }
  assert(callsAfter.every((c, i) => c < (i === 0 ? fullCalls : callsAfter[i - 1])), `calls ${fullCalls} ${callsAfter}`);
  assertEquals(callsAfter[11], 0);
  assertThrows(
    () => evaluate(f, data, { ...options, haat: { steps: 2, k: 2 }, resume: progress[3] }),
    /Cannot resume the evaluation as its HAAT has k 1, not 2: was it made with other options\?/,
  );
  assertThrows(
    () => evaluate(f, data, { ...options, haat: { steps: 2, k: 2 }, resume: progress[2] }),
    /Cannot resume the evaluation as its unfinished HAAT has k 1, not 2: was it made with other options\?/,
  );
  // Any other HAAT option is refused, named, whether HAAT finished or not (w2 and each of the others).
  const others = { k: 2, xi: 1e-5, w1: 0.5, w2: 0.5, difference: "central", hvp: "exact", secondOrderScale: "sqrtd" };
  for (const [name, value] of Object.entries(others)) {
    for (const [part, at] of [["HAAT", 3], ["unfinished HAAT", 2]] as const) {
      assertThrows(
        () => evaluate(f, data, { ...options, haat: { ...options.haat, [name]: value }, resume: progress[at] }),
        new RegExp(`Cannot resume the evaluation as its ${part} has ${name} [^,]+, not ${value}: was it made with`),
      );
    }
  }
  assertThrows(
    () => evaluate(f, data, { ...options, batchSize: 10, resume: progress[1] }),
    /its unfinished HAAT ran in batches of 5, not 10/,
  );
  assertThrows(
    () => evaluate(f, data, { ...options, n: 10, resume: { ...progress[2], pgd: undefined } }),
    /its unfinished HAAT holds outcomes of 10 images, not whole batches of fewer than 10/,
  );
  assertThrows(
    () => evaluate(f, data, { ...options, sweep: { eps: [0, 3 / 255], n: 5 }, resume: progress[11] }),
    /its sweep row 1 is at eps/,
  );
  assertThrows(() => evaluate(f, data, { ...options, n: 10, resume: progress[0] }), /outcomes of 12 images, not 10/);
  tf.dispose([w, b]);
});

Deno.test("evaluate() refuses a progress whose numbers disagree with its per-image outcomes, naming the part", () => {
  const { f, w, b } = linearClassifier(10, 44);
  // Labelled by the model on even images and wrongly on odd ones: some points right clean, some wrong.
  const data = syntheticDataset(12);
  const { x } = toTensors(data);
  const predicted = tf.tidy(() => tf.argMax(f(x), 1));
  data.labels = Int32Array.from(predicted.dataSync(), (c, i) => i % 2 === 0 ? c : (c + 1) % 10);
  tf.dispose([x, predicted]);
  const options = {
    eps: 8 / 255,
    pgdSteps: 2,
    batchSize: 5,
    haat: { steps: 1, k: 1 },
    autoattack: { version: "fast" as const, n: 12, budgets: BUDGETS },
    // One batch: the sweep rows are checked for their eps and range, which do not depend on their image count.
    sweep: { eps: [0, 2 / 255], n: 5 },
  };
  const progress: EvaluationProgress[] = [];
  evaluate(f, data, { ...options, onProgress: (p) => progress.push(structuredClone(p)) });
  const done = progress.at(-1)!;
  assertEquals(evaluationProgressProblem(data, options, done), undefined);
  for (const p of progress) assertEquals(evaluationProgressProblem(data, options, p), undefined);
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "1" ? "0" : "1") + s.slice(i + 1);
  const clean = done.pgd!.perImage.clean, firstWrong = clean.indexOf("0"), firstRight = clean.indexOf("1");
  assert(firstWrong >= 0 && firstRight >= 0, `clean outcomes ${clean}: pick another seed`);
  const cases: [string, (p: EvaluationProgress) => void, RegExp][] = [
    ["clean 1.5", (p) => p.pgd!.clean = 1.5, /its clean accuracy 1\.5 is not the share of 1s in its 12 per-image/],
    ["pgd: {}", (p) => (p as unknown as { pgd: unknown }).pgd = {}, /its clean and PGD part is not \{ clean, pgd,/],
    [
      "an outcome flipped",
      (p) => p.pgd!.perImage.clean = flip(clean, firstWrong),
      /its clean accuracy .* is not the share/,
    ],
    [
      "robust where wrong clean",
      (p) => {
        p.pgd!.perImage.pgd = flip(p.pgd!.perImage.pgd, firstWrong);
        p.pgd!.pgd = [...p.pgd!.perImage.pgd].filter((c) => c === "1").length / 12;
      },
      new RegExp(`its PGD outcome of image ${firstWrong} is robust although the image is wrong clean`),
    ],
    ["a per-class row", (p) => p.pgd!.perClass[0].clean = 0.123, /its per-class rows are not those of its per-image/],
    ["HAAT accuracy", (p) => p.haat!.haat.accuracy = 2, /its HAAT accuracy 2 is not the share of 1s/],
    [
      "HAAT outcomes not 0/1",
      (p) => p.haat!.outcomes = "x".repeat(12),
      /its HAAT outcomes are not a string of 0 and 1/,
    ],
    [
      "AutoAttack robust above clean",
      (p) => p.autoattack!.robust = 1.01,
      /its AutoAttack accuracies are not 0 <= robust <= clean <= 1/,
    ],
    [
      "a sweep row at 300%",
      (p) => p.sweep![1].pgd = 3,
      /its sweep row at eps 0\.00784\d* has accuracies outside \[0, 1\]/,
    ],
    ["seconds -1", (p) => p.seconds = -1, /its seconds are -1/],
  ];
  const before = tf.memory().numTensors;
  for (const [name, damage, message] of cases) {
    const damaged = structuredClone(done);
    damage(damaged);
    const problem = evaluationProgressProblem(data, options, damaged);
    assert(problem !== undefined && message.test(problem), `${name}: ${problem}`);
    let calls = 0;
    const counted = (x: tf.Tensor4D) => (calls++, f(x));
    assertThrows(
      () => evaluate(counted, data, { ...options, resume: damaged }),
      /^Cannot resume the evaluation as its /,
    );
    assertEquals(calls, 0, `${name}: the model ran before the refusal`);
  }
  assertEquals(tf.memory().numTensors, before);
  tf.dispose([w, b]);
});

Deno.test("evaluate() refuses a dataset whose size its labels or images cannot hold, or labels without a class", () => {
  const { f, w, b } = linearClassifier(10, 45);
  const data = syntheticDataset(4);
  assertThrows(
    () => evaluate(f, { ...data, size: 6 }),
    /Cannot evaluate as the dataset's size must be an integer at most its labels \(4\) and images \(4 of 3,072 bytes\): current value is 6/,
  );
  assertThrows(() => evaluate(f, { ...data, size: 2.5 }), /current value is 2\.5/);
  assertThrows(
    () => evaluate(f, { ...data, labels: Int32Array.from([0, 1, 12, 3]) }),
    /labels must be in 0\.\.9 \(one per class name\): current value is 12 \(image 2\)/,
  );
  assertThrows(
    () => evaluate(f, { ...data, classNames: ["a", "b"] }),
    /labels must be in 0\.\.1 \(one per class name\): current value is 2 \(image 2\)/,
  );
  tf.dispose([w, b]);
});

/** Runs `deno task evaluate` with `args`; returns the child (stdout and stderr piped). */
function startEvaluate(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../cli/evaluate.ts", import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("deno task evaluate killed mid-way and run again writes the uninterrupted report; other options are refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "haat-evaluate-resume-" });
  await Deno.mkdir(`${dir}/data`);
  for (const k of [1, 2, 3, 4, 5]) await Deno.writeFile(`${dir}/data/data_batch_${k}.bin`, records(4, k));
  await Deno.writeFile(`${dir}/data/test_batch.bin`, records(20, 9));
  const model = resnet18({ width: 2, seed: 5 });
  await model.save(`${dir}/model`);
  model.dispose();
  const args = (out: string, k = "1") => [
    "--model",
    `${dir}/model`,
    "--data",
    `${dir}/data`,
    "--out",
    out,
    "--steps",
    "2",
    "--haat",
    "--haat-steps",
    "2",
    "--k",
    k,
    "--autoattack",
    "fast",
    "--aa-n",
    "20",
    // The sweep's APGD-CE (100 steps per eps) on 20 images at eps 2 and 4 was most of this test's time. The kill
    // comes after the first section, so the sweep runs whole in the resumed run (its rows' resume is the in-process
    // test's): one attacked row on 4 images checks the report as two on 20 did.
    "--sweep",
    "0,2",
    "--sweep-n",
    "4",
  ];
  // The uninterrupted run goes on beside the killed one and its reruns (other directories): nothing is shared.
  const wholeRun = startEvaluate(args(`${dir}/whole`)).output();
  // Kill the second run (SIGKILL) as soon as its progress file exists, then run it again.
  const child = startEvaluate(args(`${dir}/killed`));
  let killed = false;
  for (let i = 0; i < 2000 && !killed; i++) {
    await new Promise((r) => setTimeout(r, 20));
    try {
      await Deno.stat(`${dir}/killed/evaluate-progress.json`);
      child.kill("SIGKILL");
      killed = true;
    } catch { /* not yet */ }
  }
  await child.output();
  assert(killed, "the progress file never appeared");
  await Deno.stat(`${dir}/killed/report.json`).then(() => assert(false, "killed before it wrote a report"), () => {});
  const saved = await Deno.readTextFile(`${dir}/killed/evaluate-progress.json`);
  // Other options: refused before anything runs, and the progress file is left as it was.
  const other = await startEvaluate(args(`${dir}/killed`, "2")).output();
  assertEquals(other.code, 1);
  assert(text(other.stderr).includes("holds an unfinished evaluation with other options"), text(other.stderr));
  assertEquals(await Deno.readTextFile(`${dir}/killed/evaluate-progress.json`), saved);
  // Another w2 (any HAAT option): refused, naming it.
  const otherW2 = await startEvaluate([...args(`${dir}/killed`), "--w2", "1/2"]).output();
  assertEquals(otherW2.code, 1);
  assert(text(otherW2.stderr).includes("other options: haat.w2 0.25, now 0.5."), text(otherW2.stderr));
  assertEquals(await Deno.readTextFile(`${dir}/killed/evaluate-progress.json`), saved);
  const resumed = await startEvaluate(args(`${dir}/killed`)).output();
  assertEquals(resumed.code, 0, text(resumed.stderr));
  assert(text(resumed.stdout).includes("resuming from"), text(resumed.stdout));
  const whole = await wholeRun;
  assertEquals(whole.code, 0, text(whole.stderr));
  await Deno.stat(`${dir}/whole/evaluate-progress.json`).then(
    () => assert(false, "the progress file outlived the report"),
    () => {},
  );
  const read = async (d: string) => {
    const { seconds: _s, model: _m, ...rest } = JSON.parse(await Deno.readTextFile(`${d}/report.json`));
    for (const a of rest.autoattack?.perAttack ?? []) a.seconds = 0;
    return rest;
  };
  assertEquals(await read(`${dir}/killed`), await read(`${dir}/whole`));
  // The --haat report carries every HAAT option, resolved.
  const { accuracy: _a, ...haatSettings } = (await read(`${dir}/whole`)).haat;
  assertEquals(haatSettings, { ...HAAT_DEFAULTS, steps: 2, k: 1, eps: 8 / 255, seed: 0 });
  await Deno.stat(`${dir}/killed/evaluate-progress.json`).then(() => assert(false, "progress file left"), () => {});
  await Deno.remove(dir, { recursive: true });
});
