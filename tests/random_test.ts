import { assert, assertEquals, assertThrows } from "./_assert.ts";
import { tf } from "../mod.ts";
import { deriveSeed, normalSeed } from "../lib/random.ts";
import { permutation, seededRandom } from "../lib/random.ts";
import { setup } from "./_helpers.ts";

await setup();

Deno.test("deriveSeed() keeps stream 0 as the seed and gives 90,000 distinct seeds over 300 seeds x 300 streams", () => {
  assertEquals(deriveSeed(7, 0), 7);
  const seen = new Set<number>();
  for (let seed = 0; seed < 300; seed++) for (let i = 0; i < 300; i++) seen.add(deriveSeed(seed, i));
  assertEquals(seen.size, 300 * 300); // additive seeds (seed + i) would give only 599 distinct values
  assert(deriveSeed(3, 1) !== deriveSeed(4, 0) && deriveSeed(3, 2) !== deriveSeed(4, 1));
});

Deno.test("seededRandom() repeats for a seed, and permutation() is a permutation", () => {
  const a = seededRandom(5), b = seededRandom(5), c = seededRandom(6);
  const [xa, xb, xc] = [a(), b(), c()];
  assertEquals(xa, xb);
  assert(xa !== xc);
  assertEquals(
    Array.from(permutation(50, seededRandom(1))).sort((p, q) => p - q),
    Array.from({ length: 50 }, (_, i) => i),
  );
});

Deno.test("normalSeed() makes tf.randomNormal repeat for seed 0, which TensorFlow.js otherwise leaves unseeded", () => {
  const draw = (seed: number) => tf.tidy(() => Array.from(tf.randomNormal([4], 0, 1, "float32", seed).dataSync()));
  assertEquals(draw(normalSeed(0)), draw(normalSeed(0)));
  assert(draw(normalSeed(0)).some((v, i) => v !== draw(normalSeed(1))[i]));
});

Deno.test("deriveSeed() and normalSeed() refuse seeds that are not integers (1.5 and 1 would share their streams)", () => {
  assertThrows(() => deriveSeed(1.5, 1), /Cannot derive a seed from a non-integer: current value is 1\.5/);
  assertThrows(() => deriveSeed(NaN, 0), /current value is NaN/);
  assertThrows(() => deriveSeed(0, -1), /index must be an integer >= 0: current value is -1/);
  assertThrows(() => deriveSeed(0, 0.5), /index must be an integer >= 0: current value is 0\.5/);
  assertThrows(() => normalSeed(1.5), /Cannot shift a seed that is not an integer: current value is 1\.5/);
  assertEquals(deriveSeed(-3, 0), -3);
  assertEquals(normalSeed(-3), -2.5);
});
