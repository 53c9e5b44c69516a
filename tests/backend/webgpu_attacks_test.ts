/**
 * Every attack and an evaluation on the WebGPU backend, against the default backend (oneDNN where its library
 * is found, as in CI) with the same seeds: the asynchronous twins run where the synchronous functions cannot
 * (webgpu reads only asynchronously in Deno), and find the same robust points. Runs wherever a WebGPU adapter
 * exists, a software one included (Mesa's lavapipe, which `.ci/run` installs); in CI a missing adapter fails
 * the test. A linear classifier keeps it fast on lavapipe; the ResNet18 runs in webgpu_test.ts and
 * webgpu_train_test.ts.
 */
import {
  apgdAsync,
  apgdTargetedAsync,
  autoAttackAsync,
  type Classifier,
  evaluateAsync,
  fabTargetedAsync,
  fgsmAsync,
  haatAsync,
  pgd,
  pgdAsync,
  squareAsync,
  tf,
  useBackend,
} from "../../mod.ts";
import { correctPredictionsAsync } from "../../lib/core.ts";
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { linearClassifier, startOrSkip } from "../_helpers.ts";

Deno.env.set("HAAT_WEBGPU_SOFTWARE", "1"); // lavapipe here and in CI
const reference = (await useBackend()).name; // the default choice: oneDNN where its library is found
const available = await startOrSkip("webgpu", "WebGPU attack tests");
await useBackend(reference);

/** Images, and as labels the linear classifier's clean predictions, so that every point is robust before an attack. */
const N = 8, EPS = 2 / 255;

/** Runs `fn` on the reference backend, then on webgpu, each with its own model and images from the same seeds. */
async function onBoth<T>(fn: (f: Classifier, x: tf.Tensor4D, y: tf.Tensor1D) => Promise<T>): Promise<[T, T]> {
  const out: T[] = [];
  for (const backend of [reference, "webgpu"] as const) {
    await useBackend(backend);
    const { f, w, b } = linearClassifier(10, 91);
    const x = tf.randomUniform([N, 32, 32, 3], 0, 1, "float32", 92) as tf.Tensor4D;
    const y = tf.tidy(() => tf.cast(tf.argMax(f(x), 1), "int32") as tf.Tensor1D);
    try {
      out.push(await fn(f, x, y));
    } finally {
      tf.dispose([w, b, x, y]);
    }
  }
  await useBackend(reference);
  return out as [T, T];
}

/** Per image, whether it stays correctly classified after the attack, and the attack's images. */
async function outcomes(f: Classifier, y: tf.Tensor1D, xAdv: tf.Tensor4D) {
  try {
    return { robust: await correctPredictionsAsync(f, xAdv, y), images: await xAdv.data() as Float32Array };
  } finally {
    xAdv.dispose();
  }
}

type Attack = (f: Classifier, x: tf.Tensor4D, y: tf.Tensor1D) => Promise<tf.Tensor4D>;

const ATTACKS: [string, Attack][] = [
  ["FGSM", (f, x, y) => fgsmAsync(f, x, y, { eps: EPS })],
  ["PGD-5", (f, x, y) => pgdAsync(f, x, y, { eps: EPS, alpha: EPS / 4, steps: 5, seed: 1 })],
  // Central differences at xi = 0.1: the paper's forward ones at 1e-6 are float32 noise (README), which no two
  // backends share.
  [
    "HAAT-3",
    (f, x, y) => haatAsync(f, x, y, { eps: EPS, steps: 3, k: 2, xi: 0.1, difference: "central", seed: 1 }),
  ],
  ["APGD-CE", (f, x, y) => apgdAsync(f, x, y, { eps: EPS, steps: 10, seed: 1 })],
  ["APGD-T", (f, x, y) => apgdTargetedAsync(f, x, y, { eps: EPS, steps: 5, nTargetClasses: 3, seed: 1 })],
  ["FAB-T", (f, x, y) => fabTargetedAsync(f, x, y, { eps: EPS, steps: 5, nTargetClasses: 3 })],
  ["Square", (f, x, y) => squareAsync(f, x, y, { eps: EPS, steps: 30, seed: 1 })],
  [
    "AutoAttack",
    async (f, x, y) =>
      (await autoAttackAsync(f, x, y, {
        eps: EPS,
        seed: 1,
        budgets: { apgdSteps: 5, fabSteps: 5, squareSteps: 30 },
      })).x,
  ],
];

