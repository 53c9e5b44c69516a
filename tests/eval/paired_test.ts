/**
 * McNemar's exact test against p-values computed independently (Python's exact integer binomials), the
 * 2x2 table on a hand-made pair, and `deno task compare` refusing reports scored on other images.
 */
import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { mcnemar, outcomesFromString, outcomesToString } from "../../lib/eval/paired.ts";

/** Outcomes with b images right by the first only, c by the second only, and `both`, `neither`. */
function pair(b: number, c: number, both = 0, neither = 0): [boolean[], boolean[]] {
  const first = [
    ...Array(b).fill(true),
    ...Array(c).fill(false),
    ...Array(both).fill(true),
    ...Array(neither).fill(false),
  ];
  const second = [
    ...Array(b).fill(false),
    ...Array(c).fill(true),
    ...Array(both).fill(true),
    ...Array(neither).fill(false),
  ];
  return [first, second];
}

Deno.test("mcnemar() p-values equal exact binomial tails computed independently", () => {
  // (b, c, p) from Python: min(1, 2 * sum_{i <= min(b,c)} comb(b + c, i) / 2^(b + c)) in exact fractions.
  const known: [number, number, number][] = [
    [8, 2, 0.109375],
    [60, 40, 0.05688793364098079],
    [3, 3, 1],
    [0, 5, 0.0625],
    [500, 430, 0.023608839292547198],
  ];
  for (const [b, c, p] of known) {
    const r = mcnemar(...pair(b, c, 7, 11));
    assert(Math.abs(r.pValue - p) <= 1e-9 * p, `b ${b} c ${c}: p ${r.pValue}, expected ${p}`);
    // Swapping the models changes the sign of the difference, not the p-value.
    const swapped = mcnemar(...pair(c, b, 7, 11));
    assert(Math.abs(swapped.pValue - r.pValue) <= 1e-12, "p depends on the order of the models");
    assert(swapped.difference === -r.difference, "swapping the models did not negate the difference");
  }
});

Deno.test("mcnemar() counts the 2x2 table, the disagreement and the accuracy difference", () => {
  const r = mcnemar(...pair(4, 1, 10, 5));
  assertEquals([r.n, r.both, r.onlyFirst, r.onlySecond, r.neither], [20, 10, 4, 1, 5]);
  assertEquals(r.disagreement, 5 / 20);
  assertEquals(r.difference, 3 / 20);
  assertEquals(mcnemar([true, false], [true, false]).pValue, 1);
  assertThrows(() => mcnemar([true], [true, false]), /different numbers of images: 1 and 2/);
  assertThrows(() => mcnemar([], []), /0 images/);
});

Deno.test("per-image outcomes round-trip through their string form, and other characters are refused", () => {
  const outcomes = [true, false, false, true, true];
  assertEquals(outcomesToString(outcomes), "10011");
  assertEquals(outcomesFromString(outcomesToString(outcomes)), outcomes);
  assertThrows(() => outcomesFromString("10a1"), /string of 0 and 1/);
});

Deno.test("deno task compare: a table of paired tests, and a refusal for reports on other test images", async () => {
  const dir = await Deno.makeTempDir();
  const data = [{ file: "test_batch.bin", records: 20, sha256: "ab" }];
  // Reports as deno task evaluate writes them: settings, accuracies that are the shares of the outcomes.
  const write = (name: string, report: { perImage: { clean: string; pgd: string } } & Record<string, unknown>) => {
    const share = (o: string) => [...o].filter((c) => c === "1").length / o.length;
    const full = { model: name, n: 20, eps: 8 / 255, pgdSteps: 20, data, ...report };
    Object.assign(full, { clean: share(full.perImage.clean), pgd: share(full.perImage.pgd) });
    return Deno.mkdir(`${dir}/${name}`).then(() =>
      Deno.writeTextFile(`${dir}/${name}/report.json`, JSON.stringify(full))
    );
  };
  const [first, second] = pair(4, 1, 10, 5);
  // PGD: the same 10 images robust for both (each right clean on them, as a report's robust points are).
  const both = outcomesToString(first.map((r, i) => r && second[i]));
  await write("a", { perImage: { clean: outcomesToString(first), pgd: both } });
  await write("b", { perImage: { clean: outcomesToString(second), pgd: both } });
  await write("c", {
    data: [{ ...data[0], sha256: "cd" }],
    perImage: { clean: "1".repeat(20), pgd: "1".repeat(20) },
  });
  await write("weaker", {
    eps: 1 / 255,
    pgdSteps: 1,
    perImage: { clean: outcomesToString(first), pgd: outcomesToString(first) },
  });
  const run = (runs: string) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../../cli/compare.ts", import.meta.url).pathname, "--runs", runs],
      stdout: "piped",
      stderr: "piped",
    }).output();
  const ok = await run(`${dir}/a,${dir}/b`);
  const text = new TextDecoder().decode(ok.stdout);
  assertEquals(ok.code, 0, new TextDecoder().decode(ok.stderr));
  // clean: b = 4, c = 1 -> p = 2 (1 + 5) / 32 = 0.375; PGD: identical outcomes -> p = 1.
  assert(text.includes("| clean | 20 | 70.00% | 55.00% | 4 | 1 | 25.00% | 0.375 |"), text);
  assert(text.includes("| pgd | 20 | 50.00% | 50.00% | 0 | 0 | 0.00% | 1.00 |"), text);
  const refused = await run(`${dir}/a,${dir}/c`);
  assert(refused.code !== 0, "compare accepted reports on other test images");
  assert(new TextDecoder().decode(refused.stderr).includes("scored on different test images"));
  // The same model attacked more weakly is not a model to compare with: refused, naming the settings.
  const weaker = await run(`${dir}/a,${dir}/weaker`);
  assertEquals(weaker.code, 1);
  const why = new TextDecoder().decode(weaker.stderr);
  assert(why.includes("as they were attacked with different settings: eps (0.03137254901960784 and"), why);
  assert(why.includes("pgdSteps (20 and 1)"), why);
  await Deno.remove(dir, { recursive: true });
});
