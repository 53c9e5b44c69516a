import { assert, assertEquals, assertThrows } from "../_assert.ts";
import {
  type Classifier,
  haat,
  haatCost,
  haatWithDiagnostics,
  linearSoftmaxHessian,
  pgd,
  resnet18,
  tf,
} from "../../mod.ts";
import { orient, secondOrderStep } from "../../lib/attacks/haat.ts";
import { numClasses } from "../../lib/core.ts";
import { symmetricEigenvalues } from "../../lib/hessian/lanczos.ts";
import { linearClassifier, maxAbsDiff, randomImages, setup } from "../_helpers.ts";

await setup();

const EPS = 8 / 255;

/**
 * A linear softmax model z = x W + b on 4x4x3 images (d = 48), whose input Hessian is known in closed
 * form (`linearSoftmaxHessian`), with images in [0.2, 0.8] (so that steps of size eps are not clipped
 * by the box) and, per image, the Hessian's top eigenvector and its two largest eigenvalues in float64.
 * Seed 2 gives spectral gaps lambda2/lambda1 of 0.46, 0.42, 0.61.
 */
function linearSoftmax() {
  const w = tf.randomNormal([48, 10], 0, 0.4, "float32", 2) as tf.Tensor2D;
  const b = tf.randomNormal([10], 0, 0.3, "float32", 102) as tf.Tensor1D;
  const x = tf.randomUniform([3, 4, 4, 3], 0.2, 0.8, "float32", 202) as tf.Tensor4D;
  const y = tf.tensor1d([1, 4, 7], "int32");
  const f: Classifier = (xs) =>
    tf.tidy(() => tf.add(tf.matMul(tf.reshape(xs, [xs.shape[0], -1]), w), b) as tf.Tensor2D);
  const hessians = tf.tidy(() => linearSoftmaxHessian(w, b, x, y).arraySync()) as number[][][];
  const spectra = hessians.map((h) => {
    const values = symmetricEigenvalues(h.flat(), 48).sort((p, q) => q - p);
    // The top eigenvector by float64 power iteration on the closed-form matrix (gap <= 0.61: 200 steps).
    let v = Array.from({ length: 48 }, (_, i) => Math.cos(i + 1));
    for (let it = 0; it < 200; it++) {
      const hv = h.map((row) => row.reduce((s, a, i) => s + a * v[i], 0));
      const norm = Math.hypot(...hv);
      v = hv.map((a) => a / norm);
    }
    return { lambda1: values[0], lambda2: values[1], top: v };
  });
  // g = grad_x L = W (p - onehot(y)), in float64 from the float32 weights.
  const [wArr, bArr, xArr] = [
    w.arraySync() as number[][],
    b.arraySync() as number[],
    tf.tidy(() => tf.reshape(x, [3, 48]).arraySync()) as number[][],
  ];
  const labels = [1, 4, 7];
  const gradients = xArr.map((xi, j) => {
    const z = bArr.map((bc, c) => bc + xi.reduce((s, a, i) => s + a * wArr[i][c], 0));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const total = e.reduce((s, v) => s + v, 0);
    const p = e.map((v) => v / total);
    return wArr.map((row) => row.reduce((s, a, c) => s + a * (p[c] - (c === labels[j] ? 1 : 0)), 0));
  });
  return { f, w, x, y, spectra, gradients, xArr, dispose: () => tf.dispose([w, b, x, y]) };
}

/** Per example, the step x1 - x0 as float64 rows. */
function steps(x1: tf.Tensor4D, x0: tf.Tensor4D): number[][] {
  return tf.tidy(() => tf.reshape(tf.sub(x1, x0), [x0.shape[0], -1]).arraySync()) as number[][];
}

const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i], 0);

