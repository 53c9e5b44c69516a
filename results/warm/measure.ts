/**
 * Issue 27, "measure first": along an attack path, how far does the top eigenvector of the input Hessian
 * move from one iterate to the next, and how well does a warm-started power iteration follow it?
 *
 * For each model and each path (PGD-10 without random start; cold HAAT-10, k 5, xi 1e-5, seed 0; and the
 * warm attack's own path, HAAT-10 with warmStart, k 5 then warmK 1), at each iterate x_t (t = 0..9):
 *
 * - the reference: every eigenpair of H = hess_x L(x_t) from the logits' Jacobian (`gaussNewtonEigen`:
 *   exact, no power iteration), checked against exact Hessian-vector products, |H v1 - lambda1 v1| / lambda1;
 *   and |v1(x_t) . v1(x_{t-1})|, the cosine between consecutive reference eigenvectors;
 * - three estimates of v1 by power iteration on forward differences (xi 1e-5), as HAAT computes them:
 *   "cold5", k = 5 from a fresh random start (HAAT's start at step t, `deriveSeed(seed, t)`), and
 *   "warm1" / "warm2", k = 5 at t = 0 (the same vector as cold5) and then warmK = 1 / 2 products from the
 *   previous iterate's warm vector; for each, the finite-difference Rayleigh quotient that power iteration
 *   reports, the exact Rayleigh quotient u.Hu of its final vector, and |u . v1|.
 *
 * The iterates are made here, step by step, with the library's own pieces (`lossAndGradient`, `project`,
 * `powerIteration`, `hessianVectorProduct`, `haatStep`), and each path's last iterate is compared with
 * `pgd()` / `haat()` run on the same images (`libraryMaxAbsDiff`, expected 0). Writes one JSON line per
 * (model, path, step) and one summary line per (model, path); see results/warm/README.md.
 *
 *   HAAT_THREADS=1 deno run -A results/warm/measure.ts
 *
 * @module
 */
import { haat, hessianVectorProduct, loadModel, pgd, powerIteration, tf, trainedModel, useBackend } from "../../mod.ts";
import type { BackendInfo, Classifier } from "../../mod.ts";
import { lossAndGradient, rowDot } from "../../lib/core.ts";
import { loadCifar10 } from "../../lib/data/cifar10.ts";
import { toTensors } from "../../lib/data/batches.ts";
import { haatStep, warmStartVector } from "../../lib/attacks/haat.ts";
import { runSync } from "../../lib/reading.ts";
import { ascentDirection, project } from "../../lib/attacks/project.ts";
import { deriveSeed, normalSeed } from "../../lib/random.ts";
import { gaussNewton, gaussNewtonEigen, gaussNewtonRayleigh } from "../../lib/hessian/gauss_newton.ts";
import { parseFlags, runMain } from "../../cli/_flags.ts";

const PATHS = ["pgd", "haat", "haat-warm"] as const;
type PathName = typeof PATHS[number];

const flags = parseFlags("Usage: HAAT_THREADS=1 deno run -A results/warm/measure.ts [flags]", {
  models: {
    type: "string",
    default: "fgsm-rs-w16:32:pgd+haat+haat-warm,fgsm-rs-w64:16:pgd+haat",
    help: `committed model:images:paths (paths among ${PATHS.join(", ")}, joined by +), comma-separated`,
  },
  data: {
    type: "string",
    default: new URL("../../../shared/data/cifar10", import.meta.url).pathname,
    help: "CIFAR-10 directory (its first test records are the official ones)",
  },
  out: { type: "string", default: new URL("./eigenvectors.jsonl", import.meta.url).pathname, help: "JSON lines" },
});

/** The settings of every path (SPEC section 1; xi 1e-5, the resolved one: results/grid/hvp-error.jsonl). */
const ATTACK = { eps: 8 / 255, alpha: 2 / 255, steps: 10, k: 5, xi: 1e-5, seed: 0, w1: 0.25, w2: 0.25 } as const;
const WARM_K = [1, 2] as const;

/**
 * Median and quartiles (nearest rank) of the finite values, with the lower tail (minimum, 10th
 * percentile) where a rare failure shows; null where there are none.
 */
function quartiles(values: number[]) {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const q = (p: number) => round(s[Math.min(s.length - 1, Math.floor(p * s.length))]);
  return { min: round(s[0]), q10: q(0.1), q25: q(0.25), median: q(0.5), q75: q(0.75), n: s.length };
}

/** Six significant digits. */
const round = (v: number) => Number(v.toPrecision(6));
const rows = (t: tf.Tensor) => Array.from(t.dataSync(), round);
const loadAverage = () => {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).map(Number);
  } catch {
    return null;
  }
};

/** One estimate of v1 at one iterate: the vector, what power iteration reported, and its exact quality. */
interface Estimate {
  vector: tf.Tensor4D;
  rayleighFd: number[];
}

