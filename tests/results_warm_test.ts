/**
 * `results/warm/attacks.ts`: it pairs two HAAT attacks on one model image by image, and refuses reports
 * that are not the same model, images and PGD, or whose HAAT options differ beyond the start.
 */
import { assertEquals, assertRejects } from "./_assert.ts";
import { attackRow, pairAttacks } from "../results/warm/attacks.ts";
import { HAAT_DEFAULTS } from "../mod.ts";
import { readStepLines, stepSecondsOverPgd } from "../bench/step_lines.ts";

const data = [{ file: "test_batch.bin", records: 4, sha256: "0".repeat(64) }];

async function report(dir: string, haat: Record<string, unknown>, outcomes: string, more: object = {}) {
  await Deno.mkdir(dir, { recursive: true });
  const accuracy = [...outcomes].filter((c) => c === "1").length / outcomes.length;
  const body = {
    model: "m/best",
    n: 4,
    data,
    haat: { ...HAAT_DEFAULTS, steps: 20, xi: 1e-5, accuracy, ...haat },
    perImage: { clean: "1111", pgd: "1110", haat: outcomes },
    ...more,
  };
  await Deno.writeTextFile(`${dir}/report.json`, JSON.stringify(body));
}

Deno.test("pairAttacks() pairs cold and warm HAAT on one model, and refuses what cannot be paired", async () => {
  const root = await Deno.makeTempDir();
  await report(`${root}/cold`, {}, "1100");
  await report(`${root}/warm`, { warmStart: true, warmK: 1 }, "1000");
  const pair = await pairAttacks([`${root}/cold`, `${root}/warm`]);
  assertEquals([pair.mcnemar.onlyFirst, pair.mcnemar.onlySecond, pair.mcnemar.difference], [1, 0, 0.25]);
  assertEquals([pair.first.warmStart, pair.second.warmStart, pair.second.warmK], [false, true, 1]);
  assertEquals(attackRow(pair), "| m/best | 4 | cold 50.00% | warm (warmK 1) 25.00% | 1 / 0 | +25.00 | 1.000 |");
  await report(`${root}/xi`, { warmStart: true, xi: 1e-6 }, "1000");
  await assertRejects(
    () => pairAttacks([`${root}/cold`, `${root}/xi`]),
    /differ beyond the start: xi 0.00001, not 0.000001/,
  );
  await report(`${root}/other`, {}, "1000", { model: "other/best" });
  await assertRejects(() => pairAttacks([`${root}/cold`, `${root}/other`]), /different models/);
  await report(`${root}/pgd`, {}, "1000", { perImage: { clean: "1111", pgd: "1100", haat: "1000" } });
  await assertRejects(() => pairAttacks([`${root}/cold`, `${root}/pgd`]), /clean or PGD outcomes differ/);
  await Deno.remove(root, { recursive: true });
});

Deno.test("README's warm-start figures are the bench file's ratios and haat20-w16.txt's accuracies", async () => {
  const root = new URL("../", import.meta.url);
  const readme = (await Deno.readTextFile(new URL("README.md", root))).replace(/\s+/g, " ");
  const bench = (await readStepLines(new URL("bench/results-2026-12-07-warm-async.jsonl", root)))
    .filter((l) => l.backendDetail.includes("2 threads"));
  const ratio = (width: number, warm: boolean) =>
    stepSecondsOverPgd(
      bench,
      width,
      (l) => l.objective === "haat" && l.haat!.warmStart === warm && l.haat!.warmK === 1,
    )!
      .toFixed(2);
  const pair = await Deno.readTextFile(new URL("results/warm/haat20-w16.txt", root));
  const [cold, warm] = [/cold ([\d.]+%)/, /warm \(warmK 1\) ([\d.]+%)/].map((re) => pair.match(re)![1]);
  const claim = `Warm k = 1 cuts a HAAT-10 training step from ${ratio(16, false)}x a PGD-10 step to ${
    ratio(16, true)
  }x at width 16, and to ${ratio(64, true)}x at width 64`;
  assertEquals(readme.includes(claim), true, claim);
  const strength = `HAAT-20 warm and cold leave ${warm} and ${cold} of the 932 official test images robust`;
  assertEquals(readme.includes(strength), true, strength);
});