Deno.test("haat() step direction approaches the top eigenvector of the closed-form Hessian at the rate lambda2/lambda1", () => {
  const m = linearSoftmax();
  // With w1 = 0 and w2 = 1 one step is x0 + eps u / |u|_inf, inside the box: the step is u, scaled.
  const tangents = (k: number) => {
    const out = haat(m.f, m.x, m.y, { steps: 1, k, w1: 0, w2: 1, hvp: "exact", seed: 5 });
    const rows = steps(out, m.x);
    out.dispose();
    return rows.map((r, j) => {
      const cos = Math.abs(dot(r, m.spectra[j].top)) / Math.hypot(...r);
      return Math.sqrt(Math.max(1 - cos * cos, 0)) / cos;
    });
  };
  const [t3, t8] = [tangents(3), tangents(8)];
  for (let j = 0; j < 3; j++) {
    const { lambda1, lambda2 } = m.spectra[j];
    const measured = (t8[j] / t3[j]) ** (1 / 5);
    const predicted = lambda2 / lambda1;
    assert(
      Math.abs(measured - predicted) < 0.1 * predicted,
      `example ${j}: tan(theta) shrinks by ${measured} per step, lambda2/lambda1 = ${predicted}`,
    );
  }
  const t30 = tangents(30);
  assert(t30.every((t) => t < 1e-3), `after 30 power steps, tan(theta) = ${t30}`);
  m.dispose();
});

Deno.test("haat() orients the second-order step so that r2 . g >= 0, and orient() flips exactly the rows with u . g < 0", () => {
  const m = linearSoftmax();
  for (const seed of [0, 1, 2, 3]) {
    const out = haat(m.f, m.x, m.y, { steps: 1, k: 1, w1: 0, w2: 1, hvp: "exact", seed });
    steps(out, m.x).forEach((r, j) => assert(dot(r, m.gradients[j]) >= 0, `seed ${seed}, example ${j}`));
    out.dispose();
  }
  const u = tf.tensor2d([[1, 2], [1, 2], [3, -1]]), g = tf.tensor2d([[-1, 0], [1, 0], [1, 3]]);
  assertEquals(orient(u, g).arraySync(), [[-1, -2], [1, 2], [3, -1]]); // u.g = -1, 1, 0 (0 keeps u)
  tf.dispose([u, g]);
  m.dispose();
});

Deno.test("secondOrderStep() has |r2|_inf = eps (cube), eps sqrt(d) (sqrtd) and |r2|_2 = sqrt(d) eps (l2ball), along u", () => {
  const u = tf.randomNormal([3, 32, 32, 3], 0, 1, "float32", 9) as tf.Tensor4D;
  const d = 3072;
  const norms = (r: tf.Tensor4D) =>
    tf.tidy(() => {
      const flat = tf.reshape(r, [3, -1]);
      const cos = tf.div(
        tf.sum(tf.mul(flat, tf.reshape(u, [3, -1])), 1),
        tf.mul(tf.norm(flat, 2, 1), tf.norm(tf.reshape(u, [3, -1]), 2, 1)),
      );
      return {
        inf: Array.from(tf.max(tf.abs(flat), 1).dataSync()),
        l2: Array.from(tf.norm(flat, 2, 1).dataSync()),
        cos: Array.from(cos.dataSync()),
      };
    });
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-5 * b;
  const [cube, sqrtd, l2ball] = (["cube", "sqrtd", "l2ball"] as const).map((s) => {
    const r = secondOrderStep(u, EPS, s);
    const out = norms(r);
    r.dispose();
    return out;
  });
  for (let j = 0; j < 3; j++) {
    assert(close(cube.inf[j], EPS), `cube ${cube.inf[j]}`);
    assert(close(sqrtd.inf[j], EPS * Math.sqrt(d)), `sqrtd ${sqrtd.inf[j]}`);
    assert(close(l2ball.l2[j], EPS * Math.sqrt(d)), `l2ball ${l2ball.l2[j]}`);
    for (const s of [cube, sqrtd, l2ball]) assert(s.cos[j] > 1 - 1e-5, `cos ${s.cos[j]}`);
  }
  u.dispose();
});