/** Runs one path on one model and returns its per-step lines. */
function measurePath(f: Classifier, x0: tf.Tensor4D, y: tf.Tensor1D, path: PathName) {
  const lines: Record<string, unknown>[] = [];
  let x = tf.clone(x0);
  let previousReference: tf.Tensor4D | undefined;
  let previousWarm: Record<number, tf.Tensor4D> = {};
  for (let t = 0; t < ATTACK.steps; t++) {
    const { loss, grad: g } = lossAndGradient(f, x, y);
    const fd = (v: tf.Tensor) =>
      hessianVectorProduct(f, x, y, v as tf.Tensor4D, { method: "forward", xi: ATTACK.xi, grad: g });
    const power = (start: tf.Tensor, iterations: number): Estimate => {
      const run = powerIteration(fd, start, { iterations, record: false });
      return { vector: run.vector as tf.Tensor4D, rayleighFd: run.eigenvalue };
    };
    const start = tf.randomNormal(x.shape, 0, 1, "float32", normalSeed(deriveSeed(ATTACK.seed, t)));
    const cold = power(start, ATTACK.k);
    const warm: Record<number, Estimate> = {}, restarted: Record<number, number[] | null> = {};
    for (const k of WARM_K) {
      if (t === 0) {
        warm[k] = { vector: tf.clone(cold.vector), rayleighFd: cold.rayleighFd };
        restarted[k] = null;
        continue;
      }
      // As haat() does: a zero vector restarts from the step's own draw.
      restarted[k] = tf.tidy(() => Array.from(rowDot(previousWarm[k], previousWarm[k]).dataSync(), (s) => +(s === 0)));
      const warmStart = runSync("warmStartVector", warmStartVector(previousWarm[k], () => tf.clone(start)));
      warm[k] = power(warmStart, k);
      warmStart.dispose();
    }
    start.dispose();
    // The reference: every eigenpair from the Jacobian, checked with one exact Hessian-vector product.
    const factors = gaussNewton(f, x);
    const eigen = gaussNewtonEigen(factors, 2);
    const v1 = tf.tidy(() => tf.reshape(tf.slice(eigen.vectors, [0, 0, 0], [-1, 1, -1]), x.shape)) as tf.Tensor4D;
    eigen.vectors.dispose();
    const lambda1 = eigen.values.map((v) => v[0]), lambda2 = eigen.values.map((v) => v[1]);
    const [residual, lambda1Exact] = tf.tidy(() => {
      const hv = hessianVectorProduct(f, x, y, v1, { method: "exact" });
      const r = tf.sub(hv, tf.mul(v1, tf.tensor4d(lambda1, [x.shape[0], 1, 1, 1])));
      return [tf.div(tf.sqrt(rowDot(r, r)), tf.tensor1d(lambda1)), rowDot(v1, hv)];
    });
    const cosine = (u: tf.Tensor, v: tf.Tensor) => tf.tidy(() => rows(tf.abs(rowDot(u, v))));
    const describe = (e: Estimate) => ({
      zeroVector: tf.tidy(() => Array.from(rowDot(e.vector, e.vector).dataSync(), (s) => s === 0 ? 1 : 0)),
      rayleighFd: e.rayleighFd.map(round),
      rayleighExact: gaussNewtonRayleigh(factors, e.vector).map(round),
      cosineWithReference: cosine(e.vector, v1),
    });
    lines.push({
      kind: "step",
      path,
      t,
      loss: rows(loss),
      lambda1: lambda1.map(round),
      lambda2: lambda2.map(round),
      lambda1Exact: rows(lambda1Exact),
      referenceResidual: rows(residual),
      referenceCosine: previousReference ? cosine(v1, previousReference) : null,
      cold5: describe(cold),
      ...Object.fromEntries(WARM_K.map((k) => [`warm${k}`, {
        ...describe(warm[k]),
        stepCosine: t > 0 ? cosine(warm[k].vector, previousWarm[k]) : null,
        restartedFromZero: restarted[k],
      }])),
    });
    tf.dispose([residual, lambda1Exact, loss]);
    factors.dispose();
    // The path's next iterate, as pgd() (no random start) and haat() compute it.
    const next = path === "pgd"
      ? tf.tidy(() => project(tf.add(x, tf.mul(ascentDirection(g, "linf"), ATTACK.alpha)) as tf.Tensor4D, x0, ATTACK.eps))
      : haatStep(x, x0, g, path === "haat" ? cold.vector : warm[1].vector, { ...ATTACK, secondOrderScale: "cube" });
    tf.dispose([x, g, cold.vector, ...Object.values(previousWarm)]);
    previousReference?.dispose();
    previousReference = v1;
    previousWarm = Object.fromEntries(WARM_K.map((k) => [k, warm[k].vector]));
    x = next;
  }
  tf.dispose([previousReference!, ...Object.values(previousWarm)]);
  // The library's own attack from the same images: the path above must end where it does.
  const library = path === "pgd"
    ? pgd(f, x0, y, { eps: ATTACK.eps, alpha: ATTACK.alpha, steps: ATTACK.steps, randomStart: false })
    : haat(f, x0, y, {
      eps: ATTACK.eps,
      steps: ATTACK.steps,
      k: ATTACK.k,
      xi: ATTACK.xi,
      seed: ATTACK.seed,
      warmStart: path === "haat-warm",
      warmK: 1,
    });
  const libraryMaxAbsDiff = tf.tidy(() => tf.max(tf.abs(tf.sub(library, x))).dataSync()[0]);
  const fooled = tf.tidy(() => tf.notEqual(tf.argMax(f(x), 1), y).sum().dataSync()[0]);
  tf.dispose([library, x]);
  return { lines, libraryMaxAbsDiff, fooled };
}