Deno.test({
  name: "every attack on webgpu finds the reference backend's robust points, within 1 of 8 images",
  ignore: !available,
  fn: async (t) => {
    for (const [name, attack] of ATTACKS) {
      await t.step(name, async () => {
        const [a, b] = await onBoth(async (f, x, y) => await outcomes(f, y, await attack(f, x, y)));
        const robust = (r: { robust: boolean[] }) => r.robust.filter(Boolean).length;
        let worst = 0;
        for (let i = 0; i < a.images.length; i++) worst = Math.max(worst, Math.abs(a.images[i] - b.images[i]));
        console.log(
          `${name}: robust ${robust(a)}/${N} on ${reference}, ${robust(b)}/${N} on webgpu; ` +
            `max |x_adv difference| ${worst.toExponential(2)}`,
        );
        assert(Math.abs(robust(a) - robust(b)) <= 1, `${name}: ${robust(a)} against ${robust(b)} robust images`);
      });
    }
  },
});

Deno.test({
  name: "evaluateAsync() on webgpu with PGD, HAAT and AutoAttack fast reports webgpu and the reference's accuracies",
  ignore: !available,
  fn: async () => {
    const images = Uint8Array.from({ length: N * 3072 }, (_, i) => (i * 37 + (i >> 10)) % 256);
    const options = {
      eps: EPS,
      pgdSteps: 3,
      haat: { steps: 2, k: 2, xi: 0.1, difference: "central" as const },
      autoattack: { version: "fast" as const, n: N, budgets: { apgdSteps: 5 } },
    };
    const [a, b] = await onBoth(async (f) => {
      // Labels: the clean predictions, as above.
      const x = tf.tidy(() => tf.div(tf.tensor4d(images, [N, 32, 32, 3], "float32"), 255) as tf.Tensor4D);
      const predicted = tf.tidy(() => tf.argMax(f(x), 1));
      const labels = Int32Array.from(await predicted.data());
      tf.dispose([x, predicted]);
      const data = { images, labels, size: N, classNames: "abcdefghij".split("") };
      return await evaluateAsync(f, data, options);
    });
    assertEquals([a.backend, b.backend], [reference, "webgpu"]);
    for (const key of ["clean", "pgd"] as const) {
      assert(Math.abs(a[key] - b[key]) <= 1 / N + 1e-9, `${key}: ${a[key]} against ${b[key]}`);
    }
    assert(
      Math.abs(a.haat!.accuracy - b.haat!.accuracy) <= 1 / N + 1e-9,
      `HAAT: ${a.haat!.accuracy}, ${b.haat!.accuracy}`,
    );
    const [ra, rb] = [a.autoattack!.robust, b.autoattack!.robust];
    assert(Math.abs(ra - rb) <= 1 / N + 1e-9, `AutoAttack: ${ra} against ${rb}`);
    assertEquals(b.autoattack!.perAttack.map((p) => p.attack), ["apgd-ce", "apgd-t"]);
  },
});

Deno.test({
  name: "a synchronous attack on webgpu refuses before it runs, naming its asynchronous twin",
  ignore: !available,
  fn: async () => {
    await useBackend("webgpu");
    const { f, w, b } = linearClassifier(10, 93);
    const x = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D, y = tf.tensor1d([0], "int32");
    const before = tf.memory().numTensors;
    assertThrows(
      () => pgd(f, x, y),
      /^Cannot run pgd\(\) on the webgpu backend, which reads tensors only asynchronously: use await pgdAsync\(\)$/,
    );
    assertEquals(tf.memory().numTensors, before);
    tf.dispose([w, b, x, y]);
    await useBackend(reference);
  },
});