Deno.test("haat() one step equals x0 + w1 eps sign(g) + w2 eps u/|u|_inf projected, from the closed-form g and top eigenvector", async (t) => {
  const m = linearSoftmax();
  const w1 = 0.5, w2 = 0.75; // w1 + w2 > 1: the projection onto the eps-ball acts on some coordinates
  const expected = m.xArr.map((x0, j) => {
    const g = m.gradients[j];
    const v = m.spectra[j].top;
    const s = Math.sign(dot(v, g)) || 1;
    const vInf = Math.max(...v.map(Math.abs));
    return x0.map((xi, i) => {
      const stepped = xi + w1 * EPS * Math.sign(g[i]) + w2 * EPS * s * v[i] / vInf;
      return Math.min(Math.max(stepped, xi - EPS), xi + EPS);
    });
  });
  let clipped = 0;
  expected.forEach((row, j) => row.forEach((v, i) => Math.abs(v - m.xArr[j][i]) > EPS - 1e-9 && clipped++));
  assert(clipped > 0, "the case must exercise the projection");
  for (
    const [name, options, tolerance] of [
      ["exact", { hvp: "exact" as const }, 2e-5],
      ["central differences, xi = 1e-3", { difference: "central" as const, xi: 1e-3 }, 1e-4],
    ] as const
  ) {
    await t.step(name, () => {
      const out = haat(m.f, m.x, m.y, { steps: 1, k: 40, w1, w2, ...options });
      const got = tf.tidy(() => tf.reshape(out, [3, 48]).arraySync()) as number[][];
      out.dispose();
      const error = Math.max(...got.flatMap((row, j) => row.map((v, i) => Math.abs(v - expected[j][i]))));
      assert(error < tolerance, `max |haat - hand| = ${error}`);
    });
  }
  m.dispose();
});

Deno.test("haat() with w2 = 0 equals PGD without random start and alpha = w1 eps", () => {
  const model = resnet18({ width: 4, seed: 2 });
  model.eval();
  const x = randomImages(4, 1), y = tf.tensor1d([0, 1, 2, 3], "int32");
  const a = haat(model.logits, x, y, { w2: 0, steps: 3, k: 1 });
  const b = pgd(model.logits, x, y, { alpha: EPS / 4, steps: 3, randomStart: false });
  assert(maxAbsDiff(a, b) < 1e-6);
  tf.dispose([x, y, a, b]);
  model.dispose();
});

/**
 * A linear classifier whose forward calls and backward passes are counted (the backward pass through
 * a custom gradient; the exact product's backward of a backward differentiates that gradient's ops).
 */
function countedLinear(seed: number) {
  const { w, b } = linearClassifier(10, seed);
  const counts = { forward: 0, backward: 0 };
  const f: Classifier = (x) =>
    tf.customGrad(
      ((xi: tf.Tensor) => {
        counts.forward++;
        return {
          value: tf.add(tf.matMul(tf.reshape(xi, [xi.shape[0], -1]), w), b),
          gradFunc: (dy: tf.Tensor) => {
            counts.backward++;
            return tf.reshape(tf.matMul(dy, w, false, true), xi.shape);
          },
        };
      }) as unknown as Parameters<typeof tf.customGrad>[0],
    )(x) as tf.Tensor2D;
  return { f, counts, dispose: () => tf.dispose([w, b]) };
}

Deno.test("haat() runs exactly the passes haatCost() and its doc table state, for every Hessian-vector product method", async (t) => {
  const x = randomImages(2, 2), y = tf.tensor1d([4, 5], "int32");
  for (
    const [name, options, perStep] of [
      ["forward", { difference: "forward" }, { forward: 1 + 5, backward: 1 + 5, backwardOfBackward: 0 }],
      ["central", { difference: "central" }, { forward: 1 + 10, backward: 1 + 10, backwardOfBackward: 0 }],
      ["exact", { hvp: "exact" }, { forward: 1 + 10, backward: 1 + 10, backwardOfBackward: 5 }],
    ] as const
  ) {
    await t.step(`${name}, k = 5, 3 steps`, () => {
      const c = countedLinear(3);
      numClasses(c.f, x); // the one forward pass per classifier that learns its class count
      c.counts.forward = 0;
      const { x: out, diagnostics } = haatWithDiagnostics(c.f, x, y, { steps: 3, k: 5, xi: 1e-3, ...options });
      assertEquals(c.counts, { forward: 3 * perStep.forward, backward: 3 * perStep.backward });
      const expected = {
        forward: 3 * perStep.forward,
        backward: 3 * perStep.backward,
        backwardOfBackward: 3 * perStep.backwardOfBackward,
      };
      assertEquals(diagnostics.passes, expected);
      assertEquals(haatCost({ steps: 3, k: 5, ...options }), expected);
      out.dispose();
      c.dispose();
    });
  }
  tf.dispose([x, y]);
});