/** The summary of one (model, path): quartiles over images and steps 1..9 (at t = 0 warm and cold agree). */
function summarise(lines: Record<string, unknown>[]) {
  // deno-lint-ignore no-explicit-any
  const later = lines.filter((l) => (l.t as number) > 0) as any[];
  const all = (pick: (l: any, i: number) => number) => later.flatMap((l) => l.lambda1.map((_: number, i: number) => pick(l, i)));
  const estimate = (name: string) => ({
    zeroVectors: later.reduce((sum, l) => sum + l[name].zeroVector.reduce((a: number, b: number) => a + b, 0), 0),
    rayleighExactOverLambda1: quartiles(all((l, i) => l[name].rayleighExact[i] / l.lambda1[i])),
    rayleighFdOverLambda1: quartiles(all((l, i) => l[name].rayleighFd[i] / l.lambda1[i])),
    cosineWithReference: quartiles(all((l, i) => l[name].cosineWithReference[i])),
    shareCosineBelow09: round(all((l, i) => l[name].cosineWithReference[i] < 0.9 ? 1 : 0).reduce((a, b) => a + b) /
      (later.length * later[0].lambda1.length)),
  });
  const warm = (k: number) => {
    const name = `warm${k}`;
    const cosines = all((l, i) => l[name].cosineWithReference[i] - l.cold5.cosineWithReference[i]);
    return {
      ...estimate(name),
      rayleighExactOverCold5: quartiles(all((l, i) => l[name].rayleighExact[i] / l.cold5.rayleighExact[i])),
      rayleighFdOverCold5: quartiles(all((l, i) => l[name].rayleighFd[i] / l.cold5.rayleighFd[i])),
      cosineMinusCold5: quartiles(cosines),
      shareCosineAtLeastCold5: round(cosines.filter((c) => c >= 0).length / cosines.length),
      stepCosine: quartiles(all((l, i) => l[name].stepCosine[i])),
      restartsFromZero: later.reduce((sum, l) => sum + l[name].restartedFromZero.reduce((a: number, b: number) => a + b, 0), 0),
    };
  };
  return {
    referenceCosine: quartiles(all((l, i) => l.referenceCosine[i])),
    lambda1: quartiles(all((l, i) => l.lambda1[i])),
    gapLambda2OverLambda1: quartiles(all((l, i) => l.lambda2[i] / l.lambda1[i])),
    referenceResidualMax: round(Math.max(...lines.flatMap((l) => l.referenceResidual as number[]))),
    cold5: estimate("cold5"),
    warm1: warm(1),
    warm2: warm(2),
  };
}

await runMain(async () => {
  let info: BackendInfo;
  try {
    info = await useBackend("onednn");
  } catch {
    info = await useBackend("wasm");
  }
  const models = (flags.models as string).split(",").filter(Boolean).map((spec) => {
    const [name, count, list] = spec.split(":");
    const paths = (list ?? "").split("+") as PathName[];
    if (!(Number.isInteger(Number(count)) && Number(count) >= 1 && paths.every((p) => PATHS.includes(p)))) {
      throw new Error(`Cannot measure as each model must be name:images:path+path: current value is ${spec}`);
    }
    return { name, images: Number(count), paths };
  });
  const out = flags.out as string;
  Deno.writeTextFileSync(out, "");
  const write = (line: Record<string, unknown>) => {
    const text = JSON.stringify(line);
    Deno.writeTextFileSync(out, text + "\n", { append: true });
    console.log(text.length > 240 ? text.slice(0, 240) + "..." : text);
  };
  for (const { name, images, paths } of models) {
    const model = await loadModel(trainedModel(name));
    const test = await loadCifar10(flags.data as string, "test", { limit: images });
    const { x, y } = toTensors(test);
    for (const path of paths) {
      const load = loadAverage(), t0 = performance.now();
      const { lines, libraryMaxAbsDiff, fooled } = measurePath(model.logits, x, y, path);
      const seconds = Math.round((performance.now() - t0) / 1000);
      const common = { model: name, images, backend: info.report, threads: info.threads ?? null };
      for (const line of lines) write({ ...common, ...line });
      write({
        ...common,
        kind: "summary",
        path,
        over: "images x steps 1..9",
        ...summarise(lines),
        fooledAtTheEnd: fooled,
        libraryMaxAbsDiff,
        secondsUnderLoad: seconds,
        loadAverage: { start: load, end: loadAverage() },
      });
    }
    tf.dispose([x, y]);
    model.dispose();
  }
  console.log(`tensors left: ${tf.memory().numTensors}`);
});
