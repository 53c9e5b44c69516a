/**
 * lib/eval/stats.ts: Student's t against its tables, the paired variances against direct computation, and
 * the method-level comparison on the committed main comparison (the naive seed test's p = 0.046 trap).
 */
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import {
  betaRegularized,
  imageSamplingVariance,
  methodLevel,
  naiveSeedTTest,
  pairedDifferenceVariance,
  studentTCdf,
  studentTQuantile,
} from "../../lib/eval/stats.ts";

Deno.test("studentTQuantile() gives the printed table's values, and studentTCdf() inverts it", () => {
  // Two-sided 5% and one-sided 20% points from a t table (6 significant digits).
  const table: [number, number, number][] = [
    [0.975, 1, 12.7062],
    [0.975, 2, 4.30265],
    [0.975, 5, 2.57058],
    [0.975, 30, 2.04227],
    [0.8, 1, 1.37638],
    [0.8, 2, 1.06066],
    [0.95, 10, 1.81246],
    [0.975, Infinity, 1.95996],
  ];
  for (const [p, df, t] of table) {
    const q = studentTQuantile(p, df);
    assert(Math.abs(q - t) < 5e-5 * t, `t_{${p}, ${df}} = ${q}, the table says ${t}`);
    assert(Math.abs(studentTCdf(q, df) - p) < 1e-10);
    assert(Math.abs(studentTCdf(-q, df) - (1 - p)) < 1e-10, "symmetric");
  }
  // df = 1 is the Cauchy distribution, in closed form.
  for (const t of [-30, -1.5, 0, 0.2, 7]) {
    assert(Math.abs(studentTCdf(t, 1) - (0.5 + Math.atan(t) / Math.PI)) < 1e-12, `t = ${t}`);
  }
  // I_x(a, 1) = x^a.
  assert(Math.abs(betaRegularized(0.7, 3.5, 1) - 0.7 ** 3.5) < 1e-12);
  assertThrows(() => studentTQuantile(1, 3), /p must be in \(0, 1\)/);
});

Deno.test("pairedDifferenceVariance() and imageSamplingVariance() are the variance of the mean per-image difference", () => {
  const rng = (seed: number) => () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const r = rng(3);
  const outcomes = (p: number) => Array.from({ length: 500 }, () => (r() < p ? "1" : "0")).join("");
  const a = [outcomes(0.4), outcomes(0.45)], b = [outcomes(0.5), outcomes(0.42)];
  // Direct: z_i = mean over seeds of b - a; Var(mean z) = (mean z^2 - (mean z)^2) / n.
  const z = Array.from(
    { length: 500 },
    (_, i) => (Number(b[0][i]) - Number(a[0][i]) + Number(b[1][i]) - Number(a[1][i])) / 2,
  );
  const m = z.reduce((s, v) => s + v, 0) / 500;
  const direct = (z.reduce((s, v) => s + v * v, 0) / 500 - m * m) / 500;
  assert(Math.abs(imageSamplingVariance(a, b) - direct) < 1e-15);
  const z0 = Array.from({ length: 500 }, (_, i) => Number(b[0][i]) - Number(a[0][i]));
  const m0 = z0.reduce((s, v) => s + v, 0) / 500;
  assert(
    Math.abs(pairedDifferenceVariance(a[0], b[0]) - (z0.reduce((s, v) => s + v * v, 0) / 500 - m0 * m0) / 500) < 1e-15,
  );
  assertThrows(() => imageSamplingVariance([a[0]], [b[0].slice(1)]), /same, non-zero number of images/);
});

Deno.test("methodLevel(): identical seeds leave only the image part; the interval widens with the seed spread", () => {
  const a = "1100110011", b = "1110110111";
  const same = methodLevel([a, a], [b, b]);
  assertEquals(same.seedVariance, 0);
  assertEquals(same.df, Infinity);
  assert(Math.abs(same.standardError ** 2 - pairedDifferenceVariance(a, b)) < 1e-15);
  assert(Math.abs(same.interval[1] - same.difference - 1.959964 * same.standardError) < 1e-6);
  const spread = methodLevel([a, "0000000011"], [b, b]);
  assert(spread.seedVariance > 0 && spread.df < 10, `df ${spread.df}`);
  assert(spread.interval[1] - spread.interval[0] > same.interval[1] - same.interval[0]);
  assertThrows(() => methodLevel([a], [b]), /2 or more each/);
});

const results = new URL("../../results/", import.meta.url);
const outcomes = async (run: string, metric: string) =>
  JSON.parse(await Deno.readTextFile(new URL(`${run}/report.json`, results))).perImage[metric] as string;

Deno.test("on the committed main comparison, the naive seed t-test gives xi = 1e-5 p = 0.046, the method-level test does not", async () => {
  const a = [await outcomes("pgd-w16-s0", "pgd"), await outcomes("pgd-w16-s1", "pgd")];
  const b = [await outcomes("haat-fd-w16-s0", "pgd"), await outcomes("haat-fd-w16-s1", "pgd")];
  const naive = naiveSeedTTest(a, b);
  assertEquals(naive.differences.map((d) => Number((100 * d).toFixed(2))), [0.22, 0.19]);
  assertEquals(naive.pValue.toFixed(3), "0.046");
  const r = methodLevel(a, b);
  // Each seed's own paired test sees about 0.2 points of image noise, ten times the two differences' gap.
  assert(Math.sqrt(pairedDifferenceVariance(a[0], b[0])) > 0.0019);
  assert(r.pValue > 0.3, `method-level p ${r.pValue}`);
  assert(r.interval[0] < 0 && r.interval[1] > 0.005, `interval ${r.interval}`);
});