Deno.test("haat() keeps every output in B(x0, eps) and [0,1] for every secondOrderScale and HVP method", () => {
  const model = resnet18({ width: 4, seed: 3 });
  model.eval();
  const x = randomImages(3, 4), y = tf.tensor1d([7, 8, 9], "int32");
  for (const secondOrderScale of ["cube", "sqrtd", "l2ball"] as const) {
    for (const hvp of ["fd", "exact"] as const) {
      const out = haat(model.logits, x, y, { steps: 2, k: 2, secondOrderScale, hvp, xi: 1e-3 });
      const [lo, hi] = [tf.min(out).dataSync()[0], tf.max(out).dataSync()[0]];
      assert(lo >= 0 && hi <= 1 && maxAbsDiff(out, x) <= EPS + 1e-6, `${secondOrderScale}/${hvp}`);
      out.dispose();
    }
  }
  tf.dispose([x, y]);
  model.dispose();
});

Deno.test("haatWithDiagnostics() records [step][power step][example], and xi = 1e-6 moves few coordinates in float32", () => {
  const { f, w, b } = linearClassifier(10, 5);
  const x = randomImages(2, 6, 0.25, 0.75), y = tf.tensor1d([0, 1], "int32");
  const { x: out, diagnostics } = haatWithDiagnostics(f, x, y, { steps: 2, k: 3 });
  for (const record of [diagnostics.rayleigh, diagnostics.stepDiff, diagnostics.alignment, diagnostics.changedShare]) {
    assertEquals([record.length, record[0].length, record[1][2].length], [2, 3, 2]);
  }
  // |u|_2 = 1 in d = 3072: |u_i| ~ 0.018, so xi |u_i| ~ 2e-8 is below half an ulp (3e-8) of most pixels in [0.25, 0.75].
  const share = diagnostics.changedShare[0][0];
  assert(share.every((s) => s < 0.5), `shares ${share}`);
  const big = haatWithDiagnostics(f, x, y, { steps: 1, k: 1, xi: 1e-3 });
  assert(big.diagnostics.changedShare[0][0].every((s) => s > 0.99));
  tf.dispose([x, y, out, big.x, w, b]);
});

Deno.test("haatWithDiagnostics() reports powerIteration()'s alignment, 1 once u has converged on the linear softmax Hessian", () => {
  const m = linearSoftmax();
  const { diagnostics, x: out } = haatWithDiagnostics(m.f, m.x, m.y, { steps: 1, k: 12, hvp: "exact" });
  assert(diagnostics.alignment[0][0].every((a) => a < 0.99), "a random start is not aligned after one step");
  assert(diagnostics.alignment[0][11].every((a) => a > 0.999), `alignment ${diagnostics.alignment[0][11]}`);
  assert(diagnostics.stepDiff[0][11].every((d) => d < 0.05), "positive top eigenvalue: u stays put");
  out.dispose();
  m.dispose();
});

Deno.test("haat() does not leak tensors over repeated calls, and rejects bad options", () => {
  const { f, w, b } = linearClassifier(10, 7);
  const x = randomImages(2, 8), y = tf.tensor1d([2, 3], "int32");
  tf.dispose(haat(f, x, y, { steps: 1, k: 1 }));
  const before = tf.memory().numTensors;
  for (let i = 0; i < 20; i++) tf.dispose(haat(f, x, y, { steps: 2, k: 2, hvp: i % 2 ? "exact" : "fd" }));
  const { x: diagnosed } = haatWithDiagnostics(f, x, y, { steps: 2, k: 2 });
  diagnosed.dispose();
  assertEquals(tf.memory().numTensors, before);
  assertThrows(() => haat(f, x, y, { eps: 2 }), /eps must be in \(0, 1\]: current value is 2/);
  assertThrows(() => haat(f, x, y, { k: 0 }), /k must be an integer >= 1: current value is 0/);
  assertThrows(() => haat(f, x, y, { xi: -1 }), /xi must be > 0: current value is -1/);
  assertThrows(
    () => haat(f, x, y, { secondOrderScale: "ball" as "cube" }),
    /secondOrderScale must be cube, sqrtd or l2ball/,
  );
  assertEquals(tf.memory().numTensors, before);
  tf.dispose([x, y, w, b]);
});

