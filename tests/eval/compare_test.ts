import { assertEquals, assertThrows } from "../_assert.ts";
import { HAAT_DEFAULTS, mcnemar } from "../../mod.ts";
import { pairOutcomes, type PerImageOutcomes, settingDifferences } from "../../lib/eval/compare.ts";
import { outcomesFromString } from "../../lib/eval/paired.ts";

Deno.test("pairOutcomes() is mcnemar() of each measurement both reports have, pooled over pairs", () => {
  const a: PerImageOutcomes = { clean: "1101101", pgd: "1001000", haat: "1000000" };
  const b: PerImageOutcomes = { clean: "1111001", pgd: "0101001" };
  const c = { clean: "0110", pgd: "0100", haat: "0100" };
  const d = { clean: "1110", pgd: "1000", haat: "0000" };
  const one = pairOutcomes([[a, b]]);
  assertEquals(one.map((r) => r.metric), ["clean", "pgd"]); // b has no HAAT outcomes
  for (const r of one) {
    const m = mcnemar(outcomesFromString(a[r.metric]!), outcomesFromString(b[r.metric]!));
    assertEquals(r, {
      metric: r.metric,
      firstAccuracy: (m.both + m.onlyFirst) / m.n,
      secondAccuracy: (m.both + m.onlySecond) / m.n,
      ...m,
    });
  }
  const pooled = pairOutcomes([[a, { ...b, haat: "0000001" }], [c, d]]);
  assertEquals(pooled.map((r) => r.metric), ["clean", "pgd", "haat"]);
  const m = mcnemar(outcomesFromString(a.pgd + c.pgd), outcomesFromString(b.pgd + d.pgd));
  assertEquals(pooled[1].n, 11);
  assertEquals(pooled[1].pValue, m.pValue);
  assertEquals([pooled[1].onlyFirst, pooled[1].onlySecond], [m.onlyFirst, m.onlySecond]);
  // AutoAttack's outcomes cover fewer images (its own first n): paired on those alone.
  const aa = pairOutcomes([[{ ...c, autoattack: "01" }, { ...d, autoattack: "11" }]]);
  assertEquals(aa.map((r) => [r.metric, r.n]), [["clean", 4], ["pgd", 4], ["haat", 4], ["autoattack", 2]]);
  assertEquals([aa[3].firstAccuracy, aa[3].secondAccuracy, aa[3].onlySecond], [0.5, 1, 1]);
  assertThrows(() => pairOutcomes([]), /Cannot pair reports as none were given/);
  assertThrows(() => pairOutcomes([[a, c]]), /different numbers of images: 7 and 4/);
});

Deno.test("settingDifferences() names each PGD and HAAT setting that differs, old reports at their defaults", () => {
  const pgd = { eps: 8 / 255, pgdSteps: 20 };
  // A report written before alpha, seed and batch size were recorded ran with 2/255, 0 and 128.
  assertEquals(settingDifferences(pgd, { ...pgd, alpha: 2 / 255, seed: 0, batchSize: 128 }), []);
  assertEquals(settingDifferences(pgd, { ...pgd, seed: 1 }), ["seed (0 and 1)"]);
  // HAAT: compared only where both have it; a report with steps, k and xi only ran with HAAT_DEFAULTS' rest.
  const old = { ...pgd, haat: { steps: 20, k: 5, xi: 1e-6 } };
  const full = { ...pgd, seed: 0, haat: { ...HAAT_DEFAULTS, steps: 20, eps: 8 / 255, seed: 0 } };
  assertEquals(settingDifferences(old, full), []);
  assertEquals(settingDifferences(pgd, { ...full, haat: { ...full.haat, w2: 0 } }), []);
  const others = { k: 2, xi: 1e-5, w1: 0.5, w2: 0.5, difference: "central", hvp: "exact", secondOrderScale: "sqrtd" };
  for (const [name, value] of Object.entries(others)) {
    const changed = { ...full, haat: { ...full.haat, [name]: value } };
    assertEquals(settingDifferences(old, changed), [
      `haat ${name} (${(HAAT_DEFAULTS as Record<string, unknown>)[name]} and ${value})`,
    ]);
  }
});