Deno.test("haat() repeats exactly for a seed (seed 0 included), and step t + 1 of seed s does not reuse the start of step t of seed s + 1", () => {
  const { f, w, b } = linearClassifier(10, 21);
  const x = randomImages(3, 22), y = tf.tensor1d([1, 2, 3], "int32");
  for (const seed of [0, 1]) {
    const a = haat(f, x, y, { steps: 2, k: 2, xi: 1e-3, seed });
    const c = haat(f, x, y, { steps: 2, k: 2, xi: 1e-3, seed });
    assertEquals(maxAbsDiff(a, c), 0);
    tf.dispose([a, c]);
  }
  // With w1 = w2 = 0 the point never moves, so the Rayleigh quotient of one power step (k = 1) is a
  // function of the start alone: equal quotients would mean equal starts.
  const rayleigh = (seed: number) => {
    const r = haatWithDiagnostics(f, x, y, { steps: 2, k: 1, w1: 0, w2: 0, xi: 1e-2, seed });
    r.x.dispose();
    return r.diagnostics.rayleigh.map((step) => step[0]);
  };
  const [s4, s5, again] = [rayleigh(4), rayleigh(5), rayleigh(4)];
  assertEquals(s4, again);
  assert(s4[1].every((v, j) => v !== s5[0][j]), `step 1 of seed 4 reused step 0 of seed 5: ${s4[1]}`);
  assert(s4[0].every((v, j) => v !== s4[1][j]), "steps 0 and 1 of one call share a start");
  tf.dispose([x, y, w, b]);
});

Deno.test("haatCost() refuses the options haat() refuses, instead of costing k = 1.5 or -1 power steps", () => {
  assertThrows(() => haatCost({ k: 1.5 }), /Cannot run HAAT as k must be an integer >= 1: current value is 1\.5/);
  assertThrows(() => haatCost({ k: -1 }), /k must be an integer >= 1: current value is -1/);
  assertThrows(() => haatCost({ steps: 0.5 }), /steps must be an integer >= 0: current value is 0\.5/);
  assertThrows(() => haatCost({ hvp: "cheap" as "fd" }), /hvp must be fd or exact: current value is cheap/);
  assertEquals(haatCost({ k: 2, steps: 3, difference: "central" }), {
    forward: 15,
    backward: 15,
    backwardOfBackward: 0,
  });
});

Deno.test("haat() with warmStart: one step is the cold attack, bit for bit; later steps run warmK products, as haatCost() counts", () => {
  const m = linearSoftmax();
  const cold = haat(m.f, m.x, m.y, { steps: 1, k: 4, seed: 3 });
  const warm = haat(m.f, m.x, m.y, { steps: 1, k: 4, seed: 3, warmStart: true, warmK: 1 });
  assertEquals(Array.from(warm.dataSync()), Array.from(cold.dataSync()));
  let calls = 0;
  const counted: Classifier = (xs) => (calls++, m.f(xs));
  numClasses(counted, m.x);
  calls = 0;
  const options = { steps: 4, k: 5, warmStart: true, warmK: 2, xi: 1e-3 } as const;
  const run = haatWithDiagnostics(counted, m.x, m.y, options);
  // One gradient per step, then 5 products at the first step and 2 at each of the 3 others.
  assertEquals(calls, 4 + 5 + 3 * 2);
  assertEquals(run.diagnostics.passes, haatCost(options));
  assertEquals(run.diagnostics.rayleigh.map((step) => step.length), [5, 2, 2, 2]);
  assertEquals(run.diagnostics.stepCosine.length, 3);
  tf.dispose([cold, warm, run.x]);
  m.dispose();
});

Deno.test("haat() with warmStart carries power iteration on: warm k = 1 converges along a path where cold k = 1 never does", () => {
  const m = linearSoftmax();
  // A tiny eps keeps the path where the Hessian barely moves, so 30 warm steps are 30 power steps.
  const options = { steps: 30, k: 1, eps: 1e-4, hvp: "exact", seed: 1 } as const;
  const warm = haatWithDiagnostics(m.f, m.x, m.y, { ...options, warmStart: true, warmK: 1 });
  const cold = haatWithDiagnostics(m.f, m.x, m.y, options);
  const last = (d: typeof warm.diagnostics) => d.alignment[options.steps - 1][0];
  assert(last(warm.diagnostics).every((a) => a > 0.999), `warm alignment ${last(warm.diagnostics)}`);
  assert(last(cold.diagnostics).every((a) => a < 0.99), `cold alignment ${last(cold.diagnostics)}`);
  // Consecutive steps' vectors: the same direction when warm, unrelated random ones when cold.
  assert(warm.diagnostics.stepCosine[options.steps - 2].every((c) => c > 0.999));
  assert(cold.diagnostics.stepCosine[options.steps - 2].every((c) => c < 0.9));
  tf.dispose([warm.x, cold.x]);
  m.dispose();
});

Deno.test("haat() refuses bad warm-start options, and leaks nothing warm", () => {
  const { f, w, b } = linearClassifier(10, 7);
  const x = randomImages(2, 8), y = tf.tensor1d([2, 3], "int32");
  tf.dispose(haat(f, x, y, { steps: 1, k: 1 }));
  const before = tf.memory().numTensors;
  for (const warmStart of [true, false]) {
    tf.dispose(haat(f, x, y, { steps: 3, k: 2, warmStart }));
    tf.dispose(haatWithDiagnostics(f, x, y, { steps: 3, k: 2, warmStart }).x);
  }
  assertEquals(tf.memory().numTensors, before);
  assertThrows(() => haat(f, x, y, { warmK: 0 }), /warmK must be an integer >= 1: current value is 0/);
  assertThrows(() => haat(f, x, y, { warmStart: 1 as unknown as boolean }), /warmStart must be true or false/);
  tf.dispose([x, y, w, b]);
});

Deno.test("haat() with warmStart restarts an example whose vector collapsed to zero from the step's own draw, where a warm start from it would stay zero", () => {
  const m = linearSoftmax();
  const linear = m.f;
  // Within eps/8 of the clean images the logits are frozen at the clean ones (straight-through: the value is
  // constant, the gradient is the linear model's), so every finite-difference product there is exactly 0 and
  // step 0's power iteration ends at the zero vector; from step 1 on (|x - x0|_inf = w1 eps) the model is linear.
  const frozen = linear(m.x);
  const f: Classifier = (xs) => {
    const near = xs.shape[0] === m.x.shape[0] &&
      tf.tidy(() => tf.max(tf.abs(tf.sub(xs, m.x))).dataSync()[0]) < EPS / 8;
    if (!near) return linear(xs);
    return tf.customGrad((...inputs) => ({
      value: tf.add(tf.mul(inputs[0] as tf.Tensor, 0).sum([1, 2, 3], true).reshape([-1, 1]), frozen),
      gradFunc: (dy: tf.Tensor) => tf.reshape(tf.matMul(dy as tf.Tensor2D, m.w, false, true), xs.shape),
    }))(xs) as tf.Tensor2D;
  };
  const options = { steps: 4, k: 3, warmK: 3, xi: 1e-3, seed: 4 } as const;
  const cold = haatWithDiagnostics(f, m.x, m.y, options);
  const warm = haatWithDiagnostics(f, m.x, m.y, { ...options, warmStart: true });
  // The setup: step 0's products are exactly zero, cold and warm alike.
  for (const run of [cold, warm]) assert(run.diagnostics.rayleigh[0].flat().every((r) => r === 0));
  // Step 1 restarts from its own draw: with warmK = k it is the cold step 1, value for value.
  assertEquals(warm.diagnostics.rayleigh[1], cold.diagnostics.rayleigh[1]);
  assert(warm.diagnostics.rayleigh[1][0].every((r) => r > 0), `${warm.diagnostics.rayleigh[1][0]}`);
  // From there on it is warm (a collapsed start would keep every later Rayleigh quotient at 0 and the
  // attack at PGD's steps), and converged to the top eigenvector.
  assert(warm.diagnostics.rayleigh[3].flat().every((r) => r > 0));
  assert(warm.diagnostics.alignment[3][2].every((a) => a > 0.999), `${warm.diagnostics.alignment[3][2]}`);
  const firstOrder = pgd(f, m.x, m.y, { eps: EPS, alpha: EPS / 4, steps: 4, randomStart: false });
  assert(maxAbsDiff(warm.x, firstOrder) > EPS / 8, "the warm attack took second-order steps");
  tf.dispose([frozen, cold.x, warm.x, firstOrder]);
  m.dispose();
});
